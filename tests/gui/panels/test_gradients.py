"""Gradients panel: the parameter-gradient table, the objective selector, gradient maps."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.gui.panels.gradients import GradientPanel
from convexplorer.model.spec import Objective

from .helpers import L, click_scene, load_png, pixel, run_layers, show


@pytest.fixture
def panel(qtbot, mnist_result):
    p = show(qtbot, GradientPanel())
    p.set_result(mnist_result, None)
    return p


def test_table_holds_every_parameter_with_the_engines_numbers(panel, mnist_result):
    table = panel.table
    expected = [(lr, name) for lr in mnist_result.layers for name in lr.grads]
    assert table.rowCount() == len(expected) == 4  # conv1/conv2 weight and bias
    for row, (lr, name) in enumerate(expected):
        values = table.row_values(row)
        grad = lr.grads[name]
        assert values["layer"] == lr.label
        assert values["parameter"] == f"{lr.name}.{name}"
        assert values[".grad.size()"] == "torch.Size([" + ", ".join(map(str, grad.shape)) + "])"
        assert values[".grad.norm()"] == lr.grad_norms[name]
        assert values[".grad.min()"] == float(grad.min())
        assert values[".grad.max()"] == float(grad.max())
        assert np.isclose(values[".grad.norm()"], np.linalg.norm(grad.astype(np.float64)),
                          rtol=1e-5)
    assert table.item(0, 2).text() == "torch.Size([10, 1, 5, 5])"
    assert "conv1.weight.grad.norm() \u2192 tensor(" in table.item(0, 3).toolTip()


def test_objective_selector_emits_what_the_user_picked(panel, qtbot):
    box = panel.objective_box
    assert box.kind_box.currentData() == "sum"
    assert "sum of pool2 (MaxPool2d) output" in box.current.text()
    box.kind_box.setCurrentIndex(3)  # one unit
    box.layer_box.select_key(3)  # conv2: (1, 20, 8, 8)
    assert box.position_boxes[0].isVisible() and box.position_boxes[0].maximum() == 7
    box.channel_box.setValue(11)
    box.position_boxes[0].setValue(2)
    box.position_boxes[1].setValue(6)
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        box.apply_button.click()
    assert signal.args == [Objective(kind="unit", layer=3, batch=0, channel=11,
                                     position=(2, 6))]
    box.kind_box.setCurrentIndex(1)
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        box.apply_button.click()
    assert signal.args[0] == Objective(kind="mean", layer=3)
    assert not box.position_boxes[0].isVisible()


def test_gradient_maps_of_input_and_layers(panel, mnist_result, tmp_path):
    chooser = panel.source.chooser
    assert chooser.keys() == [-1, 0, 1, 2, 3, 4, 5]
    assert chooser.currentText().startswith("input.grad")
    assert np.array_equal(panel.grid.item, mnist_result.grad_input[0])
    panel.set_selection(1)
    assert np.array_equal(panel.grid.item, mnist_result.layers[1].grad_output[0])
    assert panel.grid.name == "relu1 (ReLU) output.grad"
    assert panel.export_image(tmp_path / "g.png")
    image = load_png(tmp_path / "g.png")
    assert (image.width(), image.height()) == (4 * 25 - 1, 3 * 25 - 1)
    grad = mnist_result.layers[1].grad_output[0]
    zero = np.argwhere(grad[0] == 0)[0]  # the diverging map keeps 0 white
    r, g, b = pixel(image, int(zero[1]), int(zero[0]))
    assert min(r, g, b) > 220


def test_double_click_on_a_gradient_map_requests_that_unit(panel, qtbot):
    panel.set_selection(4)
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, panel.grid.image_widget, panel.grid.scene_pos(3, (1, 2)),
                    double=True)
    assert signal.args[0] == Objective("unit", 4, 0, 3, (1, 2))
    assert panel.objective_box.kind_box.currentData() == "unit"


def test_unit_objective_result_is_shown_and_its_gradient_is_one_hot(qtbot):
    objective = Objective("unit", 0, 1, 2, (3, 4))
    result = run_layers([L("Conv2d", out_channels=4, kernel_size=3)], (2, 1, 8, 8), objective)
    panel = show(qtbot, GradientPanel())
    panel.set_result(result, None)
    box = panel.objective_box
    assert box.kind_box.currentData() == "unit"
    assert (box.layer_box.key(), box.batch_box.value(), box.channel_box.value()) == (0, 1, 2)
    assert (box.position_boxes[0].value(), box.position_boxes[1].value()) == (3, 4)
    grad = result.layers[0].grad_output
    assert grad[1, 2, 3, 4] == 1 and np.count_nonzero(grad) == 1


def test_layers_without_parameters_leave_the_table_empty(qtbot):
    result = run_layers([L("ReLU")], (1, 1, 4, 4))
    panel = show(qtbot, GradientPanel())
    panel.set_result(result, None)
    assert panel.table.rowCount() == 0
    panel.set_result(None, None)
    assert panel.grid.item is None and panel.empty.isVisible()


def test_the_objectives_layer_chooser_shows_the_whole_name(qtbot, mnist_result):
    # as wide as the tab is in the window's default 1400 x 880
    panel = show(qtbot, GradientPanel(), size=(690, 700))
    panel.set_result(mnist_result, None)
    box = panel.objective_box
    box.kind_box.setCurrentIndex(3)  # one unit: batch, channel, y and x boxes too
    box.layer_box.select_key(0)
    qtbot.waitUntil(lambda: box.units.isVisible())
    text = box.layer_box.currentText()
    assert text == "conv1 (Conv2d)"
    assert box.layer_box.width() >= box.layer_box.fontMetrics().horizontalAdvance(text) + 20
    box.kind_box.setCurrentIndex(0)  # the sum: no unit boxes
    assert not box.units.isVisible()


def test_loss_objectives_in_the_window(qtbot):
    """Pick cross_entropy, type the target classes, Run backward: a class out of range is
    shown under the field and nothing runs; a good one runs torch's loss."""
    import torch
    import torch.nn.functional as F
    from PySide6.QtCore import Qt

    from convexplorer.gui.panels.gradients import GradientPanel
    from convexplorer.model.config_io import load_config
    from convexplorer.resources_path import example_path

    from ..window_helpers import open_window

    window = open_window(qtbot, load_config(example_path("mnist_convnet_classifier.json")),
                         sync=True)
    panel = next(p for p in window.panels if isinstance(p, GradientPanel))
    window.tabs.setCurrentWidget(panel)
    box = panel.objective_box
    box.kind_box.setCurrentIndex(box.kind_box.findData("cross_entropy"))
    assert box.target_edit.isVisible() and not box.units.isVisible()
    box.target_edit.clear()
    qtbot.keyClicks(box.target_edit, "12")
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert box.problem.isVisible()
    assert "class 12 is outside 0..9" in box.problem.text()
    assert window.pipeline.config.objective.kind == "sum"  # not applied
    box.target_edit.clear()
    qtbot.keyClicks(box.target_edit, "7")
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert not box.problem.isVisible()
    result = window.last_result
    assert result.objective.kind == "cross_entropy" and result.objective.target == (7,)
    logits = torch.from_numpy(result.layers[-1].activation)
    assert result.objective_value == pytest.approx(
        float(F.cross_entropy(logits, torch.tensor([7]))), rel=1e-5)
    assert "cross_entropy(" in box.current.text()
    box.kind_box.setCurrentIndex(box.kind_box.findData("mse"))
    box.mse_box.setCurrentIndex(box.mse_box.findData("randn"))
    assert box.seed_box.isVisible()
    box.seed_box.setValue(4)
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert window.last_result.objective == window.pipeline.config.objective
    assert window.pipeline.config.objective.to_dict() == {"kind": "mse", "layer": -1,
                                                          "target": "randn", "seed": 4}
    window.close()
