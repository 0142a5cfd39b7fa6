"""Explanations of conv/pool layers: the user's numbers, and geometry that agrees with torch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexplorer.model.explain import (
    explain,
    footprint,
    group_blocks,
    inputs_of,
    ranges,
    receptive_boxes,
    window_dims,
    window_taps,
)
from convexplorer.model.shapes import infer
from convexplorer.model.spec import LayerSpec

L = LayerSpec.make


def text_of(info) -> str:
    return "\n".join("\n".join([s.title, *s.code, *s.text]) for s in explain(info))


def test_formula_worked_through_with_the_users_numbers():
    info = infer([L("Conv2d", out_channels=4, kernel_size=5, stride=2, padding=1,
                    dilation=2)], (1, 3, 28, 30)).layers[0]
    text = text_of(info)
    assert info.output_shape == (1, 4, 11, 12)
    assert "floor((28 + 2*1 - 2*(5-1) - 1) / 2) + 1" in text
    assert "floor(21 / 2) + 1 = 10 + 1 = 11" in text
    assert "floor((30 + 2*1 - 2*(5-1) - 1) / 2) + 1" in text
    assert "The kernel spans 2*(5-1)+1 = 9 rows (kernel_size 5 spread out by dilation 2)" in text
    assert "floor drops the remainder of 1 row" in text


def test_footprint_with_and_without_dilation():
    assert footprint(3, 1) == [0, 1, 2] and footprint(3, 2) == [0, 2, 4]
    info = infer([L("Conv1d", out_channels=1, kernel_size=3, dilation=3)], (1, 1, 20)).layers[0]
    text = text_of(info)
    assert "dilation 3 spreads the 3 taps over 7 positions (offsets 0, 3, 6), skipping 1\u20132, " \
           "4\u20135" in text
    assert "Without dilation the same 3 weights would read offsets 0\u20132" in text


def test_groups_connect_each_output_group_to_its_input_group():
    assert group_blocks(8, 4, 2) == [(range(0, 4), range(0, 2)), (range(4, 8), range(2, 4))]
    assert inputs_of(3, 8, 4, 2) == range(4, 8)
    info = infer([L("Conv2d", out_channels=8, kernel_size=3, groups=4)], (1, 8, 6, 6)).layers[0]
    text = text_of(info)
    assert "groups=4 splits in_channels=8 into 4 groups of 2" in text
    assert "group 1: output channels 2\u20133 \u2190 input channels 2\u20133" in text
    assert "weight: torch.Size([8, 2, 3, 3]) = 144 weights" in text
    assert "4x fewer weights and multiply-adds than groups=1 (576 weights)" in text
    assert "depthwise" not in text
    depthwise = infer([L("Conv2d", out_channels=8, kernel_size=3, groups=8)],
                      (1, 8, 6, 6)).layers[0]
    assert "groups = in_channels = 8: a depthwise convolution" in text_of(depthwise)


def test_ceil_mode_extra_window_and_the_start_rule():
    kept = infer([L("MaxPool2d", kernel_size=3, stride=2, ceil_mode=True)],
                 (1, 1, 12, 12)).layers[0]
    dims = window_dims(kept)
    assert (dims[0].floor_out, dims[0].ceil_out, dims[0].out) == (5, 6, 6)
    text = text_of(kept)
    assert "ceil rounds 5 up to 6: the extra window 5 starts at row 10 and would reach 12" in text
    assert "partial window over rows 10\u201311" in text
    assert "5*2 = 10 < 12 + 0 = 12, so it is kept" in text
    dropped = infer([L("MaxPool1d", kernel_size=2, stride=2, padding=1, ceil_mode=True)],
                    (1, 1, 5)).layers[0]
    dim = window_dims(dropped)[0]
    assert (dim.ceil_out, dim.out) == (4, 3) and dropped.output_shape == (1, 1, 3)
    text = text_of(dropped)
    assert "window 3 would start at position 5, in the right padding" in text
    assert "3*2 = 6 >= 5 + 1 = 6, so torch drops it: 3 windows" in text
    assert "-> 3 (the last window would start in the right padding)" in text


def test_floor_mode_hints_at_ceil_mode():
    info = infer([L("MaxPool2d", kernel_size=2)], (1, 1, 7, 7)).layers[0]
    text = text_of(info)
    assert "ceil_mode=True would give 4 instead of 3" in text
    assert "input row 6 is never read" in text


def test_rows_never_covered_when_stride_does_not_divide():
    info = infer([L("Conv2d", out_channels=1, kernel_size=3, stride=2)], (1, 1, 28, 28)).layers[0]
    assert window_dims(info)[0].uncovered() == [27]
    text = text_of(info)
    assert "Along H: input row 27 is never read. The last window covers rows 24\u201326" in text
    assert "(25 is not a multiple of 2)" in text
    gaps = infer([L("Conv1d", out_channels=1, kernel_size=2, stride=3)], (1, 1, 11)).layers[0]
    assert window_dims(gaps)[0].uncovered() == [2, 5, 8]
    assert "positions 2, 5, 8 are skipped between windows: stride 3 is larger than the " \
           "kernel's span 2" in text_of(gaps)


def test_padding_same_is_split_like_torch():
    info = infer([L("Conv1d", out_channels=1, kernel_size=4, padding="same")],
                 (1, 1, 9)).layers[0]
    dim = window_dims(info)[0]
    assert (dim.pl, dim.pr, dim.out) == (1, 2, 9)  # torch pads total//2 left, the rest right


def test_window_taps_with_padding_and_dilation_stay_inside_the_input():
    info = infer([L("MaxPool2d", kernel_size=3, stride=2, padding=1, dilation=2)],
                 (1, 1, 9, 9)).layers[0]
    assert window_taps(info, (0, 2)) == [[1, 3], [3, 5, 7]]


def test_ranges_compresses_runs():
    assert ranges([1, 2, 3, 7, 9, 10]) == "1\u20133, 7, 9\u201310"
    assert ranges(list(range(0, 40, 2)), limit=3) == "0, 2, 4, ... (20 in all)"


@pytest.mark.parametrize("layers, size", [
    ([L("Conv2d", out_channels=2, kernel_size=3, dilation=2),
      L("MaxPool2d", kernel_size=2, stride=2),
      L("Conv2d", out_channels=2, kernel_size=3, stride=2)], (1, 1, 64, 64)),
    ([L("Conv1d", out_channels=2, kernel_size=5, stride=3), L("ReLU"),
      L("AvgPool1d", kernel_size=3)], (1, 1, 200)),
])
def test_receptive_box_of_a_central_unit_has_the_receptive_field_size(layers, size):
    report = infer(layers, size)
    last = report.layers[-1]
    centre = tuple(n // 2 for n in last.output_shape[2:])
    boxes = receptive_boxes(report, len(layers) - 1, centre)
    assert len(boxes) == len(layers) + 1 and boxes[-1] == tuple((c, c) for c in centre)
    sizes = tuple(float(hi - lo + 1) for lo, hi in boxes[0])
    assert sizes == last.receptive_field.size


def test_receptive_box_stops_at_flatten():
    report = infer([L("Conv2d", out_channels=1, kernel_size=3), L("Flatten"),
                    L("Linear", out_features=2)], (1, 1, 6, 6))
    assert receptive_boxes(report, 0, (1, 1))[0] == ((1, 3), (1, 3))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 30), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 2),
       d=st.integers(1, 3))
def test_uncovered_positions_are_exactly_those_torch_gives_no_gradient(n, k, s, p, d):
    torch = pytest.importorskip("torch")
    if d * (k - 1) + 1 > n + 2 * p:
        return
    info = infer([L("Conv1d", out_channels=1, kernel_size=k, stride=s, padding=p, dilation=d,
                    bias=False)], (1, 1, n)).layers[0]
    conv = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    torch.nn.init.ones_(conv.weight)
    x = torch.ones(1, 1, n, requires_grad=True)
    conv(x).sum().backward()
    dim = window_dims(info)[0]
    assert dim.out == info.output_shape[2]
    assert dim.uncovered() == [i for i in range(n) if x.grad[0, 0, i] == 0]
    assert dim.coverage() == [int(v) for v in x.grad[0, 0]]
