"""Shape rules of the layer types of issue 14 (``model.catalogue_more``): one function per type
or family, found by type name in ``RULES``; ``model.shapes`` calls the one of a layer (after the
rank check and the auto value) and keeps the walk over the stack. Also their receptive-field
steps (``RF_RULES``).

A rule sets the layer's output shape, parameter count and formula lines, or raises ``Fail``
with a message and a fix. Every message is one whole sentence template with named
placeholders. No Qt and no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .validate import divisors, expand, or_list

PRELU_COUNT = ("num_parameters={count} must be 1 (one slope for every channel) or the "
               "{channels} channels that arrive")
PRELU_COUNT_FIX = "use 1 or {channels}"
SOFTMAX_NO_DIM = ("dim=None leaves the dimension to torch, which picks {dim} for a {rank}-D "
                  "input and warns that this choice is deprecated")
SOFTMAX_NO_DIM_FIX = "set dim={dim} (or the dimension you mean)"
DIM_RANGE = "dim={dim} is out of range for a {rank}-D input {shape}"
DIM_RANGE_FIX = "use -{rank} to {last}"
REFLECT_PAD = ("ReflectionPad needs padding smaller than the input: {pad} on a side of a "
               "dimension of size {size}")
REFLECT_PAD_FIX = "use padding below {size}, or ReplicationPad or ZeroPad"
PAD_FORMULA = "{size} + {before} + {after} = {out}"
GROUPS_DIVIDE = "num_groups={groups} must divide num_channels={channels}"
GROUPS_DIVIDE_FIX = "try {suggestions}"
ONE_VALUE_GROUP = ("needs more than 1 value per group in training mode, but {shape} with "
                   "{groups} groups has 1")
ONE_VALUE_GROUP_FIX = "use fewer groups, a larger input or a batch of 2"
ONE_SPATIAL = ("needs more than 1 position per channel to normalize over, but {shape} has 1")
ONE_SPATIAL_FIX = "use a larger input, or BatchNorm, which normalizes over the batch too"
LAYERNORM_SHAPE = ("normalized_shape={value} must be the last dimensions of the input, but "
                   "it gets {shape}")
LAYERNORM_SHAPE_FIX = "set normalized_shape to {last}, or clear it to follow the last dimension"
LRN_RANK = "expects a 3-D or larger input (N, C, ...), but gets {shape}"
LRN_RANK_FIX = "place it before Flatten, on the maps of a convolution"
UPSAMPLE_RANK = "expects a 3-D, 4-D or 5-D input (N, C, ...), but gets {shape}"
UPSAMPLE_RANK_FIX = "place it before Flatten, on (N, C, L), (N, C, H, W) or (N, C, D, H, W)"
UPSAMPLE_MODE = "mode={mode} needs a {rank}-D input {form}, but gets {shape}"
UPSAMPLE_MODE_FIX = "use mode={good} for this input, or 'nearest'"
UPSAMPLE_ITEMS = ("{field}={value} has {count} values but the input {shape} has {spatial} "
                  "spatial dimensions")
UPSAMPLE_ITEMS_FIX = "give one number, or {spatial}"
UPSAMPLE_EMPTY = "scale_factor={scale} makes an output of size {out} from {size}"
UPSAMPLE_EMPTY_FIX = "use a larger scale_factor"
UPSAMPLE_SIZE_FORMULA = "size {out}"
UPSAMPLE_SCALE_FORMULA = "floor({size} * {scale}) = {out}"
SHUFFLE_RANK = "expects a 4-D input (N, C, H, W), but gets {shape}"
SHUFFLE_RANK_FIX = "use it on the maps of a Conv2d"
SHUFFLE_CHANNELS = ("upscale_factor={factor} needs channels divisible by {square}, but "
                    "{channels} arrive")
SHUFFLE_CHANNELS_FIX = "give the layer before {good} channels, or use upscale_factor {ok}"
UNSHUFFLE_SIZE = ("downscale_factor={factor} must divide the height and width, but gets "
                  "{height} x {width}")
UNSHUFFLE_SIZE_FIX = "use downscale_factor {ok}"
UNSHUFFLE_PAD_FIX = ("pad the input to a height and width divisible by {factor} (ZeroPad2d), or "
                     "use downscale_factor 1")
SHUFFLE_FORMULA = "C {channels} / {factor}² = {out_c}; H {h} × {factor} = {out_h}; W {w} × " \
                  "{factor} = {out_w}"
UNSHUFFLE_FORMULA = "C {channels} × {factor}² = {out_c}; H {h} / {factor} = {out_h}; W {w} / " \
                    "{factor} = {out_w}"
UNFLATTEN_PRODUCT = ("unflattened_size={value} does not multiply up to dimension {dim}'s size "
                     "{size}")
UNFLATTEN_PRODUCT_FIX = "give sizes whose product is {size}, or -1 for one of them"
UNFLATTEN_FORMULA = "dimension {dim}: {size} = {sizes}"


class Fail(Exception):
    """The layer cannot take what arrives: ``field`` (None: the layer as a whole), the message
    and its fix."""

    def __init__(self, field: str | None, message: str, fix: str = ""):
        super().__init__(message)
        self.field, self.message, self.fix = field, message, fix


def shape_text(shape) -> str:
    return "torch.Size([" + ", ".join(str(s) for s in shape) + "])"


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value) if isinstance(value, str) else str(value)


# -- activations -------------------------------------------------------------------------------

def _prelu(info, kw, shape) -> None:
    n, c = kw["num_parameters"], shape[1]
    if n not in (1, c):
        raise Fail("num_parameters", PRELU_COUNT.format(count=n, channels=c),
                   PRELU_COUNT_FIX.format(channels=c))
    info.params = n
    info.output_shape = shape


def implicit_softmax_dim(rank: int) -> int:
    """torch's ``_get_softmax_dim`` for dim=None."""
    return 0 if rank in (0, 1, 3) else 1


def _check_dim(dim: int, shape, field: str = "dim") -> int:
    """``dim`` as a non-negative index into ``shape`` (Fail when out of range)."""
    rank = len(shape)
    if not -rank <= dim < rank:
        raise Fail(field, DIM_RANGE.format(dim=dim, rank=rank, shape=shape_text(shape)),
                   DIM_RANGE_FIX.format(rank=rank, last=rank - 1))
    return dim + rank if dim < 0 else dim


def _softmax(info, kw, shape) -> None:
    if kw["dim"] is None:
        dim = implicit_softmax_dim(len(shape))
        raise Fail("dim", SOFTMAX_NO_DIM.format(dim=dim, rank=len(shape)),
                   SOFTMAX_NO_DIM_FIX.format(dim=dim))
    _check_dim(kw["dim"], shape)
    info.output_shape = shape


# -- padding -----------------------------------------------------------------------------------

def pad_amounts(padding, dims: int) -> list[tuple[int, int]]:
    """(before, after) per spatial dimension, first dimension first, from torch's padding
    (an int, or (left, right[, top, bottom]): the last dimension first)."""
    items = expand(padding, 2 * dims)
    return [(items[2 * j], items[2 * j + 1]) for j in range(dims)][::-1]


def _pad(info, kw, shape) -> None:
    dims = len(shape) - 2
    out = list(shape[:2])
    info.formula = []
    reflect = info.spec.type.startswith("ReflectionPad")
    for n, (before, after) in zip(shape[2:], pad_amounts(kw["padding"], dims)):
        if reflect and max(before, after) >= n:
            raise Fail("padding", REFLECT_PAD.format(pad=max(before, after), size=n),
                       REFLECT_PAD_FIX.format(size=n))
        o = n + before + after
        info.formula.append(PAD_FORMULA.format(size=n, before=before, after=after, out=o))
        out.append(o)
    info.output_shape = tuple(out)


# -- normalization -----------------------------------------------------------------------------

def _affine_params(count: int, affine: bool, bias: bool) -> int:
    return (count if affine else 0) + (count if affine and bias else 0)


def _group_norm(info, kw, shape) -> None:
    g, c = kw["num_groups"], kw["num_channels"]
    if c % g:
        ok = or_list(divisors(c)[:8])
        raise Fail("num_groups", GROUPS_DIVIDE.format(groups=g, channels=c),
                   GROUPS_DIVIDE_FIX.format(suggestions=ok))
    if shape[0] * (c // g) * math.prod(shape[2:]) == 1:
        raise Fail(None, ONE_VALUE_GROUP.format(shape=shape_text(shape), groups=g),
                   ONE_VALUE_GROUP_FIX)
    info.params = _affine_params(c, kw["affine"], kw["bias"])
    info.output_shape = shape


def _instance_norm(info, kw, shape) -> None:
    if math.prod(shape[2:]) == 1:
        raise Fail(None, ONE_SPATIAL.format(shape=shape_text(shape)), ONE_SPATIAL_FIX)
    info.params = _affine_params(kw["num_features"], kw["affine"], kw["bias"])
    info.output_shape = shape


def normalized_dims(normalized_shape) -> tuple[int, ...]:
    return normalized_shape if isinstance(normalized_shape, tuple) else (normalized_shape,)


def layer_norm_fits(normalized_shape, shape) -> bool:
    ns = normalized_dims(normalized_shape)
    return len(ns) <= len(shape) and tuple(shape[len(shape) - len(ns):]) == ns


def _layer_norm(info, kw, shape) -> None:
    ns = normalized_dims(kw["normalized_shape"])
    if not layer_norm_fits(ns, shape):
        last = _show(tuple(shape[-len(ns):]) if 1 < len(ns) <= len(shape) else shape[-1])
        raise Fail("normalized_shape", LAYERNORM_SHAPE.format(
            value=_show(kw["normalized_shape"]), shape=shape_text(shape)),
            LAYERNORM_SHAPE_FIX.format(last=last))
    info.params = _affine_params(math.prod(ns), kw["elementwise_affine"], kw["bias"])
    info.output_shape = shape


def _local_response_norm(info, kw, shape) -> None:
    if len(shape) < 3:
        raise Fail(None, LRN_RANK.format(shape=shape_text(shape)), LRN_RANK_FIX)
    info.output_shape = shape


# -- resampling --------------------------------------------------------------------------------

_MODE_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5}
_RANK_FORM = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}
_MODE_OF_RANK = {3: "'linear'", 4: "'bilinear'", 5: "'trilinear'"}


def upsample_sizes(kw, shape) -> tuple[list[int], list[float | None]]:
    """The output size per spatial dimension and the scale_factor (None: a size was given)."""
    spatial = len(shape) - 2
    if kw["size"] is not None:
        return list(expand(kw["size"], spatial)), [None] * spatial
    scales = [float(s) for s in expand(kw["scale_factor"], spatial)]
    # torch: floor(input size * scale_factor), in double precision
    return [math.floor(float(n) * s) for n, s in zip(shape[2:], scales)], scales


def _upsample(info, kw, shape) -> None:
    rank = len(shape)
    if not 3 <= rank <= 5:
        raise Fail(None, UPSAMPLE_RANK.format(shape=shape_text(shape)), UPSAMPLE_RANK_FIX)
    mode = kw["mode"]
    want = _MODE_RANK.get(mode)
    if want is not None and rank != want:
        raise Fail("mode", UPSAMPLE_MODE.format(mode=repr(mode), rank=want,
                                                form=_RANK_FORM[want], shape=shape_text(shape)),
                   UPSAMPLE_MODE_FIX.format(good=_MODE_OF_RANK[rank]))
    spatial = rank - 2
    field = "size" if kw["size"] is not None else "scale_factor"
    value = kw[field]
    if isinstance(value, tuple) and len(value) != spatial:
        raise Fail(field, UPSAMPLE_ITEMS.format(field=field, value=_show(value),
                                                count=len(value), shape=shape_text(shape),
                                                spatial=spatial),
                   UPSAMPLE_ITEMS_FIX.format(spatial=spatial))
    outs, scales = upsample_sizes(kw, shape)
    info.formula = []
    for n, o, s in zip(shape[2:], outs, scales):
        if o < 1:
            raise Fail("scale_factor", UPSAMPLE_EMPTY.format(scale=_show(value), out=o, size=n),
                       UPSAMPLE_EMPTY_FIX)
        info.formula.append(UPSAMPLE_SIZE_FORMULA.format(out=o) if s is None else
                            UPSAMPLE_SCALE_FORMULA.format(size=n, scale=f"{s:g}", out=o))
    info.output_shape = tuple(shape[:2]) + tuple(outs)


def _check_4d(shape) -> None:
    if len(shape) != 4:
        raise Fail(None, SHUFFLE_RANK.format(shape=shape_text(shape)), SHUFFLE_RANK_FIX)


def _pixel_shuffle(info, kw, shape) -> None:
    _check_4d(shape)
    r = kw["upscale_factor"]
    n, c, h, w = shape
    if c % (r * r):
        ok = or_list([f for f in range(1, 9) if c % (f * f) == 0])
        raise Fail("upscale_factor", SHUFFLE_CHANNELS.format(factor=r, square=r * r,
                                                             channels=c),
                   SHUFFLE_CHANNELS_FIX.format(good=-(-c // (r * r)) * r * r, ok=ok))
    info.output_shape = (n, c // (r * r), h * r, w * r)
    info.formula = [SHUFFLE_FORMULA.format(channels=c, factor=r, out_c=c // (r * r), h=h,
                                           out_h=h * r, w=w, out_w=w * r)]


def _pixel_unshuffle(info, kw, shape) -> None:
    _check_4d(shape)
    r = kw["downscale_factor"]
    n, c, h, w = shape
    if h % r or w % r:
        good = divisors(math.gcd(h, w))[:8]
        fix = (UNSHUFFLE_SIZE_FIX.format(ok=or_list(good)) if len(good) > 1 else
               UNSHUFFLE_PAD_FIX.format(factor=r))
        raise Fail("downscale_factor", UNSHUFFLE_SIZE.format(factor=r, height=h, width=w), fix)
    info.output_shape = (n, c * r * r, h // r, w // r)
    info.formula = [UNSHUFFLE_FORMULA.format(channels=c, factor=r, out_c=c * r * r, h=h,
                                             out_h=h // r, w=w, out_w=w // r)]


# -- reshape -----------------------------------------------------------------------------------

def unflattened(sizes: tuple[int, ...], n: int) -> tuple[int, ...] | None:
    """``sizes`` with its -1 worked out for a dimension of size ``n`` (None: they do not fit)."""
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if known == 0 or n % known:
            return None
        return tuple(n // known if s == -1 else s for s in sizes)
    return sizes if known == n else None


def _unflatten(info, kw, shape) -> None:
    dim = _check_dim(kw["dim"], shape)
    sizes = kw["unflattened_size"]
    got = unflattened(sizes, shape[dim])
    if got is None:
        raise Fail("unflattened_size", UNFLATTEN_PRODUCT.format(value=_show(sizes), dim=dim,
                                                                size=shape[dim]),
                   UNFLATTEN_PRODUCT_FIX.format(size=shape[dim]))
    info.output_shape = tuple(shape[:dim]) + got + tuple(shape[dim + 1:])
    info.formula = [UNFLATTEN_FORMULA.format(dim=dim, size=shape[dim],
                                             sizes=" × ".join(map(str, got)))]


Rule = Callable[[Any, dict, tuple], None]

#: Type name -> its shape rule: ``rule(info, kw, shape)`` with the resolved keywords.
RULES: dict[str, Rule] = {
    "PReLU": _prelu,
    "Softmax": _softmax,
    "LogSoftmax": _softmax,
    **{f"{kind}{d}d": _pad for kind in ("ZeroPad", "ConstantPad", "ReflectionPad",
                                        "ReplicationPad") for d in (1, 2)},
    "GroupNorm": _group_norm,
    "InstanceNorm1d": _instance_norm,
    "InstanceNorm2d": _instance_norm,
    "LayerNorm": _layer_norm,
    "LocalResponseNorm": _local_response_norm,
    "Upsample": _upsample,
    "PixelShuffle": _pixel_shuffle,
    "PixelUnshuffle": _pixel_unshuffle,
    "Unflatten": _unflatten,
}


# -- receptive field ---------------------------------------------------------------------------

def _rf_upsample(size, jump, info) -> tuple[list[float], list[float]]:
    linear = info.kwargs["mode"] != "nearest"
    for j, (n, o) in enumerate(zip(info.input_shape[2:], info.output_shape[2:])):
        if linear:
            size[j] += jump[j]  # a unit blends two neighbouring inputs
        jump[j] *= n / o
    return size, jump


def _rf_shuffle(size, jump, info) -> tuple[list[float], list[float]]:
    r = info.kwargs["upscale_factor"]
    return size, [j / r for j in jump]


def _rf_unshuffle(size, jump, info) -> tuple[list[float], list[float]]:
    r = info.kwargs["downscale_factor"]
    return [s + (r - 1) * j for s, j in zip(size, jump)], [j * r for j in jump]


#: Type name -> how a layer changes the receptive field (size, jump per spatial dimension) of
#: a unit; types not here leave it as it is (element-wise layers, padding, normalization).
RF_RULES = {"Upsample": _rf_upsample, "PixelShuffle": _rf_shuffle,
            "PixelUnshuffle": _rf_unshuffle}
