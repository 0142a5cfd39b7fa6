"""The channel grid shared by activations, gradients and kernels."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg

from convexplorer.gui.panels.base import DIVERGING
from convexplorer.gui.panels.channel_grid import ChannelGrid

from .helpers import click_scene, close, hover_scene, load_png, pixel, show


def make_grid(qtbot, item, **kw):
    grid = show(qtbot, ChannelGrid(**kw), (800, 600))
    grid.set_data(item, "conv1 (Conv2d) output", (0,), ("batch", "channel"))
    return grid


def test_export_is_the_page_at_data_resolution_with_known_pixels(qtbot, tmp_path):
    item = np.zeros((5, 3, 4), dtype=np.float32)
    item[2, 1, 3] = 1.0  # the maximum
    item[4, 0, 0] = 0.5
    grid = make_grid(qtbot, item)
    grid.cmap_box.setCurrentText("gray")
    assert grid.export_image(tmp_path / "grid.png")
    image = load_png(tmp_path / "grid.png")
    # 5 channels: 2 rows x 3 columns of 3x4 maps, 1-pixel gaps
    assert (image.width(), image.height()) == (3 * 5 - 1, 2 * 4 - 1)
    assert pixel(image, 2 * 5 + 3, 1) == (255, 255, 255)  # channel 2 at (1, 3)
    assert close(pixel(image, 1 * 5 + 0, 4), (128, 128, 128))  # channel 4 at (0, 0)
    assert pixel(image, 0, 0) == (0, 0, 0)
    assert pixel(image, 4, 0) == (40, 40, 40)  # gap column


def _brightest_near(grid, channel: int, size: int = 14) -> int:
    """The brightest screen pixel in a ``size`` x ``size`` square just above the top-left
    corner of ``channel``'s map, where its number is painted (in the band above the map)."""
    y, x = grid.mosaic.origin(channel)
    view = grid.image_widget
    corner = view.mapFromScene(grid.view.mapViewToScene(pg.Point(x, y)))
    image = view.viewport().grab().toImage()
    return max(max(pixel(image, corner.x() + i, corner.y() - j))
               for i in range(1, size) for j in range(1, size))


def test_channel_numbers_cover_no_data(qtbot):
    item = np.zeros((20, 8, 8), dtype=np.float32)
    item[:, 0, 0] = 1.0  # a single nonzero value in each map's top-left corner
    grid = make_grid(qtbot, item, cmap="gray")
    view = grid.image_widget
    qtbot.waitUntil(lambda: grid.channel_labels.painted == 20)
    image = view.viewport().grab().toImage()
    for channel in range(20):
        y, x = grid.mosaic.origin(channel)
        # the whole corner cell is drawn white: no number on it
        for fy in (0.1, 0.5, 0.9):
            for fx in (0.1, 0.5, 0.9):
                p = view.mapFromScene(grid.view.mapViewToScene(pg.Point(x + fx, y + fy)))
                assert pixel(image, p.x(), p.y()) == (255, 255, 255), (channel, fx, fy)
        assert grid.mosaic.hit(y - 0.5, x + 1) is None  # the band above is not data


def test_channel_numbers_are_painted_when_the_cells_hold_them(qtbot):
    grid = make_grid(qtbot, np.zeros((4, 40, 40), dtype=np.float32))
    grid.cmap_box.setCurrentText("gray")  # constant maps draw mid-grey: only numbers are white
    assert grid.channel_labels.labels() == ["0", "1", "2", "3"]
    for channel in range(4):
        assert _brightest_near(grid, channel) > 200
    grid.set_data(np.zeros((7, 40, 40), dtype=np.float32), "x")
    assert grid.channel_labels.labels() == [str(c) for c in range(7)]
    assert _brightest_near(grid, 6) > 200
    grid.set_data(np.zeros((1, 40, 40), dtype=np.float32), "x")  # one channel: no number
    assert grid.channel_labels.labels() == []
    assert _brightest_near(grid, 0) < 200


def test_the_screen_shows_the_colour_map_and_transparent_gaps(qtbot):
    item = np.zeros((2, 40, 40), dtype=np.float32)
    item[1] = 1.0
    grid = make_grid(qtbot, item)  # viridis, shared scale 0..1
    view = grid.image_widget
    image = view.viewport().grab().toImage()

    def at(y, x):
        p = view.mapFromScene(grid.view.mapViewToScene(pg.Point(x, y)))
        return pixel(image, p.x(), p.y())

    low, high = pg.colormap.get("viridis").map(np.array([0.0, 1.0]), mode="byte")
    assert close(at(30, 30), low[:3], tol=3)  # channel 0, away from its number
    assert close(at(30, 41 + 30), high[:3], tol=3)  # channel 1
    assert at(30, 40.5) == at(2, 2 * 41 + 10)  # the gap shows the background (outside)


def test_channel_numbers_are_left_out_when_the_cells_are_too_small(qtbot):
    grid = make_grid(qtbot, np.zeros((64, 2, 300), dtype=np.float32))  # cells 2 units high
    grid.cmap_box.setCurrentText("gray")
    assert len(grid.channel_labels.labels()) == 64  # known, but they would hide the data
    assert all(_brightest_near(grid, c, 4) < 200 for c in (0, 9, 63))


def test_viridis_and_diverging_colours(qtbot, tmp_path):
    item = np.array([[[-1.0, 0.0, 1.0]]], dtype=np.float32)
    grid = make_grid(qtbot, item, cmap=DIVERGING)
    assert grid.levels == (-1.0, 1.0)
    grid.export_image(tmp_path / "d.png")
    image = load_png(tmp_path / "d.png")
    expect = pg.colormap.get("CET-D1").map(np.array([0.0, 0.5, 1.0]), mode="byte")
    for x in range(3):
        assert close(pixel(image, x, 0), expect[x][:3], tol=3)
    grid.cmap_box.setCurrentText("viridis")
    assert grid.levels == (-1.0, 1.0)  # shared range of the data
    grid.export_image(tmp_path / "v.png")
    viridis = pg.colormap.get("viridis").map(np.array([1.0]), mode="byte")[0][:3]
    assert close(pixel(load_png(tmp_path / "v.png"), 2, 0), viridis, tol=3)


def test_per_channel_scaling_fills_each_channel(qtbot, tmp_path):
    item = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 100.0)]).astype(np.float32)
    item[0, 0, 0] = 0.0
    item[1, 0, 0] = 0.0
    grid = make_grid(qtbot, item)
    grid.cmap_box.setCurrentText("gray")
    grid.scale_box.setCurrentIndex(1)
    grid.export_image(tmp_path / "p.png")
    image = load_png(tmp_path / "p.png")
    assert pixel(image, 1, 1) == (255, 255, 255) and pixel(image, 4, 1) == (255, 255, 255)
    grid.scale_box.setCurrentIndex(0)
    grid.export_image(tmp_path / "s.png")
    assert close(pixel(load_png(tmp_path / "s.png"), 1, 1), (3, 3, 3), tol=2)


def test_hover_reads_out_layer_batch_channel_position_value(qtbot):
    item = np.arange(4 * 6 * 6, dtype=np.float32).reshape(4, 6, 6)
    grid = make_grid(qtbot, item)
    with qtbot.waitSignal(grid.unitHovered) as signal:
        hover_scene(qtbot, grid.image_widget, grid.scene_pos(3, (4, 5)))
    text = signal.args[0]
    assert text == grid.readout.text()
    assert text.startswith(f"conv1 (Conv2d) output[0, 3, 4, 5] = {item[3, 4, 5]:g}")
    assert "batch 0, channel 3, y 4, x 5" in text


def test_click_and_double_click_report_the_unit(qtbot):
    grid = make_grid(qtbot, np.random.default_rng(0).random((7, 9, 9), dtype=np.float32))
    with qtbot.waitSignal(grid.unitClicked) as signal:
        click_scene(qtbot, grid.image_widget, grid.scene_pos(5, (2, 8)))
    assert signal.args == [5, (2, 8)]
    with qtbot.waitSignal(grid.unitDoubleClicked) as signal:
        click_scene(qtbot, grid.image_widget, grid.scene_pos(6, (0, 1)), double=True)
    assert signal.args == [6, (0, 1)]


def test_hundreds_of_channels_are_paged(qtbot):
    item = np.random.default_rng(1).random((300, 8, 8), dtype=np.float32)
    grid = make_grid(qtbot, item)
    assert grid.pages == 5 and grid.mosaic.count == 64
    grid.page_box.setValue(5)  # as the user does
    assert (grid.mosaic.first, grid.mosaic.count) == (256, 44)
    assert "channels 256\u2013299 of 300" in grid.page_label.text()
    with qtbot.waitSignal(grid.unitClicked) as signal:
        click_scene(qtbot, grid.image_widget, grid.scene_pos(299, (7, 7)))
    assert signal.args == [299, (7, 7)]


def test_large_maps_stay_responsive(qtbot):
    item = np.random.default_rng(2).random((64, 512, 512), dtype=np.float32)
    grid = show(qtbot, ChannelGrid(), (800, 600))
    start = time.perf_counter()
    grid.set_data(item, "big", (0,), ("batch", "channel"))
    grid.scale_box.setCurrentIndex(1)
    grid.grab()
    assert time.perf_counter() - start < 3.0
    assert grid.mosaic.factor > 1  # drawn downsampled ...
    assert grid.readout_text(63, (511, 511)).endswith("x 511)")  # ... read out at full size


def test_one_d_maps_are_curves_one_band_per_channel(qtbot, tmp_path):
    item = np.sin(np.linspace(0, 6, 50, dtype=np.float32))[None].repeat(3, 0)
    grid = make_grid(qtbot, item)
    assert grid.kind == "curves" and grid.stack.currentWidget() is grid.plot_widget
    with qtbot.waitSignal(grid.unitClicked) as signal:
        click_scene(qtbot, grid.plot_widget, grid.scene_pos(1, (20,)))
    assert signal.args == [1, (20,)]
    assert "position 20" in grid.readout.text()
    assert grid.export_image(tmp_path / "curves.png")
    assert load_png(tmp_path / "curves.png").width() >= 640


def test_vectors_are_bars(qtbot):
    item = np.linspace(-1, 1, 10, dtype=np.float32)
    grid = show(qtbot, ChannelGrid(), (800, 600))
    grid.set_data(item, "fc (Linear) output", (0,), ("batch", "feature"))
    assert grid.kind == "vector" and grid.bars.isVisible()
    with qtbot.waitSignal(grid.unitClicked) as signal:
        click_scene(qtbot, grid.plot_widget, grid.scene_pos(7))
    assert signal.args == [7, ()]
    assert grid.readout.text().startswith(f"fc (Linear) output[0, 7] = {item[7]:g}")


def test_tiny_curves_have_whole_positions_markers_and_values(qtbot):
    item = np.array([[1.12, 0.601], [0.0597, 1.2], [0.777, 1.1]], dtype=np.float32)
    grid = make_grid(qtbot, item)  # (C, L) = (3, 2): three curves of two points
    assert grid.kind == "curves"
    axis = grid.plot.getAxis("bottom")
    ticks = [v for _spacing, values in axis.tickValues(-0.3, 1.3, 700) for v in values]
    assert ticks and all(float(v).is_integer() for v in ticks), ticks  # never 0.2, 0.8
    assert axis.tickStrings([0.0, 1.0], 1, 1) == ["0", "1"]
    assert grid.curve.opts["symbol"] == "o"  # a marker at each position
    labels = grid.values_text
    assert labels.texts() == ["1.12", "0.601", "0.0597", "1.2", "0.777", "1.1"]
    qtbot.waitUntil(lambda: (grid.plot_widget.grab(), labels.painted)[1] == 6)
    long = make_grid(qtbot, np.zeros((4, 1000), dtype=np.float32))
    assert long.curve.opts["symbol"] is None and long.values_text.texts() == []


def test_small_vectors_have_whole_feature_numbers_and_values(qtbot):
    grid = make_grid(qtbot, np.array([0.5, -0.25, 2.0], dtype=np.float32))
    assert grid.kind == "vector"
    assert grid.values_text.texts() == ["0.5", "-0.25", "2"]
    qtbot.waitUntil(lambda: (grid.plot_widget.grab(), grid.values_text.painted)[1] == 3)
