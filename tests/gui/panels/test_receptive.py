"""Receptive field panel: measured influence (nonzero gradients) against the theoretical box."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from convexplorer.gui.panels.receptive import ReceptiveFieldPanel
from convexplorer.model.spec import Objective

from .helpers import L, click_scene, close, load_png, pixel, run_layers, show


def nonzero(stage) -> set:
    return {tuple(int(v) for v in p) for p in np.argwhere(stage["strength"] > 0)}


def test_dilation_holes_show_inside_the_box(qtbot, tmp_path):
    objective = Objective("unit", 0, 0, 0, (2, 2))
    result = run_layers([L("Conv2d", out_channels=1, kernel_size=3, dilation=2)],
                        (1, 1, 9, 9), objective)
    panel = show(qtbot, ReceptiveFieldPanel())
    panel.set_result(result, None)
    first, last = panel.stages
    assert first["name"] == "input" and "pick" in last
    assert nonzero(first) == {(y, x) for y in (2, 4, 6) for x in (2, 4, 6)}
    assert first["box"] == ((2, 6), (2, 6))
    assert "5x5 (jump 1x1) (LayerInfo.receptive_field)" in panel.summary.text()
    assert "9 positions with nonzero gradient; box 2\u20136 x 2\u20136 (25 positions), 16 " \
           "of them dark" in panel.summary.text()
    assert panel.export_image(tmp_path / "rf.png")
    image = load_png(tmp_path / "rf.png")
    assert (image.width(), image.height()) == (9 + 4 + 5, 9)  # input | layer output (5x5)
    black = pg.colormap.get("magma").map(np.array([0.0]), mode="byte")[0][:3]
    assert close(pixel(image, 0, 0), black)  # outside the box, no influence
    tinted = [round(c * (1 - 70 / 255) + t * 70 / 255) for c, t in zip(black, (0, 229, 255))]
    assert close(pixel(image, 3, 2), tinted)  # a hole: dark, tinted by the box
    assert sum(pixel(image, 4, 4)) > 150  # a tap: lit


def test_stride_gaps_across_two_layers(qtbot):
    objective = Objective("unit", 1, 0, 0, (1, 1))
    result = run_layers([L("Conv2d", out_channels=2, kernel_size=2, stride=3),
                         L("Conv2d", out_channels=1, kernel_size=3)], (1, 1, 20, 20), objective)
    panel = show(qtbot, ReceptiveFieldPanel())
    panel.set_result(result, None)
    inp, mid, _pick = panel.stages
    rows = {y for y, _x in nonzero(inp)}
    assert rows == {3, 4, 6, 7, 9, 10}  # rows 5 and 8: gaps stride 3 leaves
    assert inp["box"] == ((3, 10), (3, 10))
    assert nonzero(mid) == {(y, x) for y in (1, 2, 3) for x in (1, 2, 3)}
    assert panel.report.layers[1].receptive_field.size == (8.0, 8.0)  # = the box's size
    assert panel.chooser.key() == 1 and panel.channel_box.value() == 0


def test_clicking_a_unit_requests_its_objective(qtbot, mnist_result):
    panel = show(qtbot, ReceptiveFieldPanel())
    panel.set_result(mnist_result, None)  # objective "sum": only the map to pick from
    assert len(panel.stages) == 1
    panel.set_selection(3)
    panel.channel_box.setValue(5)
    view = panel.views[-1]
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, panel.plot, view.scene_pos(6, 2))
    assert signal.args[0] == Objective("unit", 3, 0, 5, (6, 2))
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        panel.show_button.click()
    assert signal.args[0] == Objective("unit", 3, 0, 5, (6, 2))


def test_one_d_receptive_field(qtbot):
    objective = Objective("unit", 0, 0, 1, (4,))
    result = run_layers([L("Conv1d", out_channels=2, kernel_size=3, dilation=3)], (1, 1, 20),
                        objective)
    panel = show(qtbot, ReceptiveFieldPanel())
    panel.set_result(result, None)
    assert nonzero(panel.stages[0]) == {(0, 4), (0, 7), (0, 10)}
    assert panel.stages[0]["box"] == ((4, 10),)
    assert panel.position_boxes[0].value() == 4 and not panel.position_boxes[1].isVisible()


def test_every_map_fits_at_the_default_window_size(qtbot):
    from .helpers import run_example

    result = run_example("mnist_convnet.json", Objective("unit", 5, 0, 0, (0, 0)))
    # the tab's size in the default 1400 x 880 window
    panel = show(qtbot, ReceptiveFieldPanel(), size=(690, 560))
    panel.set_result(result, None)
    assert len(panel.views) == 7  # input, 5 layers before pool2, and pool2
    qtbot.wait(50)
    seen = panel.plot.viewport().rect()
    for view in panel.views:
        rect = panel.plot.mapFromScene(view.view.sceneBoundingRect()).boundingRect()
        assert seen.contains(rect), (view.label.text, rect, seen)
        title = panel.plot.mapFromScene(view.label.sceneBoundingRect()).boundingRect()
        assert seen.contains(title), (view.label.text, title, seen)
