"""The Values tab in the real window: small configs open on numbers, cells print what torch
prints, print(tensor) / print(model) are torch's text, copy buttons, and a picked cell is the
same unit everywhere, with its computation beside it."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from torch import nn

from convexplorer.gui.panels.activations import ActivationPanel
from convexplorer.gui.panels.values import ValuesPanel, as_csv, as_numpy_literal
from convexplorer.model.config_io import load_config
from convexplorer.model.spec import Unit
from convexplorer.resources_path import example_path

from ..window_helpers import open_window


def panel_of(window, cls):
    return next(p for p in window.panels if isinstance(p, cls))


def torch_run(window):
    """The window's layers and input, run in plain torch (the same seeded weights)."""
    result = window.last_result
    x = torch.from_numpy(result.input.copy()).requires_grad_(True)
    mods, h = [], x
    for lr in result.layers:
        kw = dict(window.last_report.layers[lr.index].kwargs)
        kw.pop("inplace", None)
        torch.manual_seed(result.config.seed + lr.index)  # the documented rule
        mods.append(getattr(nn, lr.type)(**kw))
    outs = []
    for m in mods:
        h = m(h)
        outs.append(h)
    return x, mods, outs


def click_cell(qtbot, table, row: int, column: int) -> None:
    rect = table.visualRect(table.slice_model.index(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_small_config_opens_on_numbers_with_torchs_digits(qtbot):
    window = open_window(qtbot, load_config(example_path("tutorial_conv1d.json")), sync=True)
    values = panel_of(window, ValuesPanel)
    assert window.current_panel() is values  # no extra click
    assert values.mode == "table"
    _x, _mods, outs = torch_run(window)
    y = outs[0].detach()
    model = values.table.slice_model
    assert (model.rowCount(), model.columnCount()) == (3, 2)  # output[0]: channel x position
    printed = str(outs[0])
    for r in range(3):
        for c in range(2):
            cell = model.data(model.index(r, c))
            assert cell == f"{float(y[0, r, c]):.4f}"
            assert cell in printed
    assert "rows are channel, columns are position" in values.caption.text()
    assert "torch.Size([2, 3, 2])" in values.caption.text()
    window.close()


def test_large_config_opens_on_pictures(window):
    assert isinstance(window.current_panel(), ActivationPanel)


def test_print_tensor_and_model_are_torchs_text(qtbot):
    window = open_window(qtbot, load_config(example_path("tutorial_conv2d_stack.json")),
                         sync=True)
    values = panel_of(window, ValuesPanel)
    window.tabs.setCurrentWidget(values)
    x, mods, outs = torch_run(window)
    qtbot.mouseClick(values.mode_buttons.button(1), Qt.MouseButton.LeftButton)
    assert values.mode == "tensor"
    window.pipeline.select(2)  # conv2
    assert values.text.toPlainText() == str(outs[2])
    assert "grad_fn=<ConvolutionBackward0>" in values.text.toPlainText()
    values.what_box.setCurrentIndex(values.what_box.findData("weight"))
    assert values.text.toPlainText() == str(mods[2].weight)
    values.chooser.select_key(-1)
    assert values.text.toPlainText() == str(x)
    qtbot.mouseClick(values.mode_buttons.button(2), Qt.MouseButton.LeftButton)
    names = [lr.name for lr in window.last_result.layers]
    assert values.text.toPlainText() == repr(nn.Sequential(OrderedDict(zip(names, mods))))
    window.close()


def test_slices_of_4d_tensors_and_copy_buttons(qtbot):
    window = open_window(qtbot, load_config(example_path("tutorial_conv2d_stack.json")),
                         sync=True)
    values = panel_of(window, ValuesPanel)
    window.tabs.setCurrentWidget(values)
    window.pipeline.select(0)
    out = window.last_result.layers[0].activation  # (2, 20, 5, 4)
    batch_box, channel_box = values.lead_boxes[:2]
    assert batch_box.isVisible() and channel_box.isVisible()
    channel_box.setValue(7)
    batch_box.setValue(1)
    np.testing.assert_array_equal(values.slice(), out[1, 7])
    model = values.table.slice_model
    assert (model.rowCount(), model.columnCount()) == (5, 4)
    values.copy_csv.trigger()  # Copy > Copy the slice as CSV
    csv = QGuiApplication.clipboard().text()
    assert csv == as_csv(out[1, 7])
    back = np.array([[np.float32(v) for v in line.split(",")] for line in csv.splitlines()])
    np.testing.assert_array_equal(back, out[1, 7])  # every digit survives
    values.copy_numpy.trigger()
    literal = QGuiApplication.clipboard().text()
    assert literal == as_numpy_literal(out[1, 7])
    np.testing.assert_array_equal(eval(literal, {"np": np}), out[1, 7])
    values.what_box.setCurrentIndex(values.what_box.findData("weight"))  # (20, 1, 3, 3)
    assert values.lead_boxes[0].prefix() == "out channel "
    assert values.table.slice_model.values.shape == (3, 3)
    window.close()


def test_clicking_a_cell_picks_the_unit_everywhere_and_shows_its_computation(qtbot):
    window = open_window(qtbot, load_config(example_path("tutorial_conv1d.json")), sync=True)
    values = panel_of(window, ValuesPanel)
    click_cell(qtbot, values.table, 2, 1)
    assert window.pipeline.unit == Unit(0, 0, 2, (1,))
    b = values.compute.breakdown
    assert b is not None and b.unit == (0, 2, 1)
    value = float(window.last_result.layers[0].activation[0, 2, 1])
    assert abs(b.recomputed - value) < 1e-5
    assert f"{value:.4f}" in values.compute.header.text()
    rows = values.compute.grids.rows  # per input channel: window ⊙ kernel = products
    assert [title.split(":")[0] for title, _items in rows] == [
        f"input channel {c}" for c in range(4)]
    grid, _dot, kernel, _eq, products = rows[3][1]
    x = values.result.input  # (2, 4, 5): stride 2, output position 1 reads 2..4
    np.testing.assert_allclose(grid.values[0], x[0, 3, 2:5])
    np.testing.assert_allclose(kernel.values[0], values.result.layers[0].params["weight"][2, 3])
    np.testing.assert_allclose(products.values, grid.values * kernel.values)
    assert "Adding the bias" in values.compute.text.toPlainText()
    # next position, then the previous one again; the table follows
    qtbot.mouseClick(values.compute.prev_button, Qt.MouseButton.LeftButton)
    assert window.pipeline.unit == Unit(0, 0, 2, (0,))
    assert values.table.selected_cell() == (2, 0)
    # the Activations tab marks the same unit
    act = panel_of(window, ActivationPanel)
    assert act.picked == (0, 2, (0,))
    window.close()


def test_a_unit_picked_in_the_activations_grid_shows_in_the_table(qtbot):
    window = open_window(qtbot, load_config(example_path("tutorial_conv2d_stack.json")),
                         sync=True)
    act = panel_of(window, ActivationPanel)
    values = panel_of(window, ValuesPanel)
    window.tabs.setCurrentWidget(act)
    window.pipeline.select(0)
    act.grid.unitClicked.emit(5, (3, 2))  # what a click on channel 5 at (3, 2) emits
    assert window.pipeline.unit == Unit(0, 0, 5, (3, 2))
    window.tabs.setCurrentWidget(values)
    assert values.lead == (0, 5)
    assert values.table.selected_cell() == (3, 2)
    assert values.compute.breakdown.unit == (0, 5, 3, 2)
    window.close()


def test_compute_view_steps_with_play_and_draws_the_window(qtbot):
    window = open_window(qtbot, load_config(example_path("tutorial_conv2d_stack.json")),
                         sync=True)
    values = panel_of(window, ValuesPanel)
    window.tabs.setCurrentWidget(values)
    window.pipeline.pick_unit(Unit(0, 1, 3, (4, 3)))  # the last position of the map
    view = values.compute
    assert view.position_label.text() == "position 20 of 20"
    assert len(view.map.taps) == 9  # a 3x3 window on one input channel
    rows = {r for r, _c, _p in view.map.taps}
    cols = {c for _r, c, _p in view.map.taps}
    assert rows == {4, 5, 6} and cols == {3, 4, 5}
    view.play_button.setChecked(True)
    qtbot.waitUntil(lambda: window.pipeline.unit == Unit(0, 1, 3, (0, 0)), timeout=3000)
    view.play_button.setChecked(False)
    window.close()


def test_every_layer_type_explains_its_values_in_the_window(qtbot):
    """Pick the first and the last value of every layer of stacks that hold every type: the
    breakdown matches torch's value and the view shows it."""
    from convexplorer.model.catalogue import CATALOGUE
    from convexplorer.model.spec import Config, InputSpec, LayerSpec

    L = LayerSpec.make
    two_d = (L("Conv2d", out_channels=4, kernel_size=3, padding=1, padding_mode="reflect"),
             L("BatchNorm2d"), L("LeakyReLU"),
             L("MaxPool2d", kernel_size=2, return_indices=True),
             L("ConvTranspose2d", out_channels=3, kernel_size=3, stride=2, output_padding=1),
             L("GELU"),
             L("AvgPool2d", kernel_size=3, stride=2, padding=1, ceil_mode=True),
             L("AdaptiveMaxPool2d", output_size=3, return_indices=True),
             L("AdaptiveAvgPool2d", output_size=2), L("Dropout", p=0.3), L("Sigmoid"),
             L("Flatten"), L("Linear", out_features=5), L("Tanh"))
    pool_unpool = (L("MaxPool2d", kernel_size=2, return_indices=True),
                   L("MaxUnpool2d", kernel_size=2))
    one_d = (L("Conv1d", out_channels=3, kernel_size=3, dilation=2, groups=1), L("BatchNorm1d"),
             L("ReLU"), L("MaxPool1d", kernel_size=2, return_indices=True),
             L("MaxUnpool1d", kernel_size=2), L("AvgPool1d", kernel_size=2),
             L("ConvTranspose1d", out_channels=2, kernel_size=3),
             L("AdaptiveMaxPool1d", output_size=2), L("AdaptiveAvgPool1d", output_size=2))
    three_d = (L("Conv3d", out_channels=2, kernel_size=3, padding=1, padding_mode="replicate"),
               L("BatchNorm3d"), L("MaxPool3d", kernel_size=2, return_indices=True),
               L("ConvTranspose3d", out_channels=2, kernel_size=2, stride=2),
               L("Upsample", scale_factor=1.5, mode="trilinear"),
               L("AvgPool3d", kernel_size=2), L("AdaptiveMaxPool3d", output_size=2,
                                                return_indices=True),
               L("AdaptiveAvgPool3d", output_size=1))
    pool_unpool_3d = (L("MaxPool3d", kernel_size=2, return_indices=True),
                      L("MaxUnpool3d", kernel_size=2))
    more_2d = (L("ZeroPad2d", padding=(1, 1, 2, 0)), L("ConstantPad2d", padding=1, value=0.5),
               L("ReflectionPad2d", padding=1), L("ReplicationPad2d", padding=1),
               L("GroupNorm", num_groups=2), L("InstanceNorm2d", affine=True),
               L("LocalResponseNorm", size=3), L("PReLU", num_parameters=4), L("ReLU6"),
               L("SiLU"), L("Hardswish"), L("Hardsigmoid"), L("ELU"), L("Mish"),
               L("Dropout2d", p=0.3), L("Identity"), L("PixelUnshuffle", downscale_factor=2),
               L("PixelShuffle", upscale_factor=2),
               L("Upsample", scale_factor=1.5, mode="bilinear"), L("Upsample", size=(7, 9)),
               L("LPPool2d", norm_type=2, kernel_size=2), L("Softmax", dim=1),
               L("LogSoftmax", dim=-1), L("LayerNorm"), L("Flatten"),
               L("Unflatten", dim=1, unflattened_size=(4, -1)))
    more_1d = (L("ZeroPad1d", padding=1), L("ConstantPad1d", padding=(1, 2), value=-1.0),
               L("ReflectionPad1d", padding=2), L("ReplicationPad1d", padding=1),
               L("InstanceNorm1d"), L("Dropout1d", p=0.3),
               L("LPPool1d", norm_type=1.5, kernel_size=2), L("Upsample", scale_factor=2,
                                                               mode="linear"))
    merges = (L("Conv2d", "a", out_channels=2, kernel_size=3, padding=1), L("Tanh"),
              L("Add", **{"from": "a"}), L("Concat", **{"from": ("input",)}),
              L("AdaptiveAvgPool2d", output_size=1), L("Multiply", **{"from": 3}))
    stacks = [(two_d, (2, 2, 8, 8)), (pool_unpool, (1, 2, 6, 6)), (one_d, (2, 2, 16)),
              (three_d, (1, 2, 4, 6, 6)), (pool_unpool_3d, (1, 2, 4, 4, 4)),
              (more_2d, (2, 4, 8, 8)), (more_1d, (2, 2, 9)), (merges, (1, 2, 6, 6))]
    seen = set()
    for layers, shape in stacks:
        config = Config(layers=layers, input=InputSpec(shape=shape))
        window = open_window(qtbot, config, sync=True)
        values = panel_of(window, ValuesPanel)
        window.tabs.setCurrentWidget(values)
        for lr in window.last_result.layers:
            seen.add(lr.type)
            window.pipeline.select(lr.index)
            out = lr.activation
            for index in ((0,) * out.ndim, tuple(n - 1 for n in out.shape)):
                window.pipeline.pick_unit(Unit.at(lr.index, index))
                b = values.compute.breakdown
                assert b is not None and b.unit == index, (lr.label, index)
                assert abs(b.recomputed - float(out[index])) <= 1e-4 * (1 + abs(b.value)) or \
                    np.isnan(b.value)
                assert values.compute.header.text().startswith(f"<b>{lr.label} output[")
        window.close()  # an exception in a panel fails the test (pytest-qt's excepthook)
    assert seen == set(CATALOGUE)


def test_prelu_weight_and_its_grad_are_listed_as_torch_prints_them(qtbot):
    from convexplorer.model.spec import Config, InputSpec, LayerSpec

    layers = (LayerSpec.make("Conv2d", "conv", out_channels=3, kernel_size=3),
              LayerSpec.make("PReLU", "act", num_parameters=3, init=0.1))
    config = Config(layers=layers, input=InputSpec(shape=(1, 1, 5, 5)))
    window = open_window(qtbot, config, sync=True)
    values = panel_of(window, ValuesPanel)
    window.tabs.setCurrentWidget(values)
    x, mods, outs = torch_run(window)
    outs[-1].sum().backward()  # the default objective: the sum of the last output
    window.pipeline.select(1)
    whats = [values.what_box.itemData(i) for i in range(values.what_box.count())]
    assert whats == ["output", "weight", "grad_output", "grad_weight"]
    qtbot.mouseClick(values.mode_buttons.button(1), Qt.MouseButton.LeftButton)
    values.what_box.setCurrentIndex(values.what_box.findData("weight"))
    assert values.text.toPlainText() == str(mods[1].weight)  # Parameter containing: ...
    values.what_box.setCurrentIndex(values.what_box.findData("grad_weight"))
    assert values.text.toPlainText() == str(mods[1].weight.grad)
    qtbot.mouseClick(values.mode_buttons.button(0), Qt.MouseButton.LeftButton)
    assert ".weight.grad.norm() = " in values.caption.text()
    window.close()


def test_a_picked_value_is_ready_in_the_receptive_field_tab(qtbot):
    from convexplorer.gui.panels.receptive import ReceptiveFieldPanel

    window = open_window(qtbot, load_config(example_path("tutorial_conv2d_stack.json")),
                         sync=True)
    values = panel_of(window, ValuesPanel)
    window.tabs.setCurrentWidget(values)
    window.pipeline.select(2)
    click_cell(qtbot, values.table, 1, 1)
    unit = window.pipeline.unit
    assert unit.layer == 2
    receptive = panel_of(window, ReceptiveFieldPanel)
    window.tabs.setCurrentWidget(receptive)
    assert receptive.chooser.key() == 2
    assert (receptive.units.batch, receptive.units.channel, receptive.units.position) == (
        unit.batch, unit.channel, unit.position)
    window.close()
