"""Property tests over random layer stacks: the formula (model.shapes), the meta device
(engine.meta), a real CPU run (engine.run) and an independent plain-torch recomputation agree;
whatever torch rejects, the formula reported first; random invalid configs are problem data.

Example counts stay small by default (the suite runs on 2 cores); CX_FUZZ=long (or -m slow for
the long variants) runs many more.
"""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.engine.build import SAME_PADDING_WARNING
from convexplorer.engine.meta import infer_meta
from convexplorer.engine.run import RunError, run
from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.config_io import layer_from_dict
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec
from convexplorer.model.validate import Problem

from .torch_reference import ReferenceError_, macs, reference

# torch's once-per-process performance note for even kernels with padding='same' is not an error
pytestmark = pytest.mark.filterwarnings(f"ignore:{SAME_PADDING_WARNING}:UserWarning")

LONG = os.environ.get("CX_FUZZ") == "long"
# The long variants run with CX_FUZZ=long or when asked for by marker (pytest -m slow).
long_only = pytest.mark.skipif(
    "not (os.environ.get('CX_FUZZ') == 'long' or 'slow' in config.getoption('markexpr'))",
    reason="long fuzz run: set CX_FUZZ=long or use -m slow")


def _settings(n: int, long_n: int = 2000):
    return settings(max_examples=long_n if LONG else n, deadline=None, derandomize=not LONG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------------
# Strategies: random stacks of catalogue types with random, mostly sensible parameters.

# BatchNorm's bias keyword is new in torch 2.12; older torch (e.g. on a GPU machine) lacks it
BN_HAS_BIAS = "bias" in inspect.signature(torch.nn.BatchNorm1d.__init__).parameters


def _size(draw, dims: int, lo: int, hi: int, nullable_items: bool = False):
    if dims > 1 and draw(st.booleans()):
        item = st.integers(lo, hi)
        if nullable_items:
            item = st.one_of(st.none(), item)
        return [draw(item) for _ in range(dims)]
    return draw(st.integers(lo, hi))


def _maybe(draw, d: dict, key: str, value_strategy):
    if draw(st.booleans()):
        d[key] = draw(value_strategy)


@st.composite
def conv_layer(draw, dims: int, transpose: bool = False):
    name = f"ConvTranspose{dims}d" if transpose else f"Conv{dims}d"
    d = {"type": name, "out_channels": draw(st.sampled_from([1, 2, 3, 4, 6]))}
    d["kernel_size"] = _size(draw, dims, 1, 4)
    if draw(st.integers(0, 4)) == 0:
        d["in_channels"] = draw(st.integers(1, 6))
    if draw(st.booleans()):
        d["stride"] = _size(draw, dims, 1, 3)
    if draw(st.booleans()):
        if not transpose and draw(st.integers(0, 3)) == 0:
            d["padding"] = draw(st.sampled_from(["same", "valid"]))
        else:
            d["padding"] = _size(draw, dims, 0, 2)
    if draw(st.booleans()):
        d["dilation"] = _size(draw, dims, 1, 3)
    if draw(st.integers(0, 2)) == 0:
        d["groups"] = draw(st.sampled_from([1, 2, 3]))
    _maybe(draw, d, "bias", st.booleans())
    if transpose:
        if draw(st.booleans()):
            d["output_padding"] = _size(draw, dims, 0, 2)
    elif draw(st.integers(0, 2)) == 0:
        d["padding_mode"] = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    return d


@st.composite
def pool_layer(draw, dims: int):
    kind = draw(st.sampled_from(["Max", "Avg", "AdaptiveMax", "AdaptiveAvg"]))
    name = f"{kind}Pool{dims}d"
    if kind.startswith("Adaptive"):
        d = {"type": name, "output_size": _size(draw, dims, 1, 5, nullable_items=True)}
        if kind == "AdaptiveMax":
            _maybe(draw, d, "return_indices", st.booleans())
        return d
    d = {"type": name, "kernel_size": _size(draw, dims, 1, 4)}
    if draw(st.booleans()):
        d["stride"] = draw(st.one_of(st.none(), st.just(_size(draw, dims, 1, 3))))
    if draw(st.booleans()):
        d["padding"] = _size(draw, dims, 0, 2)
    _maybe(draw, d, "ceil_mode", st.booleans())
    if kind == "Max":
        if draw(st.booleans()):
            d["dilation"] = _size(draw, dims, 1, 2)
        _maybe(draw, d, "return_indices", st.booleans())
    else:
        _maybe(draw, d, "count_include_pad", st.booleans())
        if dims == 2:
            _maybe(draw, d, "divisor_override", st.one_of(st.none(), st.integers(1, 5)))
    return d


@st.composite
def pool_unpool(draw, dims: int):
    """A MaxPool with indices, maybe an element-wise layer, then the matching MaxUnpool."""
    k = _size(draw, dims, 1, 3)
    pool = {"type": f"MaxPool{dims}d", "kernel_size": k, "return_indices": True}
    unpool = {"type": f"MaxUnpool{dims}d", "kernel_size": k}
    if draw(st.booleans()):
        pool["stride"] = unpool["stride"] = _size(draw, dims, 1, 3)
    if draw(st.booleans()):
        pool["padding"] = unpool["padding"] = _size(draw, dims, 0, 1)
    _maybe(draw, pool, "ceil_mode", st.booleans())
    middle = draw(st.lists(elementwise_layer(), max_size=1))
    return [pool, *middle, unpool]


@st.composite
def elementwise_layer(draw):
    name = draw(st.sampled_from(["ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Dropout"]))
    d: dict = {"type": name}
    if name == "LeakyReLU":
        _maybe(draw, d, "negative_slope", st.floats(0.0, 1.0))
    if name == "GELU":
        _maybe(draw, d, "approximate", st.sampled_from(["none", "tanh"]))
    if name == "Dropout":
        _maybe(draw, d, "p", st.floats(0.0, 1.0))
    if name in ("ReLU", "LeakyReLU", "Dropout"):
        _maybe(draw, d, "inplace", st.booleans())
    return d


@st.composite
def norm_layer(draw, dims: int):
    d: dict = {"type": f"BatchNorm{dims}d"}
    if draw(st.integers(0, 4)) == 0:
        d["num_features"] = draw(st.integers(1, 6))
    _maybe(draw, d, "eps", st.floats(1e-6, 1e-2))
    _maybe(draw, d, "momentum", st.one_of(st.none(), st.floats(0.0, 1.0)))
    _maybe(draw, d, "affine", st.booleans())
    _maybe(draw, d, "track_running_stats", st.booleans())
    if BN_HAS_BIAS:
        _maybe(draw, d, "bias", st.booleans())
    return d


@st.composite
def more_layer(draw, dims: int):
    """The types of issue 14, with parameters near their edges (a reflection pad as large as
    the input, groups that do not divide, a mode for another rank), so that the formulas meet
    what torch rejects too."""
    kind = draw(st.sampled_from(["act", "softmax", "pad", "norm", "upsample", "shuffle", "lp",
                                 "reshape"]))
    if kind == "act":
        name = draw(st.sampled_from(["ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "ELU", "Mish",
                                     "PReLU", f"Dropout{min(dims, 2)}d", "Identity"]))
        d: dict = {"type": name}
        if name == "ELU":
            _maybe(draw, d, "alpha", st.floats(0.0, 2.0))
        if name == "PReLU":
            _maybe(draw, d, "num_parameters", st.integers(1, 4))
            _maybe(draw, d, "init", st.floats(-1.0, 1.0))
        if name.startswith("Dropout"):
            _maybe(draw, d, "p", st.floats(0.0, 1.0))
        if name not in ("PReLU", "Identity", "Hardswish", "Hardsigmoid"):
            _maybe(draw, d, "inplace", st.booleans())
        return d
    if kind == "softmax":
        return {"type": draw(st.sampled_from(["Softmax", "LogSoftmax"])),
                "dim": draw(st.integers(-3, 3))}
    if kind == "pad":
        pad_kind = draw(st.sampled_from(["ZeroPad", "ConstantPad", "ReflectionPad",
                                         "ReplicationPad"]))
        pd = min(dims, 2)
        d = {"type": f"{pad_kind}{pd}d", "padding": draw(st.one_of(
            st.integers(0, 4), st.lists(st.integers(0, 4), min_size=2 * pd, max_size=2 * pd)))}
        if pad_kind == "ConstantPad":
            d["value"] = draw(st.floats(-2.0, 2.0))
        return d
    if kind == "norm":
        name = draw(st.sampled_from(["GroupNorm", f"InstanceNorm{min(dims, 2)}d", "LayerNorm",
                                     "LocalResponseNorm"]))
        d = {"type": name}
        if name == "GroupNorm":
            d["num_groups"] = draw(st.integers(1, 4))
            _maybe(draw, d, "affine", st.booleans())
        elif name.startswith("InstanceNorm"):
            _maybe(draw, d, "affine", st.booleans())
            _maybe(draw, d, "track_running_stats", st.booleans())
            if draw(st.integers(0, 4)) == 0:
                d["num_features"] = draw(st.integers(1, 6))
        elif name == "LayerNorm":
            if draw(st.integers(0, 3)) == 0:
                d["normalized_shape"] = draw(st.one_of(
                    st.integers(1, 8), st.lists(st.integers(1, 8), min_size=1, max_size=3)))
            _maybe(draw, d, "elementwise_affine", st.booleans())
            _maybe(draw, d, "bias", st.booleans())
        else:
            d["size"] = draw(st.integers(1, 5))
            _maybe(draw, d, "alpha", st.floats(0.0, 1.0))
            _maybe(draw, d, "beta", st.floats(0.0, 2.0))
        return d
    if kind == "upsample":
        d = {"type": "Upsample", "mode": draw(st.sampled_from(["nearest", "linear", "bilinear",
                                                                "trilinear"]))}
        if draw(st.booleans()):
            d["size"] = _size(draw, dims, 1, 9)
        else:
            d["scale_factor"] = draw(st.one_of(
                st.sampled_from([0.5, 1.0, 1.5, 2, 2.0, 2.3, 0.2]),
                st.lists(st.sampled_from([0.7, 1.0, 2.0, 3]), min_size=dims, max_size=dims)))
            _maybe(draw, d, "recompute_scale_factor", st.booleans())
        if d["mode"] != "nearest":
            _maybe(draw, d, "align_corners", st.booleans())
        return d
    if kind == "shuffle":
        if draw(st.booleans()):
            return {"type": "PixelShuffle", "upscale_factor": draw(st.integers(1, 2))}
        return {"type": "PixelUnshuffle", "downscale_factor": draw(st.integers(1, 3))}
    if kind == "lp":
        d = {"type": f"LPPool{min(dims, 2)}d", "norm_type": draw(st.sampled_from([1, 2, 2.0])),
             "kernel_size": _size(draw, min(dims, 2), 1, 3)}
        if draw(st.booleans()):
            d["stride"] = _size(draw, min(dims, 2), 1, 3)
        _maybe(draw, d, "ceil_mode", st.booleans())
        return d
    if draw(st.booleans()):
        return {"type": "Identity"}
    return {"type": "Unflatten", "dim": draw(st.integers(-2, 2)),
            "unflattened_size": draw(st.sampled_from([[1, -1], [-1, 1], [2, -1], [1, 1]]))}


@st.composite
def reshape_layer(draw):
    if draw(st.booleans()):
        d: dict = {"type": "Flatten"}
        _maybe(draw, d, "start_dim", st.integers(-3, 2))
        _maybe(draw, d, "end_dim", st.integers(-2, 3))
        return d
    d = {"type": "Linear", "out_features": draw(st.integers(1, 8))}
    if draw(st.integers(0, 4)) == 0:
        d["in_features"] = draw(st.integers(1, 12))
    _maybe(draw, d, "bias", st.booleans())
    return d


@st.composite
def stack(draw, max_layers: int = 4):
    """(input shape, layer dicts). Layers mostly match the input's rank; some do not."""
    dims = draw(st.sampled_from([1, 2, 2, 3]))
    shape = [draw(st.integers(1, 3)), draw(st.integers(1, 6))]
    shape += [draw(st.integers(1, 12 if dims < 3 else 6)) for _ in range(dims)]
    layers: list[dict] = []
    for _ in range(draw(st.integers(1, max_layers))):
        # 1 in 10: the wrong rank
        d_here = dims if draw(st.integers(0, 9)) else draw(st.sampled_from(
            [d for d in (1, 2, 3) if d != dims]))
        kind = draw(st.sampled_from(["conv", "conv", "convT", "pool", "pool", "unpool", "elem",
                                     "norm", "reshape", "more", "more"]))
        if kind == "conv":
            layers.append(draw(conv_layer(d_here)))
        elif kind == "convT":
            layers.append(draw(conv_layer(d_here, transpose=True)))
        elif kind == "pool":
            layers.append(draw(pool_layer(d_here)))
        elif kind == "unpool":
            layers += draw(pool_unpool(d_here))
        elif kind == "elem":
            layers.append(draw(elementwise_layer()))
        elif kind == "norm":
            layers.append(draw(norm_layer(d_here)))
        elif kind == "more":
            layers.append(draw(more_layer(d_here)))
        else:
            layers.append(draw(reshape_layer()))
    return tuple(shape), layers


def specs(layers: list[dict]) -> list[LayerSpec]:
    return [layer_from_dict(d, i) for i, d in enumerate(layers)]


def torch_outcome(shape, layers, seed=0):
    """(reference, None) when plain torch runs the stack, else (None, the exception)."""
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message=SAME_PADDING_WARNING)
            return reference(layers, x, seed), None
    except (RuntimeError, ValueError, TypeError, IndexError, ReferenceError_, UserWarning) as exc:
        return None, exc


# ---------------------------------------------------------------------------------------------
# Valid-ish stacks: the four ways of computing shapes agree; torch never rejects an OK stack.


def check_stack(shape, layers):
    report = infer(specs(layers), shape)
    ref, exc = torch_outcome(shape, layers)
    if ref is None:
        assert not report.ok, (
            f"torch rejects {layers} on {shape} ({exc!r}) but infer reports no problem")
        meta = infer_meta(specs(layers), shape)
        assert not meta.ok
        return "rejected"
    if not report.ok:
        return "flagged"  # stricter than torch (e.g. unbatched input, negative slope): allowed
    for info, y, module, kw, x_shape in zip(report.layers, ref.outputs, ref.modules, ref.kwargs,
                                            ref.input_shapes):
        assert info.output_shape == tuple(y.shape), (info.label, info.formula)
        assert info.params == sum(p.numel() for p in module.parameters()), info.label
        assert info.macs == macs(info.spec.type, kw, tuple(x_shape), tuple(y.shape)), info.label
        if info.spec.type.startswith("MaxUnpool"):
            assert info.indices_from == ref.unpool_from[info.index]
    meta = infer_meta(specs(layers), shape)
    assert meta.ok, [str(p) for p in meta.problems]
    assert [i.output_shape for i in meta.layers] == [tuple(y.shape) for y in ref.outputs]
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1)).numpy()
    result = run(Config(layers=tuple(specs(layers)), input=InputSpec(shape=shape)),
                 input_array=x)
    for lr, y, idx in zip(result.layers, ref.outputs, range(len(layers))):
        assert lr.output_shape == tuple(y.shape)
        np.testing.assert_allclose(lr.activation, y.detach().numpy(), rtol=1e-5, atol=1e-5)
        if idx in ref.indices:
            np.testing.assert_array_equal(lr.indices, ref.indices[idx].numpy())
    return "ok"


@_settings(60)
@given(stack())
def test_random_stacks_agree_with_torch(case):
    shape, layers = case
    check_stack(shape, layers)


@pytest.mark.slow
@long_only
@settings(max_examples=3000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stack(max_layers=6))
def test_random_stacks_agree_with_torch_long(case):
    check_stack(*case)


@_settings(120)
@given(st.sampled_from([1, 2, 3]), st.data())
def test_single_window_layers_agree_with_torch(dims, data):
    """One conv/pool layer at a time hits the formulas' edge cases (ceil_mode, dilation,
    'same', reflect/circular padding, output_padding) far more often than a deep stack."""
    shape = (data.draw(st.integers(1, 2)), data.draw(st.sampled_from([1, 2, 3, 6])))
    shape += tuple(data.draw(st.integers(1, 9 if dims < 3 else 6)) for _ in range(dims))
    layer = data.draw(st.one_of(conv_layer(dims), conv_layer(dims, transpose=True),
                                pool_layer(dims)))
    check_stack(shape, [layer])


@_settings(120)
@given(st.sampled_from([1, 2, 3]), st.data())
def test_single_new_layers_agree_with_torch(dims, data):
    """One layer of issue 14 at a time, on every rank, near its edges."""
    rank = data.draw(st.sampled_from([dims + 2, dims + 2, 2]))
    shape = (data.draw(st.integers(1, 2)), data.draw(st.sampled_from([1, 2, 3, 4, 6, 8])))
    shape += tuple(data.draw(st.integers(1, 8 if dims < 3 else 5)) for _ in range(rank - 2))
    check_stack(shape, [data.draw(more_layer(dims))])


def test_generator_mostly_produces_runnable_stacks():
    """Guard against a strategy that only ever produces rejected stacks (vacuous tests)."""
    outcomes = {"ok": 0, "rejected": 0, "flagged": 0}

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(stack())
    def count(case):
        outcomes[check_stack(*case)] += 1

    count()
    assert outcomes["ok"] >= 15, outcomes
    assert outcomes["rejected"] >= 5, outcomes


# ---------------------------------------------------------------------------------------------
# Invalid configs: always problem data with a field and a message, never an exception.

BAD_VALUES = {
    "bad type": [{"x": 1}, "3", 2.5, [1, "a"], True, float("nan")],
    "negative": [-1, -3, [-1, 2]],
    "zero": [0, [0, 1]],
}


@st.composite
def invalid_case(draw):
    """(shape, layers, index of the broken layer, fields the problem may name)."""
    dims = draw(st.sampled_from([1, 2]))
    shape = (draw(st.integers(1, 2)), 4) + tuple(draw(st.integers(5, 8)) for _ in range(dims))
    conv = {"type": f"Conv{dims}d", "out_channels": 4, "kernel_size": 3}
    pool = {"type": f"MaxPool{dims}d", "kernel_size": 2}
    kind = draw(st.sampled_from([
        "bad value", "zero stride", "negative size", "groups", "big kernel", "pool padding",
        "wrong rank", "pinned in_channels", "unpool without pool", "missing required",
        "unknown key", "transpose output_padding", "same with stride",
    ]))
    head = draw(st.lists(st.sampled_from([{"type": "ReLU"}, {"type": "Tanh"}]), max_size=2))
    i = len(head)
    if kind == "bad value":
        base = draw(st.sampled_from([conv, pool, {"type": "Linear", "out_features": 3}]))
        key = draw(st.sampled_from([k for k in base if k != "type"] + (
            ["stride", "padding"] if base is not conv else ["dilation", "groups", "bias"])))
        value = draw(st.sampled_from(BAD_VALUES["bad type"]))
        if key == "bias" and isinstance(value, bool):
            value = "yes"
        return shape, head + [{**base, key: value}], i, {key}
    if kind == "zero stride":
        return shape, head + [{**draw(st.sampled_from([conv, pool])), "stride": 0}], i, {"stride"}
    if kind == "negative size":
        key = draw(st.sampled_from(["kernel_size", "stride", "padding", "out_channels"]))
        base = dict(conv)
        return shape, head + [{**base, key: draw(st.integers(-5, -1))}], i, {key}
    if kind == "groups":
        return shape, head + [{**conv, "groups": 3}], i, {"groups"}
    if kind == "big kernel":
        base = draw(st.sampled_from([conv, pool]))
        return shape, head + [{**base, "kernel_size": 20}], i, {"kernel_size"}
    if kind == "pool padding":
        base = {"type": f"{draw(st.sampled_from(['Max', 'Avg']))}Pool{dims}d", "kernel_size": 3}
        return shape, head + [{**base, "padding": 2}], i, {"padding"}
    if kind == "wrong rank":
        other = 3 - dims
        base = draw(st.sampled_from([
            {"type": f"Conv{other}d", "out_channels": 2, "kernel_size": 1},
            {"type": f"MaxPool{other}d", "kernel_size": 1},
            {"type": f"AvgPool{other}d", "kernel_size": 1},
            {"type": f"BatchNorm{other}d"} if other == 2 else {"type": "Conv1d",
                                                               "out_channels": 2,
                                                               "kernel_size": 1},
        ]))
        return shape, head + [base], i, {None}
    if kind == "pinned in_channels":
        return shape, head + [{**conv, "in_channels": 5}], i, {"in_channels"}
    if kind == "unpool without pool":
        unpool = {"type": f"MaxUnpool{dims}d", "kernel_size": 2}
        middle = draw(st.sampled_from([[], [pool]]))  # a pool without return_indices
        return shape, head + middle + [unpool], i + len(middle), {None}
    if kind == "missing required":
        key = draw(st.sampled_from(["out_channels", "kernel_size"]))
        base = {k: v for k, v in conv.items() if k != key}
        return shape, head + [base], i, {key}
    if kind == "unknown key":
        return shape, head + [{**conv, "kernal_size": 3}], i, {"kernal_size"}
    if kind == "transpose output_padding":
        base = {"type": f"ConvTranspose{dims}d", "out_channels": 2, "kernel_size": 3,
                "stride": 2, "output_padding": 2}
        return shape, head + [base], i, {"output_padding"}
    return shape, head + [{**conv, "padding": "same", "stride": 2}], i, {"padding"}


def _raw_specs(layers: list[dict]) -> list[LayerSpec]:
    """Specs straight from dicts, unknown keys included (as a GUI or a bad file could make)."""
    return [LayerSpec.make(d["type"], **{k: v for k, v in d.items() if k != "type"})
            for d in layers]


def check_problems_are_data(report, layer_index: int | None, fields: set) -> None:
    assert not report.ok
    for p in report.problems:
        assert isinstance(p, Problem)
        assert isinstance(p.message, str) and p.message.strip()
        assert isinstance(p.label, str) and p.label
        assert str(p)  # renders
    mine = [p for p in report.problems if p.layer == layer_index]
    assert mine, [str(p) for p in report.problems]
    assert any(p.field in fields for p in mine), ([str(p) for p in mine], fields)
    for p in mine:
        if p.field is None:  # a problem with the layer as a whole must say how to fix it
            assert p.fix.strip(), str(p)


@_settings(150)
@given(invalid_case())
def test_invalid_configs_are_problem_data(case):
    shape, layers, index, fields = case
    check_problems_are_data(infer(_raw_specs(layers), shape), index, fields)
    check_problems_are_data(infer_meta(_raw_specs(layers), shape), index, fields)
    with pytest.raises(RunError) as err:
        run(Config(layers=tuple(_raw_specs(layers)), input=InputSpec(shape=shape)))
    assert err.value.problems and str(err.value)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4), max_leaves=6)


@st.composite
def garbage_stack(draw):
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        lt = CATALOGUE[draw(st.sampled_from(sorted(CATALOGUE)))]
        keys = draw(st.lists(st.sampled_from(lt.param_names + ("bogus",)), max_size=5,
                             unique=True)) if lt.params else []
        layers.append({"type": lt.name, **{k: draw(json_values) for k in keys}})
    shape = tuple(draw(st.lists(st.integers(-2, 10**7), min_size=0, max_size=6)))
    return shape, layers


@_settings(200, 5000)
@given(garbage_stack())
def test_any_values_never_raise(case):
    """Arbitrary JSON values in any keyword and any input shape: problems, never exceptions
    (huge sizes included: the meta device never allocates)."""
    shape, layers = case
    specs_ = [LayerSpec.make(d["type"], **{k: v for k, v in d.items() if k != "type"})
              for d in layers]
    report = infer(specs_, shape)
    meta = infer_meta(specs_, shape)
    for r in (report, meta):
        for p in r.problems:
            assert isinstance(p, Problem) and p.message
    if report.ok:
        assert meta.ok, [str(p) for p in meta.problems]
        assert [i.output_shape for i in meta.layers] == [i.output_shape for i in report.layers]


# ---------------------------------------------------------------------------------------------
# Receptive fields: the formula's size and jump equal what the gradient actually reaches.


@st.composite
def unpadded_1d_stack(draw):
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            layers.append({"type": "Conv1d", "out_channels": 2,
                           "kernel_size": draw(st.integers(1, 4)),
                           "stride": draw(st.integers(1, 3)),
                           "dilation": draw(st.integers(1, 3))})
        else:
            layers.append({"type": "AvgPool1d", "kernel_size": draw(st.integers(1, 3)),
                           "stride": draw(st.integers(1, 3))})
    return layers


@_settings(25, 300)
@given(unpadded_1d_stack())
def test_receptive_field_is_where_the_gradient_reaches(layers):
    """Without padding every unit's field lies inside the input, so the input positions with a
    nonzero gradient for one output unit span exactly ``size``, and the next unit's span starts
    ``jump`` further on (random weights: exact cancellation has probability zero)."""
    from hypothesis import assume

    from convexplorer.model.spec import Objective

    shape = (1, 2, 60)
    report = infer(specs(layers), shape)
    assume(report.ok and report.output_shape[-1] >= 2)
    rf = report.layers[-1].receptive_field
    config = Config(layers=tuple(specs(layers)), input=InputSpec(shape=shape), seed=1)
    starts = []
    for pos in (0, 1):
        result = run(config, objective=Objective("unit", -1, 0, 0, (pos,)))
        support = np.flatnonzero(np.abs(result.grad_input[0]).sum(axis=0))
        assert support[-1] - support[0] + 1 == rf.size[0], (layers, support)
        starts.append(support[0])
    assert starts[1] - starts[0] == rf.jump[0]
