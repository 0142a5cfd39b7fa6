"""Per-unit computations of the layer types of issue 14 against torch itself: random configs,
a real run (engine.run, training mode) and NumPy's recomputation of random units agree, and
each breakdown names what it reads (the slice of a softmax or a normalization, the source cell
of a padding or a shuffle, the cells and weights of an upsampling). The volumes of the 3-D
types are drawn by the strategies of test_compute.py.

Example counts stay small by default (the suite runs on 2 cores); CX_FUZZ=long runs many more.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from .compute_checks import FILTER_SAME, run_and_check
from .test_compute import DATA, _settings, spatial_shape

pytestmark = FILTER_SAME

FACTORS = st.sampled_from([0.5, 0.7, 1.0, 1.5, 2, 2.0, 2.3, 3])


@st.composite
def activation_case(draw):
    name = draw(st.sampled_from(["ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "ELU", "Mish",
                                 "Identity", "PReLU", "Dropout1d", "Dropout2d"]))
    d: dict = {"type": name}
    rank = draw(st.integers(2, 5))
    if name == "ELU" and draw(st.booleans()):
        d["alpha"] = draw(st.sampled_from([0.0, 0.5, 1.0, 2.5]))
    if name in ("Dropout1d", "Dropout2d"):
        d["p"] = draw(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]))
        rank = 3 if name == "Dropout1d" else 4
    shape = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    if name == "PReLU":
        d["num_parameters"] = draw(st.sampled_from([1, shape[1]]))
        d["init"] = draw(st.sampled_from([0.25, -0.5, 0.0, 1.5]))
    return [d], tuple(s * 3 if name in ("ReLU6", "Hardswish", "Hardsigmoid") else s
                      for s in shape)


@st.composite
def softmax_case(draw):
    rank = draw(st.integers(2, 5))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    d = {"type": draw(st.sampled_from(["Softmax", "LogSoftmax"])),
         "dim": draw(st.integers(-rank, rank - 1))}
    return [d], shape


@st.composite
def slice_norm_case(draw):
    kind = draw(st.sampled_from(["GroupNorm", "InstanceNorm", "LayerNorm", "LocalResponseNorm"]))
    if kind == "GroupNorm":
        groups = draw(st.integers(1, 3))
        shape = spatial_shape(draw, draw(st.integers(0, 3)), groups * draw(st.integers(1, 3)),
                              1, 5)
        d = {"type": "GroupNorm", "num_groups": groups, "affine": draw(st.booleans())}
        if d["affine"] and draw(st.booleans()):
            d["bias"] = False
    elif kind == "InstanceNorm":
        dims = draw(st.sampled_from([1, 2]))
        shape = spatial_shape(draw, dims, draw(st.integers(1, 4)), 2, 6)
        d = {"type": f"InstanceNorm{dims}d", "affine": draw(st.booleans()),
             "track_running_stats": draw(st.booleans())}
        if d["affine"] and draw(st.booleans()):
            d["bias"] = False
    elif kind == "LayerNorm":
        rank = draw(st.integers(2, 5))
        shape = tuple(draw(st.integers(1, 4)) for _ in range(rank))
        k = draw(st.integers(1, rank))
        d = {"type": "LayerNorm", "elementwise_affine": draw(st.booleans()),
             "bias": draw(st.booleans())}
        if k > 1 or draw(st.booleans()):
            d["normalized_shape"] = list(shape[rank - k:])
        if math.prod(shape[rank - k:]) == 1:
            shape = shape[:-1] + (2,)
            d.pop("normalized_shape", None)
    else:
        shape = spatial_shape(draw, draw(st.integers(1, 3)), draw(st.integers(1, 6)), 1, 4)
        d = {"type": "LocalResponseNorm", "size": draw(st.integers(1, 5)),
             "alpha": draw(st.sampled_from([1e-4, 0.1, 1.0])),
             "beta": draw(st.sampled_from([0.75, 0.5, 2.0])),
             "k": draw(st.sampled_from([1.0, 2.0]))}
    if "eps" not in d and kind != "LocalResponseNorm" and draw(st.booleans()):
        d["eps"] = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    return [d], shape


@st.composite
def pad_case(draw):
    kind = draw(st.sampled_from(["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad"]))
    dims = draw(st.sampled_from([1, 2]))
    shape = spatial_shape(draw, dims, draw(st.integers(1, 3)), 1, 6)
    most = min(shape[2:]) - 1 if kind == "ReflectionPad" else 3
    if draw(st.booleans()):
        padding = draw(st.integers(0, most))
    else:  # torch's order: the last dimension first
        padding = [draw(st.integers(0, (shape[-1 - j // 2] - 1) if kind == "ReflectionPad"
                                    else 3)) for j in range(2 * dims)]
    d = {"type": f"{kind}{dims}d", "padding": padding}
    if kind == "ConstantPad":
        d["value"] = draw(st.sampled_from([0.0, -1.0, 2.5, 3]))
    return [d], shape


@st.composite
def upsample_case(draw):
    rank = draw(st.integers(3, 5))
    mode = draw(st.sampled_from(["nearest", {3: "linear", 4: "bilinear", 5: "trilinear"}[rank]]))
    shape = spatial_shape(draw, rank - 2, draw(st.integers(1, 2)), 1, 6)
    d: dict = {"type": "Upsample", "mode": mode}
    if draw(st.booleans()):
        d["size"] = draw(st.one_of(st.integers(1, 9),
                                   st.lists(st.integers(1, 9), min_size=rank - 2,
                                            max_size=rank - 2)))
    else:
        d["scale_factor"] = draw(st.one_of(FACTORS, st.lists(FACTORS, min_size=rank - 2,
                                                              max_size=rank - 2)))
        if draw(st.booleans()):
            d["recompute_scale_factor"] = draw(st.booleans())
    if mode != "nearest" and draw(st.booleans()):
        d["align_corners"] = draw(st.booleans())
    return [d], shape


@st.composite
def shuffle_case(draw):
    r = draw(st.integers(1, 3))
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if draw(st.booleans()):
        return ([{"type": "PixelShuffle", "upscale_factor": r}],
                (n, r * r * draw(st.integers(1, 2)), h, w))
    return ([{"type": "PixelUnshuffle", "downscale_factor": r}],
            (n, draw(st.integers(1, 2)), h * r, w * r))


@st.composite
def lp_pool_case(draw):
    dims = draw(st.sampled_from([1, 2]))
    d = {"type": f"LPPool{dims}d", "norm_type": draw(st.sampled_from([1, 2, 3, 1.5, 2.0])),
         "kernel_size": draw(st.integers(1, 3)), "ceil_mode": draw(st.booleans())}
    if draw(st.booleans()):
        d["stride"] = draw(st.integers(1, 3))
    return [d], spatial_shape(draw, dims, draw(st.integers(1, 2)), 1, 7)


@st.composite
def unflatten_case(draw):
    rank = draw(st.integers(2, 4))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(rank - 1)) + (
        draw(st.sampled_from([4, 6, 12])),)
    n = shape[-1]
    a = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    sizes = [a, n // a]
    if draw(st.booleans()):
        sizes[draw(st.integers(0, 1))] = -1
    return [{"type": "Unflatten", "dim": draw(st.sampled_from([rank - 1, -1])),
             "unflattened_size": sizes}], shape


# ---------------------------------------------------------------------------------------------


@_settings(40)
@given(activation_case(), DATA, st.data())
def test_activation_units_match_torch(case, kind, data):
    ran, bds = run_and_check(data, *case, kind)
    for bd in bds:
        if bd.type == "PReLU" and bd.data.weight_index is not None:
            w = ran.result.layers[0].params["weight"]
            assert bd.data.weight_value[0] == w[bd.data.weight_index[0][0]]


@_settings(30)
@given(softmax_case(), DATA, st.data())
def test_softmax_units_match_torch(case, kind, data):
    ran, bds = run_and_check(data, *case, kind)
    x = ran.result.input
    for bd in bds:
        assert bd.reduce == "formula" and bd.kind == "softmax"
        dim = int(bd.extra["dim"])
        assert len(bd.terms) == x.shape[dim]  # the whole slice along dim
        assert all(t.input_index[:dim] + t.input_index[dim + 1:] ==
                   bd.unit[:dim] + bd.unit[dim + 1:] for t in bd.terms)


@_settings(40)
@given(slice_norm_case(), st.data())
def test_slice_norm_units_match_torch(case, data):
    layers, shape = case
    ran, bds = run_and_check(data, layers, shape, "normal")
    for bd in bds:
        if bd.kind != "local_response_norm":
            assert bd.extra["count"] == len(bd.terms)
            x = np.array([t.input_value for t in bd.terms])
            assert abs(bd.extra["mean"] - x.mean()) < 1e-9


@_settings(30)
@given(pad_case(), DATA, st.data())
def test_pad_units_match_torch(case, kind, data):
    ran, bds = run_and_check(data, *case, kind, n=5)
    for bd in bds:
        (term,) = bd.terms
        assert (term.input_index is None) == bool(bd.data.padding[0])


@_settings(40)
@given(upsample_case(), DATA, st.data())
def test_upsample_units_match_torch(case, kind, data):
    layers, shape = case
    ran, bds = run_and_check(data, layers, shape, kind, n=5)
    for bd in bds:
        if layers[0]["mode"] == "nearest":
            assert len(bd.terms) == 1
        else:
            assert len(bd.terms) == 2 ** (len(shape) - 2)
            assert abs(float(bd.data.weight_value.sum()) - 1.0) < 1e-6


@_settings(25)
@given(shuffle_case(), DATA, st.data())
def test_pixel_shuffle_units_match_torch(case, kind, data):
    layers, shape = case
    ran, bds = run_and_check(data, layers, shape, kind, n=5)
    x = torch.from_numpy(ran.result.input)
    # the index the breakdown names is where torch's own rearrangement takes the value from
    flat = torch.arange(x.numel(), dtype=torch.float64).reshape(x.shape)
    shuffle = layers[0]["type"] == "PixelShuffle"
    r = layers[0]["upscale_factor" if shuffle else "downscale_factor"]
    moved = (torch.nn.functional.pixel_shuffle if shuffle
             else torch.nn.functional.pixel_unshuffle)(flat, r)
    for bd in bds:
        (term,) = bd.terms
        assert int(moved[bd.unit]) == int(np.ravel_multi_index(term.input_index, x.shape))


@_settings(30)
@given(lp_pool_case(), DATA, st.data())
def test_lp_pool_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


@_settings(20)
@given(unflatten_case(), DATA, st.data())
def test_unflatten_units_match_torch(case, kind, data):
    run_and_check(data, *case, kind)


def test_nearest_upsampling_has_shortcuts_in_2d_only():
    """torch's 2-D nearest kernel copies position // 2 when the output is exactly twice the
    input; its 1-D and 3-D kernels take floor(position / scale_factor) there too."""
    from convexplorer.engine.run import run
    from convexplorer.model.compute import compute_unit
    from convexplorer.model.shapes import infer
    from convexplorer.model.spec import Config, InputSpec, LayerSpec

    for rank, want in ((3, [0, 0, 0, 1]), (4, [0, 0, 1, 1]), (5, [0, 0, 0, 1])):
        shape = (1, 1) + (1,) * (rank - 3) + (2,)
        scale = (1.0,) * (rank - 3) + (2.3,) if rank > 3 else 2.3
        layers = (LayerSpec.make("Upsample", scale_factor=scale),)
        x = np.array([10.0, 20.0], np.float32).reshape(shape)
        result = run(Config(layers=layers, input=InputSpec(shape=shape)), input_array=x)
        y = result.layers[0].activation
        assert (y.reshape(-1) == x.reshape(-1)[want]).all(), rank
        info = infer(layers, shape).layers[0]
        for o in range(4):
            unit = (0, 0) + (0,) * (rank - 3) + (o,)
            bd = compute_unit(info, x, y, {}, unit)
            assert bd.recomputed == bd.value and bd.terms[0].input_index[-1] == want[o]
