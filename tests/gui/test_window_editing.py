"""Driving the window like a user: add layers from the palette, edit them in the form, see the
shapes table and stack follow, undo and reorder."""

from __future__ import annotations

from PySide6.QtCore import Qt

from convexplorer.gui.layer_list import INVALID_ROLE, NOTE_ROLE

from .window_helpers import (
    RESULT_TIMEOUT_MS,
    click_row,
    palette_add,
    shapes_row,
    type_into_spin,
)


def test_add_conv2d_then_change_kernel_size(qtbot, window):
    click_row(qtbot, window, 5)  # pool2: the new layer goes after it
    palette_add(qtbot, window, "Conv2d")
    layers = window.pipeline.config.layers
    assert [s.type for s in layers][-1] == "Conv2d"
    assert window.pipeline.selection == 6
    assert window.form.title.text().endswith("nn.Conv2d")
    # new Conv2d(20, 8, kernel_size=3) on 1 x 20 x 4 x 4
    assert shapes_row(window, 6)["Output shape"] == "torch.Size([1, 8, 2, 2])"
    assert "torch.Size([1, 8, 2, 2])" in window.layer_list.row_text(6)

    kernel = window.form.editor("kernel_size")
    type_into_spin(qtbot, kernel.spins[0], "2")
    assert kernel.spins[1].value() == 2  # locked: both dimensions follow
    assert window.pipeline.config.layers[6].value("kernel_size") == 2
    assert shapes_row(window, 6)["Output shape"] == "torch.Size([1, 8, 3, 3])"
    assert "torch.Size([1, 8, 3, 3])" in window.layer_list.row_text(6)
    assert "floor((4 + 2*0 - 1*(2-1) - 1) / 1) + 1 = 3" in window.shapes.item(7, 1).toolTip()
    # the run follows the edit (sync runner)
    assert window.last_result.layers[6].output_shape == (1, 8, 3, 3)

    # unlock and make the kernel 2 x 1: a tuple
    kernel.lock.click()
    type_into_spin(qtbot, kernel.spins[1], "1")
    assert window.pipeline.config.layers[6].value("kernel_size") == (2, 1)
    assert shapes_row(window, 6)["Output shape"] == "torch.Size([1, 8, 3, 4])"


def test_invalid_groups_marked_then_undone(qtbot, window):
    click_row(qtbot, window, 3)  # conv2: Conv2d(10, 20, kernel_size=5)
    groups = window.form.editor("groups")
    type_into_spin(qtbot, groups.spins[0], "3")
    assert window.pipeline.config.layers[3].value("groups") == 3
    assert groups.invalid
    problem = next(p for p in window.report.layers[3].problems if p.field == "groups")
    assert "groups=3" in problem.message
    assert problem.short in groups.toolTip()
    assert groups.icon.isVisible()
    help_text = window.form.help_text()
    assert problem.short in help_text
    assert "Splits input and output channels" in help_text  # the field's help under it
    # the stack marks the layer; later shapes are unknown, earlier ones still shown
    assert window.layer_list.view.item(3).data(INVALID_ROLE)
    assert shapes_row(window, 3)["Output shape"] == "?"
    assert shapes_row(window, 2)["Output shape"] == "torch.Size([1, 10, 12, 12])"
    assert window.status.state == "invalid"
    assert window.banner.isVisible() and "groups" in window.banner.text()
    assert window.window_actions["undo"].text() == "&Undo set groups"

    qtbot.keyClick(groups.spins[0], Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.pipeline.config.layers[3].value("groups") == 1
    assert not window.pipeline.config.layers[3].is_set("groups")
    assert groups.spins[0].value() == 1
    assert not groups.invalid
    assert shapes_row(window, 3)["Output shape"] == "torch.Size([1, 20, 8, 8])"
    assert window.status.state == "ready"
    assert not window.banner.isVisible()

    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(groups.spins[0], Qt.Key.Key_Z, redo)
    assert window.pipeline.config.layers[3].value("groups") == 3


def test_typing_a_number_is_one_undo_step(qtbot, window):
    click_row(qtbot, window, 0)
    out = window.form.editor("out_channels")
    type_into_spin(qtbot, out.spins[0], "128")
    assert window.pipeline.config.layers[0].value("out_channels") == 128
    assert shapes_row(window, 0)["Output shape"] == "torch.Size([1, 128, 24, 24])"
    window.window_actions["undo"].trigger()
    assert window.pipeline.config.layers[0].value("out_channels") == 10


def test_reorder_with_keys_and_drop(qtbot, window):
    click_row(qtbot, window, 1)  # relu1
    qtbot.keyClick(window.layer_list.view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    names = [s.name for s in window.pipeline.config.layers]
    assert names[:3] == ["conv1", "pool1", "relu1"]
    assert window.pipeline.selection == 2
    assert "relu1" in window.layer_list.row_text(2)
    assert shapes_row(window, 1)["Output shape"] == "torch.Size([1, 10, 12, 12])"
    qtbot.keyClick(window.layer_list.view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert [s.name for s in window.pipeline.config.layers][:3] == ["conv1", "relu1", "pool1"]

    # drag conv1 and drop it on relu2's row: it lands just before relu2
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDropEvent

    view = window.layer_list.view
    view.setCurrentRow(0)
    pos = view.visualItemRect(view.item(4)).center()
    event = QDropEvent(pos.toPointF(), Qt.DropAction.MoveAction, QMimeData(),
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    names = [s.name for s in window.pipeline.config.layers]
    assert names == ["relu1", "pool1", "conv2", "conv1", "relu2", "pool2"]
    assert view.count() == 6
    assert "conv1" in window.layer_list.row_text(3)


def test_remove_duplicate_rename_shortcuts(qtbot, window):
    click_row(qtbot, window, 0)
    view = window.layer_list.view
    qtbot.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    names = [s.name for s in window.pipeline.config.layers]
    assert names[:2] == ["conv1", "conv1_2"]
    assert window.pipeline.selection == 1
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert [s.name for s in window.pipeline.config.layers][:2] == ["conv1", "relu1"]
    assert window.pipeline.selection == 1  # the layer that took its place

    click_row(qtbot, window, 0)
    qtbot.keyClick(view, Qt.Key.Key_F2)
    assert window.form.name_edit.hasFocus()
    qtbot.keyClicks(window.form.name_edit, "features")
    assert window.pipeline.config.layers[0].name == "features"
    assert "features" in window.layer_list.row_text(0)
    assert shapes_row(window, 0)["Layer"] == "features (Conv2d)"
    window.window_actions["undo"].trigger()  # the whole name is one undo step
    assert window.pipeline.config.layers[0].name == "conv1"

    # clearing the name: the layer is called by its index, as nn.Sequential does
    window.form.name_edit.clear()
    window.form.name_edit.textEdited.emit("")
    assert window.pipeline.config.layers[0].name is None
    assert shapes_row(window, 0)["Layer"] == "0 (Conv2d)"


def test_the_example_follows_a_new_channel_count(qtbot, window):
    click_row(qtbot, window, 0)
    type_into_spin(qtbot, window.form.editor("out_channels").spins[0], "12")
    assert window.report.ok  # conv2's in_channels is on auto in the bundled example
    click_row(qtbot, window, 3)
    ic = window.form.editor("in_channels")
    assert ic.toggle.isChecked() and ic.spins[0].value() == 12 and not ic.invalid
    assert shapes_row(window, 3)["Output shape"] == "torch.Size([1, 20, 8, 8])"


def test_pinned_in_channels_flagged_then_auto(qtbot, window):
    click_row(qtbot, window, 3)
    ic = window.form.editor("in_channels")
    ic.toggle.click()  # pin conv2's in_channels at the 10 it follows now
    assert window.pipeline.config.layers[3].is_set("in_channels")
    click_row(qtbot, window, 0)
    type_into_spin(qtbot, window.form.editor("out_channels").spins[0], "12")
    click_row(qtbot, window, 3)
    ic = window.form.editor("in_channels")
    assert ic.invalid
    problem = window.report.layers[3].problems[0]
    assert problem.field == "in_channels" and "12" in problem.message
    assert problem.short in ic.toolTip()
    assert not ic.toggle.isChecked()
    ic.toggle.click()  # auto: follow the previous layer
    assert not window.pipeline.config.layers[3].is_set("in_channels")
    assert not ic.invalid
    assert ic.spins[0].value() == 12 and not ic.spins[0].isEnabled()
    assert window.report.ok


def test_pool_stride_none_and_conv_padding_same(qtbot, window):
    click_row(qtbot, window, 2)  # pool1: stride=2
    stride = window.form.editor("stride")
    assert not stride.toggle.isChecked()
    stride.toggle.click()
    assert window.pipeline.config.layers[2].value("stride") is None
    assert window.pipeline.config.layers[2].is_set("stride")
    assert not stride.spins[0].isEnabled()
    assert shapes_row(window, 2)["Output shape"] == "torch.Size([1, 10, 12, 12])"

    click_row(qtbot, window, 0)
    padding = window.form.editor("padding")
    padding.mode.setCurrentIndex(padding.mode.findText("'same'"))
    assert window.pipeline.config.layers[0].value("padding") == "same"
    assert shapes_row(window, 0)["Output shape"] == "torch.Size([1, 10, 28, 28])"
    stride0 = window.form.editor("stride")
    type_into_spin(qtbot, stride0.spins[0], "2")
    problem = next(p for p in window.report.layers[0].problems if p.field == "padding")
    assert "'same'" in problem.message
    assert padding.invalid and problem.short in padding.toolTip()


def test_help_line_follows_the_focused_field(qtbot, window):
    click_row(qtbot, window, 2)  # pool1
    editor = window.form.editor("ceil_mode")
    editor.check.setFocus()
    qtbot.waitUntil(lambda: "ceil_mode" in window.form.help_text())
    assert "Round the output size up" in window.form.help_text()
    assert "Round the output size up" in editor.toolTip()


def test_edit_menu_and_layer_menu(qtbot, window):
    menus = window.menus
    assert set(menus) == {"file", "edit", "layer", "view", "help"}
    add_menu = menus["layer"].findChild(type(menus["layer"]), "menu_add_layer")
    sections = [a.text() for a in add_menu.actions() if a.isSeparator() and a.text()]
    assert sections == ["Convolution", "Pooling", "Unpooling", "Padding", "Normalization",
                        "Activation", "Upsampling / pixel shuffle", "Reshape / linear",
                        "Merge (skip connections)"]
    click_row(qtbot, window, 5)
    add_menu.findChild(type(add_menu.actions()[1]), "add_Flatten").trigger()
    assert window.pipeline.config.layers[-1].type == "Flatten"
    assert shapes_row(window, 6)["Output shape"] == "torch.Size([1, 320])"
    assert window.window_actions["undo"].text() == "&Undo add Flatten"
    assert window.windowTitle() == "MNISTConvNet* - convexplorer"
    window.window_actions["undo"].trigger()
    assert window.window_actions["redo"].text() == "&Redo add Flatten"
    assert window.windowTitle() == "MNISTConvNet - convexplorer"


def test_objective_follows_its_layer_when_layers_move(qtbot, window):
    from convexplorer.model.spec import Objective

    window.pipeline.set_objective(Objective("channel", layer=3, channel=2))
    assert window.last_result.objective_label.startswith("sum of conv2 (Conv2d) output")
    click_row(qtbot, window, 3)
    for _ in range(3):
        window.window_actions["move_up"].trigger()
    assert window.pipeline.config.layers[0].name == "conv2"
    assert window.pipeline.config.objective.layer == 0
    window.window_actions["undo"].trigger()  # one move: one undo step, objective included
    assert window.pipeline.config.objective.layer == 1
    assert window.pipeline.config.layers[1].name == "conv2"
    click_row(qtbot, window, 1)
    window.window_actions["remove"].trigger()
    assert window.pipeline.config.objective == Objective()


def test_help_menu_explains_parameters(qtbot, window):
    window.window_actions["concepts"].trigger()
    dialog = window._dialogs[-1]
    text = dialog.browser.toPlainText()
    for name in ("dilation", "groups", "ceil_mode", "return_indices"):
        assert name in text
    assert "Spacing between kernel taps" in text  # the catalogue's dilation help
    dialog.close()
    window.window_actions["about"].trigger()
    assert "convexplorer" in window._dialogs[-1].text()


def test_clicking_a_shapes_row_selects_the_layer(qtbot, window):
    table = window.shapes
    rect = table.visualItemRect(table.item(table.layer_row(4), 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.pipeline.selection == 4
    assert window.layer_list.view.currentRow() == 4
    assert window.form.title.text().startswith("relu2")
    total = table.rowCount() - 1
    assert table.cell_text(total, "Layer") == "total"
    assert table.cell_text(total, "Params") == "5,280"


def test_the_activations_tab_follows_a_newly_added_layer(qtbot, threaded_window):
    window = threaded_window
    activations = window.panels[0]
    assert window.current_panel() is activations
    click_row(qtbot, window, 5)
    assert activations.source.key == 5  # pool2
    with qtbot.waitSignal(window.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        palette_add(qtbot, window, "Conv2d")
    assert window.pipeline.selection == 6
    assert activations.source.key == 6
    assert activations.grid.item.shape == window.last_result.layers[6].activation[0].shape
    # a layer the user then picks in the tab stays picked through later runs
    activations.source.chooser.select_key(2)
    with qtbot.waitSignal(window.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        window.run_now()
    assert activations.source.key == 2


def test_file_new_clears_the_pooling_tab(qtbot, threaded_window):
    window = threaded_window
    from convexplorer.gui.panels.pooling import PoolingPanel

    pooling = next(p for p in window.panels if isinstance(p, PoolingPanel))
    window.tabs.setCurrentWidget(pooling)
    pooling.pick((1, 1))
    assert "indices[0, 0, 1, 1]" in pooling.details.text()
    with qtbot.waitSignal(window.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        window.file_actions.new()
    palette_add(qtbot, window, "MaxPool1d")  # on the new 4-D input: flagged, not run
    assert pooling.empty.isVisible()
    assert not pooling.details.isVisible() and not pooling.readout.isVisible()
    assert not pooling.summary.isVisible()


def test_a_linear_on_a_conv_map_warns_and_offers_insert_flatten(qtbot, window):
    click_row(qtbot, window, 5)  # pool2: torch.Size([1, 20, 4, 4])
    palette_add(qtbot, window, "Linear")
    assert window.report.ok  # torch accepts it: a warning, not an error
    assert window.last_result.layers[6].output_shape == (1, 20, 4, 10)
    bar = window.notes_bar
    assert bar.isVisible() and "6 (Linear): acts on the last dimension only" in bar.text
    assert "torch.Size([1, 20, 4, 4])" in bar.text and "Flatten" in bar.text
    assert window.layer_list.view.item(6).data(NOTE_ROLE)
    assert not window.layer_list.view.item(6).data(INVALID_ROLE)
    assert "acts on the last dimension only" in window.layer_list.view.item(6).toolTip()
    assert window.window_actions["insert_flatten"].isEnabled()
    assert bar.flatten_button.text() == "Insert Flatten Before 6 (Linear)"
    qtbot.mouseClick(bar.flatten_button, Qt.MouseButton.LeftButton)
    assert [s.type for s in window.pipeline.config.layers][5:] == ["MaxPool2d", "Flatten",
                                                                    "Linear"]
    assert window.report.output_shape == (1, 10) and not window.report.notes
    assert not bar.isVisible()
    assert window.last_result.layers[7].output_shape == (1, 10)
    window.window_actions["undo"].trigger()  # one step takes the Flatten out again
    assert [s.type for s in window.pipeline.config.layers][5:] == ["MaxPool2d", "Linear"]
    assert bar.isVisible()
    click_row(qtbot, window, 6)
    window.window_actions["insert_flatten"].trigger()  # Layer > Insert Flatten Before
    assert [s.type for s in window.pipeline.config.layers][6:] == ["Flatten", "Linear"]
