"""The numpy side of the panels: scaling, mosaics, downsampling, win counts, influence."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from convexplorer.gui.panels.data import (
    DISPLAY_BUDGET,
    batch_item,
    compose,
    downsample,
    influence,
    influence_display,
    page_layout,
    quantize,
    scale,
    to_rgb,
    win_counts,
    win_overlay,
)


def test_shared_scale_keeps_values_and_uses_the_range():
    a = np.array([[[-2.0, 1.0]], [[0.5, 3.0]]], dtype=np.float32)
    values, levels = scale(a, per_channel=False, diverging=False)
    assert levels == (-2.0, 3.0)
    assert np.array_equal(values, a)
    _values, levels = scale(a, per_channel=False, diverging=True)
    assert levels == (-3.0, 3.0)  # symmetric: 0 sits in the middle of the colour map


def test_per_channel_scale_maps_each_channel_onto_0_1():
    a = np.array([[[-2.0, 1.0]], [[0.5, 3.0]]], dtype=np.float32)
    values, levels = scale(a, per_channel=True, diverging=False)
    assert levels == (0.0, 1.0)
    assert np.allclose(values, [[[0, 1]], [[0, 1]]])
    values, levels = scale(a, per_channel=True, diverging=True)
    assert np.allclose(values, [[[-1, 0.5]], [[0.5 / 3, 1]]]) and levels == (-1.0, 1.0)


def test_constant_map_gets_a_nonempty_range():
    _v, (lo, hi) = scale(np.zeros((2, 3, 3), np.float32), False, False)
    assert hi > lo


def test_mosaic_hit_and_origin_round_trip():
    m = page_layout(10, 5, 7, page=0)
    assert (m.rows, m.cols, m.factor) == (3, 4, 1)
    for ch in range(10):
        y, x = m.origin(ch)
        assert m.hit(y + 4, x + 6) == (ch, (4, 6))
    assert m.hit(5, 0) is None  # the gap row below the first row of maps
    assert m.hit(2 * 6 + 1, 2 * 8 + 1) is None  # cell 10 does not exist


def test_pages_hold_64_channels():
    m = page_layout(300, 4, 4, page=4)
    assert (m.first, m.count) == (256, 44)
    assert m.hit(*m.origin(299)) == (299, (0, 0))


def test_big_pages_are_downsampled_but_keep_data_coordinates():
    m = page_layout(64, 512, 512, page=0)
    assert m.factor > 1
    maps = np.random.default_rng(0).random((64, 512, 512), dtype=np.float32)
    mosaic = compose(maps, m)
    assert mosaic.size <= DISPLAY_BUDGET * 1.2
    y, x = m.origin(37)
    assert m.hit(y + 511, x + 300) == (37, (511, 300))


def test_compose_puts_maps_in_cells_with_nan_gaps():
    maps = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    m = page_layout(3, 2, 2, page=0)
    out = compose(maps, m)
    assert out.shape == (2 * 3 - 1, 2 * 3 - 1)
    assert np.array_equal(out[0:2, 3:5], maps[1])
    assert np.isnan(out[2]).all()


def test_quantize_gives_colour_table_indices_with_zero_for_gaps():
    values = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]], dtype=np.float32)
    q = quantize(values, (0.0, 1.0))
    assert q.dtype == np.uint8
    assert q.tolist() == [[1, 1, 128, 255, 255, 0]]  # clipped at both ends, NaN transparent
    gaps = compose(quantize(np.ones((3, 2, 2), np.float32), (0.0, 1.0)),
                   page_layout(3, 2, 2, page=0), fill=0)
    assert gaps.dtype == np.uint8 and (gaps[2] == 0).all() and (gaps[0:2, 0:2] == 255).all()
    # infinite levels or values: no warning (warnings are errors here), nothing drawn wrongly
    inf = np.array([[np.inf, -np.inf, 0.0]], dtype=np.float32)
    assert quantize(inf, (0.0, 1.0)).tolist() == [[255, 1, 1]]
    assert quantize(inf, (-np.inf, np.inf)).tolist() == [[0, 0, 0]]


def test_downsample_is_a_block_mean():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    assert np.array_equal(downsample(a, 2)[0], [[2.5, 4.5], [10.5, 12.5]])


def test_to_rgb_uses_the_lookup_table_and_gap_colour():
    lut = np.array([[0, 0, 0, 255], [255, 255, 255, 255]], dtype=np.uint8)
    rgb = to_rgb(np.array([[0.0, 1.0, np.nan]]), (0.0, 1.0), lut)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 1].tolist() == [255, 255, 255]
    assert rgb[0, 2].tolist() == [40, 40, 40]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_win_counts_equal_a_recount(seed):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, 30, size=(5, 4))
    recount = Counter(int(i) for i in indices.ravel())
    counts = win_counts(indices, 30)
    assert [counts[i] for i in range(30)] == [recount.get(i, 0) for i in range(30)]
    overlay = win_overlay(counts)
    assert (overlay[counts == 0][:, 3] == 0).all() and (overlay[counts > 0][:, 3] > 0).all()


def test_influence_marks_exactly_the_nonzero_gradients():
    g = np.zeros((1, 2, 3, 3), dtype=np.float32)
    g[0, 0, 1, 1] = 1e-6
    g[0, 1, 0, 2] = -5.0
    strength = influence(g, 0)
    shown = influence_display(strength)
    assert set(zip(*np.nonzero(shown))) == {(1, 1), (0, 2)}
    assert shown[1, 1] >= 0.3  # a tiny gradient stays visible


def test_batch_item_of_5d_and_1d_arrays():
    assert batch_item(np.zeros((2, 3, 4, 5, 6)), 1).shape == (3, 5, 6)
    assert batch_item(np.zeros(7), 0).shape == (7,)
