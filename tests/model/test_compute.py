"""Per-unit computations (model.compute) against torch itself: for random configs of every
catalogue type, a real run (engine.run, training mode) and NumPy's recomputation of random units
agree, their terms add up to torch's value, max pools find torch's return_indices; plus the
edge cases of torch's semantics one by one, unit errors, stepping and the term summary.

Example counts stay small by default (the suite runs on 2 cores); CX_FUZZ=long runs many more.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convexplorer.engine.build import SAME_PADDING_WARNING
from convexplorer.engine.run import run
from convexplorer.model import compute as cm
from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.compute import (
    REGISTRY,
    UnitError,
    check_unit,
    compute_unit,
    step_unit,
    summarize_terms,
    units_in_map,
)
from convexplorer.model.config_io import layer_from_dict
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec

pytestmark = pytest.mark.filterwarnings(f"ignore:{SAME_PADDING_WARNING}:UserWarning")

LONG = os.environ.get("CX_FUZZ") == "long"
BN_HAS_BIAS = "bias" in inspect.signature(torch.nn.BatchNorm1d.__init__).parameters
L = LayerSpec.make


def _settings(n: int, long_n: int = 1500):
    return settings(max_examples=long_n if LONG else n, deadline=None, derandomize=not LONG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ---------------------------------------------------------------------------------------------
# Running a stack and checking units


class Ran:
    """A real run of ``layers`` on ``x``, with the shape report the GUI would hold."""

    def __init__(self, layers: list[LayerSpec], x: np.ndarray, seed: int = 0):
        self.report = infer(layers, x.shape)
        assert self.report.ok, [str(p) for p in self.report.problems]
        self.result = run(Config(layers=tuple(layers), input=InputSpec(shape=x.shape),
                                 seed=seed), input_array=x)

    def args(self, i: int):
        """compute_unit's arguments for layer ``i`` (its input is the previous output)."""
        lr = self.result.layers[i]
        x = self.result.input if i == 0 else self.result.layers[i - 1].activation
        indices = lr.indices
        if lr.indices_from is not None:
            indices = self.result.layers[lr.indices_from].indices
        return self.report.layers[i], x, lr.activation, lr.params, indices

    def unit(self, i: int, unit, **kwargs):
        info, x, y, params, indices = self.args(i)
        return compute_unit(info, x, y, params, unit, pool_indices=indices, **kwargs)


def make_input(shape, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "ints":  # small whole numbers: ties for max pools and shared unpool winners
        return rng.integers(-3, 4, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def check(ran: Ran, i: int, unit) -> cm.Breakdown:
    """The breakdown of ``unit`` agrees with torch, its terms index the right arrays and add
    up to the value, and it serialises."""
    info, x, y, params, indices = ran.args(i)
    bd = compute_unit(info, x, y, params, unit, pool_indices=indices)
    assert bd.unit == tuple(unit) and bd.value == float(y[tuple(unit)])
    products = bd.products
    magnitude = abs(bd.value) + float(np.abs(products).sum()) + abs(bd.bias or 0.0)
    tol = 1e-5 + 1e-4 * magnitude
    if bd.kind == "batch_norm":  # x - mean in float32 loses digits relative to the std
        tol += 1e-5 * (abs(float(x[tuple(unit)])) + abs(bd.extra["mean"])) / bd.extra["std"]
    assert bd.recomputed == bd.value or abs(bd.recomputed - bd.value) <= tol, bd.text()
    assert bd.difference == (0.0 if bd.recomputed == bd.value else bd.recomputed - bd.value)
    if bd.reduce == "sum":
        assert abs(float(products.sum()) + (bd.bias or 0.0) - bd.value) <= tol, bd.text()
    else:
        assert bd.recomputed == bd.value, bd.text()
        if len(products):
            assert float(products.max()) == bd.value
    w = params.get("weight")
    for t in bd.terms:
        if t.input_index is not None:
            assert float(x[t.input_index]) == t.input_value
        elif t.source_index is not None:
            assert float(x[t.source_index]) == t.input_value
        elif bd.kind in ("conv", "avg_pool"):
            assert t.input_value == 0.0  # zero padding
        if t.weight_index is not None:
            assert float(w[t.weight_index]) == t.weight_value
    doc = json.loads(json.dumps(bd.to_json()))
    assert {"layer", "unit", "value", "recomputed", "bias", "terms"} <= set(doc)
    assert len(doc["terms"]) == len(bd.terms)
    assert all({"input_index", "input_value", "weight_index", "weight_value", "product"}
               <= set(t) for t in doc["terms"])
    assert bd.lines and all(isinstance(s, str) and s for s in bd.lines)
    assert bd.text().splitlines()[0].startswith(info.label)
    return bd


def some_units(data, shape, n: int = 3) -> list[tuple[int, ...]]:
    """A few random units, and the last one (where ceil_mode's partial windows are)."""
    units = [tuple(s - 1 for s in shape)]
    for _ in range(n):
        units.append(tuple(data.draw(st.integers(0, s - 1)) for s in shape))
    return units


def run_and_check(data, layers: list[dict], shape, kind: str, which: int = -1, n: int = 3):
    specs = [layer_from_dict(d, i) for i, d in enumerate(layers)]
    assume(infer(specs, shape).ok)
    ran = Ran(specs, make_input(shape, kind, data.draw(st.integers(0, 2**16))),
              seed=data.draw(st.integers(0, 3)))
    i = which % len(layers)
    out = ran.result.layers[i].output_shape
    return ran, [check(ran, i, u) for u in some_units(data, out, n)]


# ---------------------------------------------------------------------------------------------
# Strategies: one layer type at a time, with the keywords that change its arithmetic


def size(draw, dims: int, lo: int, hi: int):
    if dims > 1 and draw(st.booleans()):
        return [draw(st.integers(lo, hi)) for _ in range(dims)]
    return draw(st.integers(lo, hi))


def spatial_shape(draw, dims: int, channels: int, lo: int = 1, hi: int = 9):
    return (draw(st.integers(1, 2)), channels) + tuple(draw(st.integers(lo, hi))
                                                       for _ in range(dims))


DATA = st.sampled_from(["normal", "normal", "ints"])


@st.composite
def conv_case(draw, transpose: bool = False):
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    d = {"type": f"ConvTranspose{dims}d" if transpose else f"Conv{dims}d",
         "out_channels": groups * draw(st.integers(1, 2)), "kernel_size": size(draw, dims, 1, 4),
         "groups": groups, "bias": draw(st.booleans())}
    if draw(st.booleans()):
        d["dilation"] = size(draw, dims, 1, 3)
    if transpose:
        d["stride"] = size(draw, dims, 1, 3)
        d["padding"] = size(draw, dims, 0, 2)
        d["output_padding"] = size(draw, dims, 0, 2)
    else:
        pad = draw(st.sampled_from(["int", "int", "same", "valid"]))
        if pad == "int":
            d["padding"] = size(draw, dims, 0, 3)
            d["stride"] = size(draw, dims, 1, 3)
        else:
            d["padding"] = pad
        d["padding_mode"] = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    shape = spatial_shape(draw, dims, groups * draw(st.integers(1, 2)))
    return [d], shape


@st.composite
def max_pool_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    k = size(draw, dims, 1, 4)
    d = {"type": f"MaxPool{dims}d", "kernel_size": k, "return_indices": draw(st.booleans()),
         "ceil_mode": draw(st.booleans())}
    if draw(st.booleans()):
        d["stride"] = size(draw, dims, 1, 3)
    kk = k if isinstance(k, list) else [k] * dims
    if draw(st.booleans()):
        d["padding"] = [draw(st.integers(0, v // 2)) for v in kk]
    if draw(st.booleans()):
        d["dilation"] = size(draw, dims, 1, 3)
    return [d], spatial_shape(draw, dims, draw(st.integers(1, 3)))


@st.composite
def avg_pool_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    k = size(draw, dims, 1, 4)
    d = {"type": f"AvgPool{dims}d", "kernel_size": k, "ceil_mode": draw(st.booleans()),
         "count_include_pad": draw(st.booleans())}
    if draw(st.booleans()):
        d["stride"] = size(draw, dims, 1, 3)
    kk = k if isinstance(k, list) else [k] * dims
    if draw(st.booleans()):
        d["padding"] = [draw(st.integers(0, v // 2)) for v in kk]
    if dims == 2 and draw(st.booleans()):
        d["divisor_override"] = draw(st.integers(1, 7))
    return [d], spatial_shape(draw, dims, draw(st.integers(1, 3)))


@st.composite
def adaptive_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    kind = draw(st.sampled_from(["Max", "Avg"]))
    out = [draw(st.one_of(st.none(), st.integers(1, 6))) for _ in range(dims)]
    if dims == 1 and out[0] is None:
        out[0] = draw(st.integers(1, 6))  # AdaptivePool1d needs a size
    d = {"type": f"Adaptive{kind}Pool{dims}d", "output_size": out if dims > 1 else out[0]}
    if kind == "Max":
        d["return_indices"] = draw(st.booleans())
    return [d], spatial_shape(draw, dims, draw(st.integers(1, 3)))


MIDDLE = [{"type": "Dropout", "p": 0.5}, {"type": "Tanh"}, {"type": "LeakyReLU"}]


@st.composite
def unpool_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    k = draw(st.integers(1, 4))
    pool = {"type": f"MaxPool{dims}d", "kernel_size": k, "return_indices": True,
            "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, k // 2)),
            "ceil_mode": draw(st.booleans())}
    unpool = {"type": f"MaxUnpool{dims}d", "kernel_size": k, "stride": pool["stride"],
              "padding": pool["padding"]}
    middle = draw(st.lists(st.sampled_from(MIDDLE), max_size=1))
    return [pool, *middle, unpool], spatial_shape(draw, dims, draw(st.integers(1, 2)), 2, 9)


@st.composite
def norm_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    d = {"type": f"BatchNorm{dims}d", "affine": draw(st.booleans())}
    if draw(st.booleans()):
        d["eps"] = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    if draw(st.booleans()):
        d["momentum"] = draw(st.one_of(st.none(), st.floats(0.0, 1.0)))
    if BN_HAS_BIAS and d["affine"] and draw(st.booleans()):
        d["bias"] = False
    if dims == 1 and draw(st.booleans()):  # (N, C)
        shape = (draw(st.integers(2, 4)), draw(st.integers(1, 4)))
    else:
        shape = spatial_shape(draw, dims, draw(st.integers(1, 4)), 1, 6)
    return [d], shape


@st.composite
def elementwise_case(draw):
    name = draw(st.sampled_from(["ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Dropout"]))
    d: dict = {"type": name}
    if name == "LeakyReLU":
        d["negative_slope"] = draw(st.floats(0.0, 2.0))
    if name == "GELU":
        d["approximate"] = draw(st.sampled_from(["none", "tanh"]))
    if name == "Dropout":
        d["p"] = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    rank = draw(st.integers(2, 4))
    return [d], tuple(draw(st.integers(1, 4)) for _ in range(rank))


@st.composite
def reshape_case(draw):
    rank = draw(st.integers(2, 4))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    if draw(st.booleans()):
        d = {"type": "Linear", "out_features": draw(st.integers(1, 5)),
             "bias": draw(st.booleans())}
    else:
        d = {"type": "Flatten", "start_dim": draw(st.integers(-rank, rank - 1)),
             "end_dim": draw(st.integers(-rank, rank - 1))}
    return [d], shape


# ---------------------------------------------------------------------------------------------
# Property tests: every type against torch


@_settings(40)
@given(conv_case(), DATA, st.data())
def test_conv_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


@_settings(30)
@given(conv_case(transpose=True), DATA, st.data())
def test_conv_transpose_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


@_settings(40)
@given(max_pool_case(), DATA, st.data())
def test_max_pool_units_match_torch_and_its_indices(case, kind, data):
    layers, shape = case
    ran, bds = run_and_check(data, layers, shape, kind)
    indices = ran.result.layers[0].indices
    if indices is None:  # the same layer with return_indices gives torch's argmax
        mod = torch.nn.functional.max_pool2d if len(shape) == 4 else F.max_pool1d
        kw = dict(ran.report.layers[0].kwargs, return_indices=True)
        _, idx = mod(torch.from_numpy(ran.result.input), **kw)
        indices = idx.numpy()
    for bd in bds:
        assert bd.flat_index == int(indices[bd.unit]), bd.text()
        if bd.torch_index is not None:
            assert bd.torch_index == bd.flat_index


@_settings(40)
@given(avg_pool_case(), DATA, st.data())
def test_avg_pool_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


@_settings(30)
@given(adaptive_case(), DATA, st.data())
def test_adaptive_pool_units_match_torch(case, kind, data):
    ran, bds = run_and_check(data, *case, kind)
    indices = ran.result.layers[0].indices
    for bd in bds:
        assert bd.kind.startswith("adaptive_")
        if indices is not None:
            assert bd.flat_index == int(indices[bd.unit]) == bd.torch_index


@_settings(30)
@given(unpool_case(), DATA, st.data())
def test_max_unpool_units_match_torch(case, kind, data):
    layers, shape = case
    ran, bds = run_and_check(data, layers, shape, kind, n=5)
    pooled = ran.result.layers[0].indices
    for bd in bds:
        b, c = bd.unit[:2]
        hits = int(np.sum(pooled[b, c] == bd.flat_index))
        assert len(bd.candidates) == hits
        assert len(bd.terms) == (1 if hits else 0)
        if not hits:
            assert bd.value == 0.0


@_settings(30)
@given(norm_case(), st.data())
def test_batch_norm_units_match_torch(case, data):
    run_and_check(data, *case, "normal")


@_settings(40)
@given(elementwise_case(), DATA, st.data())
def test_elementwise_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


@_settings(30)
@given(reshape_case(), DATA, st.data())
def test_linear_and_flatten_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


@_settings(15)
@given(st.sampled_from([1, 2]), st.data())
def test_unit_outside_the_output_names_the_valid_range(dims, data):
    layers, shape = data.draw(st.one_of(conv_case(), max_pool_case(), avg_pool_case(),
                                        norm_case(), elementwise_case(), reshape_case()))
    specs = [layer_from_dict(d, i) for i, d in enumerate(layers)]
    assume(infer(specs, shape).ok)
    ran = Ran(specs, make_input(shape, "normal", 0))
    out = ran.result.layers[0].output_shape
    j = data.draw(st.integers(0, len(out) - 1))
    unit = [0] * len(out)
    unit[j] = data.draw(st.sampled_from([out[j], out[j] + 3, -1]))
    with pytest.raises(UnitError) as err:
        ran.unit(0, unit)
    msg = str(err.value)
    assert f"is outside 0..{out[j] - 1} of torch.Size({list(out)})" in msg, msg
    assert msg.startswith(ran.report.layers[0].label) and msg.count(". ") == 0


# ---------------------------------------------------------------------------------------------
# The registry


def test_every_catalogue_type_has_a_computation():
    assert set(REGISTRY) == set(CATALOGUE)
    for family in cm.FAMILIES:  # found the same way for every type
        assert family.TYPES and callable(family.compute)
        assert all(REGISTRY[t] is family.compute for t in family.TYPES)


def test_unknown_type_is_a_unit_error():
    info = infer([L("ReLU")], (1, 2)).layers[0]
    info.spec = LayerSpec("Softmax")
    with pytest.raises(UnitError, match="no per-unit computation for Softmax"):
        compute_unit(info, np.zeros((1, 2), np.float32), np.zeros((1, 2), np.float32), {}, (0, 0))


# ---------------------------------------------------------------------------------------------
# Unit errors


def test_unit_error_message_as_the_gui_shows_it():
    with pytest.raises(UnitError) as err:
        check_unit("conv1 (Conv2d)", (1, 10, 24, 24), (0, 12, 3, 3))
    assert str(err.value) == ("conv1 (Conv2d) unit [0, 12, 3, 3]: channel 12 is outside 0..9 of "
                              "torch.Size([1, 10, 24, 24]).")
    with pytest.raises(UnitError, match=r"give 4 indices \(batch, channel, row, column\)"):
        check_unit("conv1 (Conv2d)", (1, 10, 24, 24), (0, 1))
    with pytest.raises(UnitError, match="feature 5 is outside 0..4"):
        check_unit("fc (Linear)", (2, 5), (1, 5), vector_last=True)
    with pytest.raises(UnitError, match="position 7 is outside 0..6"):
        check_unit("c (Conv1d)", (1, 1, 7), (0, 0, 7))
    assert check_unit("c (Conv1d)", (1, 1, 7), [np.int64(0), 0, 6]) == (0, 0, 6)


def test_missing_arrays_are_unit_errors():
    x = make_input((1, 2, 5, 5), "normal", 0)
    ran = Ran([L("Conv2d", out_channels=2, kernel_size=3),
               L("MaxPool2d", kernel_size=2, return_indices=True),
               L("MaxUnpool2d", kernel_size=2)], x)
    info, xin, y, _params, _ = ran.args(0)
    with pytest.raises(UnitError, match="has no weight array"):
        compute_unit(info, xin, y, {}, (0, 0, 0, 0))
    with pytest.raises(UnitError, match="the input given is torch.Size"):
        compute_unit(info, xin[:, :1], y, ran.result.layers[0].params, (0, 0, 0, 0))
    info, xin, y, params, _ = ran.args(2)
    with pytest.raises(UnitError, match="needs the indices of the max pool"):
        compute_unit(info, xin, y, params, (0, 0, 0, 0))


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
    where its scan would have started."""
    x = make_input((1, 1, 2), "normal", 4)
    ran = Ran([L("MaxPool1d", kernel_size=2, dilation=3, padding=1, return_indices=True)], x)
    info, xin, y, params, idx = ran.args(0)
    assert y[0, 0, 0] == -np.inf
    bd = compute_unit(info, xin, y, params, (0, 0, 0), pool_indices=idx)
    assert bd.recomputed == -math.inf and bd.terms == []
    assert bd.flat_index == bd.torch_index == int(idx[0, 0, 0])


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
