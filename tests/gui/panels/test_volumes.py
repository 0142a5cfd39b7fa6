"""Volumes (N, C, D, H, W) in the panels that draw maps: one depth slice at a time, chosen with
a depth slider, and units picked on a slice keep their depth (Activations, Gradients, Pooling
indices, Receptive field, the Values table and its computation view)."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.gui.panels.activations import ActivationPanel
from convexplorer.gui.panels.gradients import GradientPanel
from convexplorer.gui.panels.pooling import PoolingPanel
from convexplorer.gui.panels.receptive import ReceptiveFieldPanel
from convexplorer.gui.panels.values import ValuesPanel
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Objective, Unit

from .helpers import L, click_scene, hover_scene, run_layers, show

LAYERS = [L("Conv3d", out_channels=3, kernel_size=3, padding=1),
          L("MaxPool3d", kernel_size=2, return_indices=True),
          L("Conv3d", out_channels=2, kernel_size=(1, 2, 2))]
SHAPE = (1, 2, 4, 6, 6)


@pytest.fixture(scope="module")
def volume_result():
    return run_layers(LAYERS, SHAPE)


def _report(result):
    return infer(result.config.layers, result.input.shape)


def test_activations_show_one_depth_slice_and_keep_the_depth_of_a_pick(qtbot, volume_result):
    panel = show(qtbot, ActivationPanel())
    panel.set_result(volume_result, _report(volume_result))
    panel.set_selection(0)
    slider = panel.source.depth_slider
    assert slider.isVisible() and slider.slider.maximum() == 3
    out = volume_result.layers[0].activation
    assert np.array_equal(panel.grid.item, out[0, :, 0])
    slider.slider.setValue(2)
    assert np.array_equal(panel.grid.item, out[0, :, 2])
    grid = panel.grid
    hover_scene(qtbot, grid.image_widget, grid.scene_pos(1, (3, 4)))
    assert grid.readout.text().startswith(f"0 (Conv3d) output[0, 1, 2, 3, 4] = "
                                          f"{out[0, 1, 2, 3, 4]:.6g}")
    assert "depth 2" in grid.readout.text()
    with qtbot.waitSignal(panel.unitPicked) as picked:
        click_scene(qtbot, grid.image_widget, grid.scene_pos(1, (3, 4)))
    assert picked.args == [Unit(0, 0, 1, (2, 3, 4))]
    assert "[0, 1, 2]" in panel.detail.boxes["big"].caption.text()
    # the kernels of a Conv3d: every depth slice of each input channel's kernel
    assert panel.detail.kernels.item.shape == (2 * 3, 3, 3)
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        panel.detail.backprop.click()
    assert signal.args == [Objective("unit", 0, 0, 1, (2, 3, 4))]
    # a unit picked elsewhere moves the slider to its slice
    panel.set_unit(Unit(0, 0, 2, (1, 0, 5)))
    assert slider.value == 1 and np.array_equal(panel.grid.item, out[0, :, 1])
    # a 4-D layer hides the slider
    panel.set_result(run_layers([L("Conv2d", out_channels=2, kernel_size=3)], (1, 1, 6, 6)),
                     None)
    assert not slider.isVisible() and panel.source.depth is None


def test_gradients_double_click_on_a_slice_asks_for_that_unit(qtbot, volume_result):
    panel = show(qtbot, GradientPanel())
    panel.set_result(volume_result, _report(volume_result))
    panel.set_selection(1)
    panel.source.depth_slider.slider.setValue(1)
    grads = volume_result.layers[1].grad_output
    assert np.array_equal(panel.grid.item, grads[0, :, 1])
    grid = panel.grid
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, grid.image_widget, grid.scene_pos(2, (0, 2)), double=True)
    assert signal.args == [Objective("unit", 1, 0, 2, (1, 0, 2))]


def test_pooling_picks_move_the_input_slice_to_the_winner(qtbot, volume_result):
    panel = show(qtbot, PoolingPanel())
    panel.set_result(volume_result, _report(volume_result))
    assert panel.in_depth.isVisible() and panel.out_depth.isVisible()
    assert panel.in_depth.slider.maximum() == 3 and panel.out_depth.slider.maximum() == 1
    pool = volume_result.layers[1]
    panel.out_depth.slider.setValue(1)
    assert np.array_equal(panel.indices_view.values, pool.indices[0, 0, 1])
    click_scene(qtbot, panel.plot, panel.indices_view.scene_pos(2, 1))
    assert panel.cell == (1, 2, 1)
    flat = int(pool.indices[0, 0, 1, 2, 1])
    winner = np.unravel_index(flat, (4, 6, 6))
    assert panel.in_depth.value == winner[0]
    conv_out = volume_result.layers[0].activation[0, 0]
    assert np.array_equal(panel.input_view.values, conv_out[winner[0]])
    # the winner, outlined red, is the largest of its 2x2x2 window
    red = [m for m in panel.input_view.marks("pick") if m.pen().color().name() == "#ff1744"]
    assert len(red) == 1 and red[0].rect().x() == winner[2] and red[0].rect().y() == winner[1]
    window = conv_out[2:4, 4:6, 2:4]  # cell (1, 2, 1) of a 2x2x2 pool
    assert conv_out[winner] == window.max()
    text = panel.details.text()
    assert f"indices[0, 0, 1, 2, 1] = {flat}" in text and "*6*6" in text
    assert "depth slices 2\u20133" in text
    # another input slice: the winner is elsewhere, no red mark there
    panel.in_depth.slider.setValue(0 if winner[0] else 1)
    assert not [m for m in panel.input_view.marks("pick")
                if m.pen().color().name() == "#ff1744"]


def test_receptive_field_of_a_volume_unit(qtbot, volume_result):
    objective = Objective("unit", 2, 0, 1, (1, 1, 1))
    result = run_layers(LAYERS, SHAPE, objective=objective)
    panel = show(qtbot, ReceptiveFieldPanel())
    panel.set_result(result, _report(result))
    assert panel.depth.isVisible() and panel.depth.value == 1
    names = [st["name"] for st in panel.stages]
    assert names == ["input", "0 (Conv3d)", "1 (MaxPool3d)", "2 (Conv3d)"]
    first = panel.stages[0]
    assert first["strength"].shape == (4, 6, 6) and first["plane"].shape == (6, 6)
    assert len(first["box"]) == 3 and first["depth"] == sum(first["box"][0]) // 2
    assert first["nonzero"] == int((first["strength"] > 0).sum()) > 0
    last = panel.stages[-1]
    assert last["unit"] == (1, 1) and last["pick"].shape == (2, 2)
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, panel.plot, panel.views[-1].scene_pos(0, 1))
    assert signal.args == [Objective("unit", 2, 0, 1, (1, 0, 1))]


def test_values_table_and_computation_of_a_volume(qtbot, volume_result):
    panel = show(qtbot, ValuesPanel(), size=(1400, 900))
    panel.set_result(volume_result, _report(volume_result))
    panel.set_selection(0)
    slider = panel.depth_slider
    assert slider.isVisible() and slider.title.text() == "depth"
    slider.slider.setValue(3)
    assert panel.lead == (0, 0, 3)
    out = volume_result.layers[0].activation
    assert np.array_equal(panel.slice(), out[0, 0, 3])
    panel.set_unit(Unit(0, 0, 1, (2, 3, 4)))
    assert slider.value == 2
    view = panel.compute
    b = view.breakdown
    assert b is not None and b.unit == (0, 1, 2, 3, 4)
    assert abs(b.recomputed - float(out[0, 1, 2, 3, 4])) < 1e-4
    # the computation view: the input slice through the middle of the window (depths 1-3)
    assert view.depth.isVisible() and view.depth.value == 2
    assert "depth slices 1 to 3" in view.map_caption.text()
    assert len(view.map.taps) == 9  # the 3x3 taps of the window on this slice
    view.depth.slider.setValue(0)  # outside the window: nothing outlined
    assert view.map.taps == [] and "this is slice 0" in view.map_caption.text()
    # 3-D kernel: one row of grids per kernel depth slice and input channel
    assert len(view.grids.rows) == 2 * 3
    # a Conv3d weight: the slider walks its kernel depth
    panel.what_box.setCurrentIndex(panel.what_box.findData("weight"))
    assert slider.isVisible() and slider.title.text() == "kernel depth"
