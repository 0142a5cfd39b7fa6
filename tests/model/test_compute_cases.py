"""Per-unit computations (model.compute), case by case: the edge cases of torch's semantics
('same' padding, padding sources, groups, the transpose's scatter, max pool ties and windows of
padding only, ceil_mode divisors, adaptive windows, MaxUnpool's shared winners, Dropout's
ambiguous zero, BatchNorm's biased variance), the term summary, the text, stepping through
units, and sentences through one translation hook."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convexplorer.model import compute as cm
from convexplorer.model.compute import (
    UnitError,
    compute_unit,
    step_unit,
    summarize_terms,
    units_in_map,
)
from convexplorer.model.shapes import infer

from .compute_checks import FILTER_SAME, L, Ran, check, make_input, padding_only_window

pytestmark = FILTER_SAME


# ---------------------------------------------------------------------------------------------
# torch's semantics, case by case


def test_same_padding_puts_the_extra_cell_on_the_right():
    """An even effective kernel under 'same' pads (k-1)//2 before and the rest after."""
    x = make_input((1, 1, 6), "normal", 1)
    ran = Ran([L("Conv1d", out_channels=1, kernel_size=4, padding="same")], x)
    first, last = check(ran, 0, (0, 0, 0)), check(ran, 0, (0, 0, 5))
    w = first.window[0]
    assert (w.pad_before, w.pad_after) == (1, 2)
    assert w.positions == (0, 1, 2, 3) and w.padding == (True, False, False, False)
    assert last.window[0].padding == (False, False, False, False, True, True)[-4:]
    assert [t.input_index for t in last.terms] == [(0, 0, 4), (0, 0, 5), None, None]


def test_reflect_replicate_circular_padding_cells_name_their_source():
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 5)
    expect = {"reflect": [2, 1], "replicate": [0, 0], "circular": [3, 4]}
    for mode, sources in expect.items():
        ran = Ran([L("Conv1d", out_channels=1, kernel_size=5, padding=2, padding_mode=mode)],
                  x.copy())
        bd = check(ran, 0, (0, 0, 0))
        pads = [t for t in bd.terms if t.input_index is None]
        assert [t.source_index[2] for t in pads] == sources, mode
        assert [t.padded_position for t in bd.terms] == [(p,) for p in range(5)]
        assert any(f"{mode} padding fills padded positions 0, 1" in s for s in bd.lines)


def test_conv_partial_sums_per_input_channel_of_the_group():
    x = make_input((1, 4, 5, 5), "normal", 2)
    ran = Ran([L("Conv2d", out_channels=6, kernel_size=3, groups=2, dilation=2, padding=1)], x)
    bd = check(ran, 0, (0, 4, 1, 0))
    assert list(bd.channel_sums) == [2, 3]  # output channel 4 is in group 1
    by_channel = {c: sum(t.product for t in bd.terms if t.input_index is not None
                         and t.input_index[1] == c) for c in (2, 3)}
    for c, s in bd.channel_sums.items():
        assert math.isclose(s, by_channel[c], abs_tol=1e-12)
    assert bd.window[1].positions == (0, 2, 4) and bd.window[1].padding == (True, False, False)
    assert bd.window[0].dilation == 2


def test_conv_transpose_scatter_pairs():
    """Output 3 of a stride-2 kernel-3 transpose with padding 1 gets input 1 via tap 2 and
    input 2 via tap 0 (i*2 - 1 + t = 3)."""
    x = make_input((1, 1, 4), "normal", 3)
    ran = Ran([L("ConvTranspose1d", out_channels=1, kernel_size=3, stride=2, padding=1,
                 output_padding=1)], x)
    bd = check(ran, 0, (0, 0, 3))
    assert bd.window[0].positions == (1, 2) and bd.window[0].kernel_taps == (2, 0)
    assert [t.weight_index for t in bd.terms] == [(0, 0, 2), (0, 0, 0)]
    last = check(ran, 0, (0, 0, 7))  # the output_padding cell: input 3 through tap 2
    assert last.window[0].positions == (3,) and last.window[0].kernel_taps == (2,)


def test_max_pool_ties_go_to_the_first_in_row_major_order():
    x = np.array([[[[1, 5, 5], [5, 0, 0], [0, 0, 5]]]], np.float32)
    ran = Ran([L("MaxPool2d", kernel_size=3, return_indices=True)], x)
    bd = check(ran, 0, (0, 0, 0, 0))
    assert bd.flat_index == bd.torch_index == 1
    assert any("4 values tie" in s for s in bd.lines)


def test_max_pool_window_of_padding_only_is_minus_infinity():
    """Dilation can put every tap of a window in the padding: torch gives -inf and an index
    where its scan would have started, past the map (forward only: torch's backward of such a
    pool writes out of bounds, see compute_checks.padding_only_window)."""
    x = make_input((2, 1, 1, 7), "normal", 4)
    specs = [L("MaxPool2d", kernel_size=(2, 1), stride=2, padding=(1, 0), dilation=(2, 1),
               ceil_mode=True, return_indices=True)]
    info = infer(specs, x.shape).layers[0]
    # the app refuses this layer (model.shapes: it crashes torch's backward); the breakdown
    # still copes with its forward
    assert [p.field for p in info.problems] == ["dilation"]
    with torch.no_grad():
        y, idx = F.max_pool2d(torch.from_numpy(x), (2, 1), 2, (1, 0), (2, 1), ceil_mode=True,
                              return_indices=True)
    y, idx = y.numpy(), idx.numpy()
    info.output_shape, info.problems = tuple(y.shape), []
    assert padding_only_window(info)
    assert y[1, 0, 0, 3] == -np.inf and idx[1, 0, 0, 3] == 13  # row 1 of a 1-row map
    bd = compute_unit(info, x, y, {}, (1, 0, 0, 3), pool_indices=idx)
    assert bd.recomputed == -math.inf and bd.terms == [] and bd.difference == 0.0
    assert bd.flat_index == bd.torch_index == 13
    assert bd.window[0].padding == (True, True)
    assert any("only padding" in s for s in bd.lines)


def test_avg_pool_ceil_mode_window_divides_by_its_part_in_the_padded_input():
    """The last window starts at 3 and would reach 5: clipped to the padded input (0..4 with one
    cell of padding each side) it has 2 cells, 1 of them input."""
    x = make_input((1, 1, 4), "normal", 5)
    for cip, divisor in ((True, 2), (False, 1)):
        ran = Ran([L("AvgPool1d", kernel_size=3, stride=2, padding=1, ceil_mode=True,
                     count_include_pad=cip)], x)
        bd = check(ran, 0, (0, 0, 2))
        assert bd.extra["divisor"] == divisor
        assert math.isclose(bd.recomputed, float(x[0, 0, 3]) / divisor, rel_tol=1e-6)
        assert bd.window[0].beyond == (False, False, True)
        assert len(bd.terms) == (2 if cip else 1)


def test_avg_pool_divisor_override():
    x = make_input((1, 1, 4, 4), "normal", 6)
    ran = Ran([L("AvgPool2d", kernel_size=2, padding=1, divisor_override=3)], x)
    bd = check(ran, 0, (0, 0, 0, 0))
    assert bd.extra["divisor"] == 3 and math.isclose(bd.recomputed, float(x[0, 0, 0, 0]) / 3,
                                                     rel_tol=1e-6)


def test_adaptive_windows_overlap_as_torch_picks_them():
    x = make_input((1, 1, 5), "normal", 7)
    ran = Ran([L("AdaptiveAvgPool1d", output_size=3)], x)
    starts = [(check(ran, 0, (0, 0, o)).window[0].start, check(ran, 0, (0, 0, o)).window[0].stop)
              for o in range(3)]
    assert starts == [(0, 2), (1, 4), (3, 5)]


def unpool_case_by_hand(values_after_pool):
    """A 1x5 input whose 3 overlapping windows (stride 1) all pick the centre; the pooled values
    are then replaced (as a layer between pool and unpool would) and unpooled with torch."""
    x = np.array([[[0, 1, 9, 1, 0]]], np.float32)
    pooled, idx = F.max_pool1d(torch.from_numpy(x), 3, 1, 1, return_indices=True)
    mid = torch.tensor([[values_after_pool]], dtype=torch.float32)
    y = F.max_unpool1d(mid, idx, 3, 1, 1, output_size=(5,))
    specs = [L("MaxPool1d", kernel_size=3, stride=1, padding=1, return_indices=True),
             L("Tanh"), L("MaxUnpool1d", kernel_size=3, stride=1, padding=1)]
    info = infer(specs, x.shape).layers[2]
    return info, mid.numpy(), y.numpy(), idx.numpy()


def test_unpool_overlapping_winners_keep_the_value_torch_kept():
    info, mid, y, idx = unpool_case_by_hand([1.0, 9.0, 9.0, 9.0, 1.0])
    bd = compute_unit(info, mid, y, {}, (0, 0, 2), pool_indices=idx)
    assert len(bd.candidates) == 3 and bd.recomputed == bd.value == 9.0
    assert any("all the same value" in s for s in bd.lines)
    info, mid, y, idx = unpool_case_by_hand([1.0, 7.0, 8.0, 6.0, 1.0])
    bd = compute_unit(info, mid, y, {}, (0, 0, 2), pool_indices=idx)
    assert bd.recomputed == bd.value and bd.value in (7.0, 8.0, 6.0)
    assert any("which one is not specified" in s for s in bd.lines)
    assert bd.terms[0].input_index in bd.candidates
    empty = compute_unit(info, mid, y, {}, (0, 0, 0), pool_indices=idx)
    assert empty.recomputed == empty.value == 0.0 and empty.candidates == ()
    assert any("No index of the pool points here" in s for s in empty.lines)


def test_dropout_reads_kept_dropped_and_ambiguous_from_the_arrays():
    x = np.array([[0.0, 1.0, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0]], np.float32)
    ran = Ran([L("Dropout", p=0.5)], x)
    y = ran.result.layers[0].activation
    kept = [j for j in range(1, 8) if y[0, j] != 0]
    dropped = [j for j in range(1, 8) if y[0, j] == 0]
    assert kept and dropped  # seed 0 keeps some and drops some
    assert check(ran, 0, (0, kept[0])).extra["kept"] == 1.0
    assert check(ran, 0, (0, dropped[0])).extra["kept"] == 0.0
    zero = check(ran, 0, (0, 0))
    assert "kept" not in zero.extra and any("cannot tell" in s for s in zero.lines)


def test_batch_norm_uses_the_biased_batch_variance():
    x = np.array([[1.0, 10.0], [3.0, 20.0], [8.0, 30.0]], np.float32)
    ran = Ran([L("BatchNorm1d", affine=False)], x)
    bd = check(ran, 0, (2, 0))
    assert math.isclose(bd.extra["mean"], 4.0) and math.isclose(bd.extra["var"], 26 / 3)
    assert bd.bias is None and bd.terms[0].weight_index is None


def test_flatten_and_linear_on_a_higher_rank():
    x = make_input((2, 3, 4, 5), "normal", 8)
    ran = Ran([L("Flatten", start_dim=1, end_dim=2), L("Linear", out_features=3)], x)
    flat = check(ran, 0, (1, 7, 2))
    assert flat.terms[0].input_index == (1, 1, 3, 2)  # 7 = 1*4 + 3
    lin = check(ran, 1, (1, 11, 2))
    assert len(lin.terms) == 5 and lin.terms[0].input_index == (1, 11, 0)
    assert lin.terms[0].weight_index == (2, 0)


def test_term_summary_keeps_the_largest_and_sums_the_rest():
    x = make_input((1, 320), "normal", 9)
    ran = Ran([L("Linear", out_features=4)], x)
    bd = check(ran, 0, (0, 1))
    whole = summarize_terms(bd, 400)
    assert whole.complete and len(whole.shown) == 320
    s = bd.summary(64)
    assert len(s.shown) == 63 and s.rest_count == 257
    assert math.isclose(sum(t.product for t in s.shown) + s.rest_sum, float(bd.products.sum()),
                        abs_tol=1e-9)
    smallest_shown = min(abs(t.product) for t in s.shown)
    shown = {t.input_index for t in s.shown}
    assert all(abs(t.product) <= smallest_shown for t in bd.terms if t.input_index not in shown)
    assert any(line.startswith("The other 305 products add up to") for line in bd.lines)


def test_text_is_plain_sentences_with_four_decimals():
    x = np.array([[[[0.5, -1.0], [2.0, 0.25]]]], np.float32)
    ran = Ran([L("Conv2d", out_channels=1, kernel_size=2)], x)
    bd = check(ran, 0, (0, 0, 0, 0))
    text = bd.text()
    assert "0.5000×" in text and "(-1.0000)" in text
    assert text.splitlines()[-1].startswith("torch gives ")


# ---------------------------------------------------------------------------------------------
# Stepping through a channel's positions


def test_step_unit_walks_a_channel_row_major():
    shape = (2, 3, 2, 3)
    assert step_unit(shape, (1, 2, 0, 2)) == (1, 2, 1, 0)
    assert step_unit(shape, (1, 2, 1, 0), -1) == (1, 2, 0, 2)
    assert step_unit(shape, (1, 2, 1, 2)) is None
    assert step_unit(shape, (1, 2, 1, 2), wrap=True) == (1, 2, 0, 0)
    assert step_unit(shape, (1, 2, 0, 0), -1, wrap=True) == (1, 2, 1, 2)
    assert list(units_in_map(shape, (1, 2, 1, 1)))[:2] == [(1, 2, 0, 0), (1, 2, 0, 1)]
    assert len(list(units_in_map(shape, (0, 0, 0, 0)))) == 6
    assert step_unit((4, 7), (2, 6)) is None and step_unit((4, 7), (2, 5)) == (2, 6)
    assert step_unit((1, 2, 5), (0, 1, 1), 3) == (0, 1, 4)


# ---------------------------------------------------------------------------------------------
# Sentences go through one translation hook, whole


class Marked:
    """A stand-in translation that marks every template it is asked for."""

    asked: list[str] = []

    def gettext(self, template: str) -> str:
        self.asked.append(template)
        return "«" + template + "»"


def test_every_line_is_one_translated_template():
    x = make_input((2, 2, 5, 5), "normal", 10)
    stack = [L("Conv2d", out_channels=2, kernel_size=3, padding=1, padding_mode="reflect"),
             L("BatchNorm2d"), L("MaxPool2d", kernel_size=2, return_indices=True),
             L("Dropout"), L("MaxUnpool2d", kernel_size=2), L("AvgPool2d", kernel_size=2),
             L("Flatten"), L("Linear", out_features=2), L("GELU")]
    ran = Ran(stack, x)
    marked = Marked()
    cm.set_translation(marked)
    try:
        for i in range(len(stack)):
            bd = ran.unit(i, tuple(0 for _ in ran.result.layers[i].output_shape))
            for line in bd.lines:
                assert line.startswith("«") and line.endswith("»"), line
                assert line.count("«") == 1, line  # one template per line, not glued pieces
        with pytest.raises(UnitError) as err:
            ran.unit(0, (0, 9, 0, 0))
        assert str(err.value).startswith("«") and "«channel»" in str(err.value)
    finally:
        cm.set_translation(None)
    # templates, not text with numbers already filled in
    assert marked.asked and not [t for t in marked.asked if re.search(r"\d\.\d{4}", t)]
