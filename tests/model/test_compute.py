"""Per-unit computations (model.compute) against torch itself: for random configs of every
catalogue type, a real run (engine.run, training mode) and NumPy's recomputation of random units
agree, their terms add up to torch's value and max pools find torch's return_indices; units
outside the output are refused with the valid range; every catalogue type has an entry.

Example counts stay small by default (the suite runs on 2 cores); CX_FUZZ=long runs many more.
Case-by-case edge cases of torch's semantics are in test_compute_cases.py.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convexplorer.model import compute as cm
from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.compute import REGISTRY, UnitError, check_unit, compute_unit
from convexplorer.model.config_io import layer_from_dict
from convexplorer.model.shapes import infer
from convexplorer.model.spec import LayerSpec

from .compute_checks import FILTER_SAME, L, Ran, make_input, run_and_check

pytestmark = FILTER_SAME

LONG = os.environ.get("CX_FUZZ") == "long"
BN_HAS_BIAS = "bias" in inspect.signature(torch.nn.BatchNorm1d.__init__).parameters


def _settings(n: int, long_n: int = 1500):
    return settings(max_examples=long_n if LONG else n, deadline=None, derandomize=not LONG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ---------------------------------------------------------------------------------------------
# Strategies: one layer type at a time, with the keywords that change its arithmetic


def size(draw, dims: int, lo: int, hi: int):
    if dims > 1 and draw(st.booleans()):
        return [draw(st.integers(lo, hi)) for _ in range(dims)]
    return draw(st.integers(lo, hi))


def spatial_shape(draw, dims: int, channels: int, lo: int = 1, hi: int = 9):
    hi = max(hi_for(dims, hi), lo)
    return (draw(st.integers(1, 2)), channels) + tuple(draw(st.integers(lo, hi))
                                                       for _ in range(dims))


DATA = st.sampled_from(["normal", "normal", "ints"])


DIMS = st.sampled_from([1, 2, 2, 3])  # volumes (N, C, D, H, W) too, a little less often


def hi_for(dims: int, hi: int) -> int:
    """Smaller volumes: a 3-D case stays as quick as a 2-D one."""
    return min(hi, 5) if dims == 3 else hi


@st.composite
def conv_case(draw, transpose: bool = False):
    dims = draw(DIMS)
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
    dims = draw(DIMS)
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
    dims = draw(DIMS)
    k = size(draw, dims, 1, 4)
    d = {"type": f"AvgPool{dims}d", "kernel_size": k, "ceil_mode": draw(st.booleans()),
         "count_include_pad": draw(st.booleans())}
    if draw(st.booleans()):
        d["stride"] = size(draw, dims, 1, 3)
    kk = k if isinstance(k, list) else [k] * dims
    if draw(st.booleans()):
        d["padding"] = [draw(st.integers(0, v // 2)) for v in kk]
    if dims >= 2 and draw(st.booleans()):
        d["divisor_override"] = draw(st.integers(1, 7))
    return [d], spatial_shape(draw, dims, draw(st.integers(1, 3)))


@st.composite
def adaptive_case(draw):
    dims = draw(DIMS)
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
    dims = draw(DIMS)
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
    dims = draw(DIMS)
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
        mod = {3: F.max_pool1d, 4: F.max_pool2d, 5: F.max_pool3d}[len(shape)]
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
    info.spec = LayerSpec("Softmax2d")  # a torch.nn type the catalogue does not have
    with pytest.raises(UnitError, match="no per-unit computation for Softmax2d"):
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
