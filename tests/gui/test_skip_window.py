"""Skip connections in the window, driven like a user: the stack draws each one as an arc, the
form's ``from`` chooser lists the earlier layers and flags one that does not fit, references
follow a rename and a removal (undo restores them), a new merge starts valid, and the panels
(Gradients, Explain, Receptive field) speak of both paths."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from convexplorer.gui.layer_list import ARC_COLORS, LANE
from convexplorer.gui.panels.explain_view import ExplainPanel
from convexplorer.gui.panels.gradients import GradientPanel
from convexplorer.gui.panels.receptive import ReceptiveFieldPanel
from convexplorer.model.config_io import load_config
from convexplorer.model.spec import Objective
from convexplorer.resources_path import example_path

from .window_helpers import click_row, open_window, palette_add, shapes_row

BLOCK_IN, RES = 1, 7  # in residual_block.json


def residual(qtbot):
    return open_window(qtbot, load_config(example_path("residual_block.json")), sync=True)


def panel_of(window, cls):
    return next(p for p in window.panels if isinstance(p, cls))


def froms(window) -> list:
    return [s.value("from") for s in window.pipeline.config.layers if s.is_set("from")]


def near(colour: QColor, want: QColor, tolerance: int = 60) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour.getRgb()[:3], want.getRgb()[:3]))


def test_the_stack_draws_the_skip_as_an_arc_from_source_to_merge(qtbot):
    window = residual(qtbot)
    view = window.layer_list.view
    assert view.arcs == [(BLOCK_IN, RES, 0, "Add")] and view.gutter > 0
    image = view.viewport().grab().toImage()
    x = view.gutter - 2 - 6  # lane 0
    top = view.visualItemRect(view.item(BLOCK_IN)).center().y()
    bottom = view.visualItemRect(view.item(RES)).center().y()
    green = ARC_COLORS["Add"]
    assert all(near(image.pixelColor(x, y), green) for y in range(top + 8, bottom - 8, 9))
    outside = view.visualItemRect(view.item(RES + 1)).center().y()  # below the merge: no arc
    assert not near(image.pixelColor(x, outside), green)
    assert "from='block_in'" in window.layer_list.row_text(RES)
    tip = window.shapes.item(RES + 1, 1).toolTip()  # row 0 is the input
    assert "joins the previous output with block_in (ReLU) torch.Size([1, 8, 28, 28])" in tip
    assert "[1, 8, 28, 28] + [1, 8, 28, 28] → [1, 8, 28, 28]" in tip
    window.close()


def test_from_chooser_lists_earlier_layers_and_changes_the_source(qtbot):
    window = residual(qtbot)
    click_row(qtbot, window, RES)
    assert window.form.title.text() == "res \u2014 Add"
    combo = window.form.editor("from").refs
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts == ["input", "0 stem (Conv2d)", "1 block_in (ReLU)", "2 conv1 (Conv2d)",
                     "3 bn1 (BatchNorm2d)", "4 relu1 (ReLU)", "5 conv2 (Conv2d)",
                     "6 bn2 (BatchNorm2d)"]
    assert combo.currentText() == "1 block_in (ReLU)"
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Up)  # the layer before: stem
    assert froms(window) == ["stem"]
    assert window.layer_list.view.arcs == [(0, RES, 0, "Add")]
    assert window.last_result.layers[RES].sources == (0,)
    qtbot.keyClick(combo, Qt.Key.Key_Up)  # the input: 1 channel broadcast over 8
    assert froms(window) == ["input"] and window.report.ok
    assert window.layer_list.view.arcs == [(-1, RES, 0, "Add")]
    window.window_actions["undo"].trigger()
    window.window_actions["undo"].trigger()
    assert froms(window) == ["block_in"] and combo.currentText() == "1 block_in (ReLU)"
    window.close()


def test_a_concat_source_that_does_not_fit_is_flagged_on_the_field(qtbot):
    window = open_window(qtbot, load_config(example_path("unet_skip.json")), sync=True)
    cat = next(s for s in window.pipeline.config.layers if s.name == "cat")
    index = window.pipeline.config.layers.index(cat)
    click_row(qtbot, window, index)
    editor = window.form.editor("from")
    assert editor.ref_button.text() == "down1"
    menu = editor.ref_button.menu()
    texts = [a.text() for a in menu.actions()]
    assert [a.text() for a in menu.actions() if a.isChecked()] == ["1 down1 (ReLU)"]
    enc2 = menu.actions()[texts.index("3 enc2 (Conv2d)")]
    enc2.trigger()  # a click on the unchecked item: adds it
    assert froms(window) == [("down1", "enc2")]
    assert editor.invalid and "sizes 14 and 28 in dimension 2" in editor.problem
    assert shapes_row(window, index)["Output shape"] == "?"
    assert window.status.state == "invalid"
    menu = editor.ref_button.menu()
    next(a for a in menu.actions() if a.text() == "3 enc2 (Conv2d)").trigger()  # and off
    assert froms(window) == [("down1",)] and not editor.invalid
    assert shapes_row(window, index)["Output shape"] == "torch.Size([1, 16, 28, 28])"
    window.close()


def test_references_follow_a_rename_and_a_removal_and_undo_restores_them(qtbot):
    window = residual(qtbot)
    click_row(qtbot, window, BLOCK_IN)
    name = window.form.name_edit
    name.setFocus()
    name.selectAll()
    qtbot.keyClicks(name, "skip")
    assert window.pipeline.config.layers[BLOCK_IN].name == "skip"
    assert froms(window) == ["skip"] and window.report.ok
    window.window_actions["undo"].trigger()  # the typed name is one step, references with it
    assert froms(window) == ["block_in"]
    click_row(qtbot, window, BLOCK_IN)
    window.window_actions["remove"].trigger()  # the Add takes what block_in received: stem
    assert froms(window) == ["stem"] and window.report.ok
    assert window.layer_list.view.arcs == [(0, RES - 1, 0, "Add")]
    window.window_actions["undo"].trigger()
    assert froms(window) == ["block_in"]
    assert window.layer_list.view.arcs == [(BLOCK_IN, RES, 0, "Add")]
    window.close()


def test_a_new_merge_from_the_palette_starts_valid(qtbot):
    window = residual(qtbot)
    click_row(qtbot, window, 6)  # bn2: the new Add goes after it
    palette_add(qtbot, window, "Add")
    layers = window.pipeline.config.layers
    # the latest earlier output of bn2's shape, not bn2 itself
    assert layers[7].type == "Add" and layers[7].value("from") == "conv2"
    assert window.report.ok and (5, 7, 0, "Add") in window.layer_list.view.arcs
    assert layers[8].value("from") == "block_in"  # the old Add still names block_in
    click_row(qtbot, window, 9)  # relu2, the last: a Concat after it
    palette_add(qtbot, window, "Concat")
    assert window.pipeline.config.layers[10].value("from") == ("res",)
    assert shapes_row(window, 10)["Output shape"] == "torch.Size([1, 16, 28, 28])"
    window.close()


def test_panels_speak_of_both_paths(qtbot):
    window = residual(qtbot)
    grads = panel_of(window, GradientPanel)
    window.tabs.setCurrentWidget(grads)
    grads.source.chooser.select_key(BLOCK_IN)
    assert grads.skip_note.isVisible()
    assert "block_in (ReLU) output goes on to the next layer and to res (Add)" in \
        grads.skip_note.text()
    grads.source.chooser.select_key(3)
    assert not grads.skip_note.isVisible()
    explain = panel_of(window, ExplainPanel)
    window.tabs.setCurrentWidget(explain)
    click_row(qtbot, window, RES)
    text = explain.text.toPlainText()
    assert "res (Add): torch.Size([1, 8, 28, 28])" in text
    assert "reaches block_in (ReLU) output directly" in text
    window.close()


def test_receptive_field_panel_lights_both_paths(qtbot):
    window = open_window(qtbot, load_config(example_path("unet_skip.json")), sync=True)
    panel = panel_of(window, ReceptiveFieldPanel)
    window.tabs.setCurrentWidget(panel)
    names = [s.name for s in window.pipeline.config.layers]
    window.pipeline.set_objective(Objective("unit", names.index("cat"), 0, 9, (14, 14)))
    stages = {st["name"]: st for st in panel.stages if "box" in st}
    # the box is the union of both paths: directly, and back through up, enc2 and the pool
    assert stages["down1 (ReLU)"]["box"] == ((12, 17), (12, 17))
    assert stages["input"]["box"] == ((11, 18), (11, 18))
    # channel 9 of the Concat is down1's channel 1, so the gradient takes the direct path
    # only: one lit position of down1, none on the upsampling path
    assert stages["down1 (ReLU)"]["nonzero"] == 1
    assert stages["up (ConvTranspose2d)"]["nonzero"] == 0
    assert "down1 (ReLU): 1 positions with nonzero gradient" in panel.summary.text()
    window.close()


def test_the_arc_lanes_nest(qtbot):
    from convexplorer.model.config_io import loads_config

    config = loads_config('{"input": {"source": "random", "shape": [1, 2, 6, 6]}, "layers": ['
                          '{"type": "ReLU", "name": "a"}, {"type": "Tanh"},'
                          '{"type": "Add", "from": "a"}, {"type": "Concat", "from": ["input", 1]}'
                          ']}')
    window = open_window(qtbot, config, sync=True)
    view = window.layer_list.view
    # overlapping arcs get their own lanes, the longest outside
    assert sorted(view.arcs) == [(-1, 3, 2, "Concat"), (0, 2, 0, "Add"), (1, 3, 1, "Concat")]
    assert view.gutter == 3 * LANE + 8
    window.close()


def test_the_chooser_shows_a_layer_named_by_index_or_a_reference_that_is_no_layer(qtbot):
    from convexplorer.model.config_io import loads_config

    config = loads_config('{"input": {"source": "random", "shape": [1, 2, 6, 6]}, "layers": ['
                          '{"type": "ReLU", "name": "a"}, {"type": "Tanh"},'
                          '{"type": "Add", "from": 0}, {"type": "Concat", "from": ["0"]}]}')
    window = open_window(qtbot, config, sync=True)
    click_row(qtbot, window, 2)
    assert window.form.editor("from").refs.currentText() == "0 a (ReLU)"
    cat = window.pipeline.config.layers[3]
    window.pipeline.replace_layer(3, cat.with_params(**{"from": ("0", 9)}))  # as a file may
    click_row(qtbot, window, 3)
    editor = window.form.editor("from")
    checked = [a.text() for a in editor.ref_button.menu().actions() if a.isChecked()]
    assert checked == ["0 a (ReLU)", "9 (not an earlier layer)"]
    assert editor.invalid and "names no layer before this one" in editor.problem
    next(a for a in editor.ref_button.menu().actions()
         if a.text() == "9 (not an earlier layer)").trigger()  # untick it
    assert window.pipeline.config.layers[3].value("from") == ("0",) and window.report.ok
    window.close()
