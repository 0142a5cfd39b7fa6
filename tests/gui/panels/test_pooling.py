"""Pooling indices panel: winners, win counts, picked windows, unpooling, gradients."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyqtgraph as pg
import pytest

from convexplorer.gui.panels.pooling import PoolingPanel
from convexplorer.model.spec import Objective

from .helpers import L, click_scene, hover_scene, load_png, pixel, run_layers, show


@pytest.fixture
def panel(qtbot, dgc_result):
    p = show(qtbot, PoolingPanel())
    p.set_result(dgc_result, None)
    return p


def recount(indices: np.ndarray, shape) -> np.ndarray:
    counts = Counter(int(i) for i in indices.ravel())
    out = np.zeros(shape, dtype=int)
    for flat, n in counts.items():
        out[np.unravel_index(flat, shape)] = n
    return out


def test_winners_are_the_engines_indices_and_counts_a_recount(panel, dgc_result):
    pool = dgc_result.layers[3]
    assert panel.chooser.keys() == [3]
    panel.channel_box.setValue(2)
    indices = pool.indices[0, 2]
    inp = dgc_result.layers[2].activation[0, 2]
    expected = {np.unravel_index(int(i), inp.shape) for i in indices.ravel()}
    assert set(panel.winners()) == {tuple(int(v) for v in p) for p in expected}
    assert np.array_equal(panel.counts, recount(indices, inp.shape))
    assert (panel.counts > 1).any()  # kernel 3, stride 2: windows overlap
    assert "won more than one" in panel.summary.text()
    # the engine's pooled values really are the values at the winners
    assert np.array_equal(pool.activation[0, 2], inp.ravel()[indices])


def test_gradient_reaches_only_the_winners(panel, dgc_result):
    grad = dgc_result.layers[2].grad_output[0, 0]
    assert np.array_equal(panel.grad_view.values, grad)
    assert not (grad != 0)[panel.counts == 0].any()
    nonzero = int((grad != 0).sum())
    assert f"nonzero at {nonzero} positions, {nonzero} of them winners" in panel.summary.text()


def test_picking_a_cell_highlights_its_window_and_winner(panel, qtbot, dgc_result):
    view = panel.indices_view
    click_scene(qtbot, panel.plot, view.scene_pos(4, 7))
    assert panel.cell == (4, 7)
    flat = int(dgc_result.layers[3].indices[0, 0, 4, 7])
    y, x = divmod(flat, 42)
    assert f"indices[0, 0, 4, 7] = {flat}</b> = {y}*42 + {x}" in panel.details.text()
    rects = [m.rect() for m in panel.input_view.marks("pick")]
    window = rects[0]  # rows 8-10, columns 14-16 (kernel 3, stride 2)
    assert (window.y(), window.x(), window.height(), window.width()) == (8, 14, 3, 3)
    winner = rects[-1]
    assert (winner.y(), winner.x()) == (y, x)
    assert 8 <= y <= 10 and 14 <= x <= 16
    unpool_marks = [m.rect() for m in panel.unpool_view.marks("pick")]
    assert (unpool_marks[0].y(), unpool_marks[0].x()) == (y, x)


def test_the_unpool_puts_values_back_at_the_winners(panel, dgc_result):
    unpool = dgc_result.layers[4].activation[0, 0]
    assert np.array_equal(panel.unpool_view.values, unpool)
    assert not unpool[panel.counts == 0].any()


def test_shared_winners_before_an_unpool_are_explained(panel, qtbot):
    # the bundled example's pool overlaps (kernel 3, stride 2) and feeds a MaxUnpool directly:
    # the windows sharing a winner send it the same value
    multi = int((panel.counts > 1).sum())
    assert multi > 0
    assert f"at those {multi} positions several windows send the same value" in \
        panel.summary.text()
    # a 3x3 convolution between them mixes neighbours: the values differ, one is kept
    result = run_layers([L("MaxPool2d", kernel_size=3, stride=2, return_indices=True),
                         L("Conv2d", out_channels=1, kernel_size=3, padding=1),
                         L("MaxUnpool2d", kernel_size=3, stride=2)], (1, 1, 9, 9))
    mixed = show(qtbot, PoolingPanel())
    mixed.set_result(result, None)
    text = mixed.summary.text()
    assert (mixed.counts > 1).any()  # (a fixed seed: the same input every time)
    assert "several values land on one spot and one is kept" in text and "CUDA" in text
    # without overlap there is nothing to say
    result = run_layers([L("MaxPool2d", kernel_size=2, return_indices=True),
                         L("MaxUnpool2d", kernel_size=2)], (1, 1, 6, 6))
    other = show(qtbot, PoolingPanel())
    other.set_result(result, None)
    text = other.summary.text()
    assert "several windows send" not in text and "several values land" not in text


def test_selecting_the_unpool_shows_its_pool(qtbot, dgc_result):
    panel = show(qtbot, PoolingPanel())
    panel.set_result(dgc_result, None)
    panel.set_selection(4)
    assert panel.chooser.key() == 3


def test_hover_reads_out_index_and_win_count(panel, qtbot, dgc_result):
    hover_scene(qtbot, panel.plot, panel.indices_view.scene_pos(0, 0))
    flat = int(dgc_result.layers[3].indices[0, 0, 0, 0])
    assert panel.readout.text() == (f"indices[0, 0, 0, 0] = {flat} \u2192 input position "
                                    f"{divmod(flat, 42)}")
    y, x = divmod(flat, 42)
    hover_scene(qtbot, panel.plot, panel.input_view.scene_pos(y, x),
                until=lambda: "won" in panel.readout.text())
    value = dgc_result.layers[2].activation[0, 0, y, x]
    assert panel.readout.text() == (f"depthwise (Conv2d) output[0, 0, {y}, {x}] = {value:.6g}"
                                    f", won {panel.counts[y, x]} window(s)")


def test_export_marks_winners_in_colour(panel, tmp_path):
    assert panel.export_image(tmp_path / "pool.png")
    image = load_png(tmp_path / "pool.png")
    # input 42x42 | indices 21x21 | input.grad 42x42 | unpool 42x42, 4 pixels apart
    assert (image.width(), image.height()) == (42 + 4 + 21 + 4 + 42 + 4 + 42, 42)
    ones = np.argwhere(panel.counts == 1)
    y, x = (int(v) for v in ones[0])
    r, g, b = pixel(image, x, y)
    assert r > 150 and b < r - 80  # yellow over grey
    y, x = (int(v) for v in np.argwhere(panel.counts == 0)[0])
    r, g, b = pixel(image, x, y)
    assert r == g == b  # plain grey


def test_no_indices_says_how_to_get_them(qtbot):
    result = run_layers([L("MaxPool2d", kernel_size=2)], (1, 1, 4, 4))
    panel = show(qtbot, PoolingPanel())
    panel.set_result(result, None)
    assert panel.empty.isVisible() and "return_indices=True" in panel.empty.text()


def test_one_d_overlapping_pool(qtbot):
    result = run_layers([L("MaxPool1d", kernel_size=3, stride=1, return_indices=True)],
                        (2, 2, 12), seed=3)
    panel = show(qtbot, PoolingPanel())
    panel.set_result(result, None)
    panel.batch_box.setValue(1)
    indices = result.layers[0].indices[1, 0]
    assert np.array_equal(panel.counts, recount(indices, (12,)))
    click_scene(qtbot, panel.plot, panel.indices_view.scene_pos(0, 5))
    assert panel.cell == (5,)
    assert f"indices[1, 0, 5] = {int(indices[5])}" in panel.details.text()


def test_adaptive_max_pool_windows(qtbot):
    result = run_layers([L("AdaptiveMaxPool2d", output_size=3, return_indices=True)],
                        (1, 1, 7, 7))
    panel = show(qtbot, PoolingPanel())
    panel.set_result(result, None)
    panel.pick((2, 2))
    window = panel.input_view.marks("pick")[0].rect()
    # output 2 of 3 over 7 reads rows/columns floor(2*7/3)=4 .. ceil(3*7/3)-1=6
    assert (window.y(), window.x(), window.height(), window.width()) == (4, 4, 3, 3)


def test_an_objective_before_the_pool_sends_no_gradient_through_it(qtbot):
    result = run_layers([L("ReLU"), L("MaxPool2d", kernel_size=2, return_indices=True)],
                        (1, 1, 6, 6), objective=Objective(kind="sum", layer=0))
    panel = show(qtbot, PoolingPanel())
    panel.set_result(result, None)
    assert "objective is taken before this pool" in panel.summary.text()
    assert "only to the winners" not in panel.summary.text()


def test_no_indices_leaves_no_text_of_the_last_result(panel, qtbot):
    hover_scene(qtbot, panel.plot, panel.indices_view.scene_pos(0, 0),
                until=lambda: "indices[" in panel.readout.text())
    panel.pick((1, 1))
    assert "indices[0, 0, 1, 1]" in panel.details.text()
    # File > New, then a MaxPool1d without return_indices
    panel.set_result(run_layers([L("MaxPool1d", kernel_size=2)], (1, 1, 8)), None)
    assert panel.empty.isVisible() and "return_indices=True" in panel.empty.text()
    for label in (panel.readout, panel.summary, panel.details):
        assert not label.isVisible() or not label.text().strip(), label.text()
    assert not panel.units.isVisible() and not panel.chooser.isEnabled()


def test_index_numbers_appear_only_where_they_fit_and_on_zoom_in(qtbot, mnist_result):
    from PySide6.QtCore import QRectF

    panel = show(qtbot, PoolingPanel(), size=(1000, 560))
    panel.set_result(mnist_result, None)
    panel.set_selection(2)  # pool1: 12 x 12 indices
    cells = panel.indices_view.cells
    indices = mnist_result.layers[2].indices[0, 0]
    assert cells.texts() == [str(int(i)) for i in indices.ravel()]
    panel.plot.grab()  # paint
    assert cells.painted == 0  # 144 numbers would overlap at this size: none drawn
    view = panel.indices_view.view
    view.setRange(QRectF(0, 0, 3, 3), padding=0)  # zoom in on 3 x 3 cells
    qtbot.waitUntil(lambda: (panel.plot.grab(), cells.painted)[1] > 0)
    assert 9 <= cells.painted < 144  # the cells on screen, not all 144
    from PySide6.QtGui import QFontMetricsF
    px = view.mapViewToScene(pg.Point(1, 0)).x() - view.mapViewToScene(pg.Point(0, 0)).x()
    widest = max(QFontMetricsF(panel.plot.font()).horizontalAdvance(t) for t in cells.texts())
    assert px >= widest  # each number inside its own cell


def test_short_1d_maps_have_square_cells_and_their_positions(qtbot):
    result = run_layers([L("MaxPool1d", kernel_size=3, stride=2, return_indices=True)],
                        (2, 3, 5))
    panel = show(qtbot, PoolingPanel())
    panel.set_result(result, None)
    for view, length in ((panel.input_view, 5), (panel.indices_view, 2)):
        vb = view.view
        width, height = vb.viewPixelSize()  # view units per screen pixel
        assert abs(width - height) < 1e-6 * max(width, height)  # square cells, not tall bars
        assert view.positions.texts() == [str(i) for i in range(length)]
    panel.plot.grab()
    assert panel.indices_view.positions.painted == 2
    assert panel.indices_view.cells.painted == 2  # and both indices written in their cells
