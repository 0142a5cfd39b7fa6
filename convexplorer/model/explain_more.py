"""The explanations of the layer types of issue 14 that have no sliding window (LP pooling and
the 3-D convolutions and pools use ``model.explain``'s): padding, normalization over a slice,
softmax, upsampling, pixel (un)shuffle, Unflatten and PReLU, each with the user's numbers; and
how each of them maps a box of its output back onto its input (``back``), for the receptive
field. Every sentence is one template with named placeholders. No Qt and no torch here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .compute.resample import linear, nearest, scales
from .compute.window import pad_sources
from .explain import Section
from .shape_rules import normalized_dims, pad_amounts
from .shapes import LayerInfo, fmt_shape

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

# -- sections ----------------------------------------------------------------------------------

PAD_TITLE = "Output size: each side grows by its padding"
PAD_FILL = {
    "ZeroPad": "The new cells hold 0.",
    "ConstantPad": "The new cells hold value={value}.",
    "ReflectionPad": ("The new cells mirror the input at its edge without repeating the edge: "
                      "the cell 1 outside copies the cell 1 inside, and so on. So every side "
                      "must be smaller than the input along it."),
    "ReplicationPad": "The new cells repeat the nearest edge cell of the input.",
}
PAD_ORDER = ("padding is given in torch's order, the last dimension first: {items} = {values}.")
NORM_TITLE = "What is normalized together"
GROUP_TEXT = ("num_groups={groups} splits the {channels} channels into {groups} groups of "
              "{per}. Each batch item's group (its {per} channel(s) at all {positions} "
              "position(s): {count} values) gets its own mean and variance; then every channel "
              "has its own weight and bias.")
GROUP_EXTREMES = ("num_groups=1 would normalize all channels together (LayerNorm over C, H, W); "
                  "num_groups={channels} would normalize each channel alone (InstanceNorm).")
INSTANCE_TEXT = ("Every batch item's every channel is normalized on its own, over its "
                 "{count} position(s); the batch does not matter, so the result is the same for "
                 "a batch of 1. affine={affine}, track_running_stats={track}: the defaults are "
                 "False, unlike BatchNorm's.")
LAYER_TEXT = ("normalized_shape={shape}: the last {k} dimension(s) of {input}. Each of the "
              "{slices} slice(s) of {count} values gets its own mean and variance; the weight "
              "and bias have the shape {shape}, one value per element of the slice.")
LRN_TEXT = ("Each value is divided by (k + alpha/size × the sum of squares of the same position "
            "in {size} neighbouring channels)^beta = ({k} + {alpha}/{size} × sum)^{beta}: "
            "channels {before} before to {after} after, cut at the first and last channel.")
SOFTMAX_TITLE = "Along which dimension"
SOFTMAX_TEXT = ("dim={dim} of {input} (size {size}): each of the {slices} slice(s) along it is "
                "turned into {what}.")
SOFTMAX_WHAT = {"Softmax": "probabilities that add up to 1",
                "LogSoftmax": "the logs of probabilities that add up to 1"}
UPSAMPLE_TITLE = "Output size and where each value comes from"
UPSAMPLE_NEAREST = ("mode='nearest': every output cell copies one input cell, "
                    "floor(position × {scale}) along {axis}.")
UPSAMPLE_LINEAR = ("mode={mode}: every output cell blends the 2 nearest input cells along each "
                   "dimension ({cells} cells) by their distance. {corners}")
UPSAMPLE_CORNERS = {True: "align_corners=True: the first and last cells of input and output "
                          "line up exactly, the scale is (in - 1)/(out - 1).",
                    False: "align_corners=False: cells are squares whose centres spread over "
                           "the same extent; the scale is 1/scale_factor, or in/out when a size "
                           "is given."}
UPSAMPLE_EXAMPLE = "Along {axis}: output positions {outs} read input positions {ins}."
SHUFFLE_TITLE = "How the values move"
SHUFFLE_TEXT = ("No arithmetic: every {square} channels (r={r}) become one channel {r} times "
                "taller and wider; output cell (h, w) of channel c comes from channel "
                "c·{square} + (h mod {r})·{r} + (w mod {r}) at (h // {r}, w // {r}).")
UNSHUFFLE_TEXT = ("No arithmetic: every {r}×{r} block of a channel becomes {square} channels at "
                  "1/{r} the size; nothing is lost, unlike pooling.")
UNFLATTEN_TITLE = "How the dimension is split"
UNFLATTEN_TEXT = ("Dimension {dim} (size {size}) becomes {sizes}: the element at position p of "
                  "it goes to the indices that p unravels to (row-major).")
UNFLATTEN_INFERRED = "The -1 is worked out: {size} / {known} = {value}."
PRELU_TEXT = {True: ("num_parameters=1: one learned slope, shared by every channel, multiplies "
                     "the negative inputs."),
              False: ("num_parameters={count}: one learned slope per channel multiplies that "
                      "channel's negative inputs.")}


def _axis_lines(info: LayerInfo) -> list[str]:
    """The shape rule's formula lines, each headed by its axis (H_out = ...)."""
    axes = AXES.get(len(info.input_shape) - 2, ())
    if len(axes) != len(info.formula):
        return list(info.formula)
    return [f"{axis}_out = {line}" for axis, line in zip(axes, info.formula)]


def _pad(info: LayerInfo) -> list[Section]:
    kind = info.spec.type[:-2]
    dims = len(info.input_shape) - 2
    sec = Section(PAD_TITLE, code=_axis_lines(info))
    items = ("left", "right", "top", "bottom")[:2 * dims]
    pads = pad_amounts(info.kwargs["padding"], dims)
    flat = [v for before_after in reversed(pads) for v in before_after]
    sec.text.append(PAD_ORDER.format(items="(" + ", ".join(items) + ")",
                                     values="(" + ", ".join(map(str, flat)) + ")"))
    sec.text.append(PAD_FILL[kind].format(value=info.kwargs.get("value")))
    return [sec]


def _norm(info: LayerInfo) -> list[Section]:
    kw, shape = info.kwargs, info.input_shape
    sec = Section(NORM_TITLE)
    positions = math.prod(shape[2:])
    t = info.spec.type
    if t == "GroupNorm":
        g, c = kw["num_groups"], kw["num_channels"]
        sec.text += [GROUP_TEXT.format(groups=g, channels=c, per=c // g, positions=positions,
                                       count=c // g * positions),
                     GROUP_EXTREMES.format(channels=c)]
    elif t.startswith("InstanceNorm"):
        sec.text.append(INSTANCE_TEXT.format(count=positions, affine=kw["affine"],
                                             track=kw["track_running_stats"]))
    elif t == "LayerNorm":
        ns = normalized_dims(kw["normalized_shape"])
        sec.text.append(LAYER_TEXT.format(shape=ns, k=len(ns), input=fmt_shape(shape),
                                          slices=math.prod(shape[:len(shape) - len(ns)]),
                                          count=math.prod(ns)))
    else:
        size = kw["size"]
        sec.text.append(LRN_TEXT.format(size=size, k=f"{kw['k']:g}", alpha=f"{kw['alpha']:g}",
                                        beta=f"{kw['beta']:g}", before=size // 2,
                                        after=(size - 1) // 2))
    return [sec]


def _softmax(info: LayerInfo) -> list[Section]:
    shape = info.input_shape
    dim = info.kwargs["dim"] % len(shape)
    return [Section(SOFTMAX_TITLE, text=[SOFTMAX_TEXT.format(
        dim=info.kwargs["dim"], input=fmt_shape(shape), size=shape[dim],
        slices=math.prod(shape) // shape[dim], what=SOFTMAX_WHAT[info.spec.type])])]


def _upsample(info: LayerInfo) -> list[Section]:
    kw, shape = info.kwargs, info.input_shape
    sec = Section(UPSAMPLE_TITLE, code=_axis_lines(info))
    interp = kw["mode"] != "nearest"
    align = bool(kw["align_corners"]) if interp else False
    axes = AXES[len(shape) - 2]
    if interp:
        sec.text.append(UPSAMPLE_LINEAR.format(mode=repr(kw["mode"]), cells=2 ** len(axes),
                                               corners=UPSAMPLE_CORNERS[align]))
    for j, axis in enumerate(axes):
        n, out = shape[2 + j], info.output_shape[2 + j]
        scale = scales(kw, n, out, j, align, interp)
        shown = list(range(min(out, 6)))
        if interp:
            ins = [f"{i0}/{i1}" for i0, i1, *_ in (linear(o, n, scale, align) for o in shown)]
        else:
            sec.text.append(UPSAMPLE_NEAREST.format(scale=f"{float(scale):.6g}", axis=axis))
            ins = [str(nearest(o, n, out, scale, len(axes) == 2)) for o in shown]
        sec.text.append(UPSAMPLE_EXAMPLE.format(axis=axis, outs=", ".join(map(str, shown)),
                                                ins=", ".join(ins)))
    return [sec]


def _shuffle(info: LayerInfo) -> list[Section]:
    shuffle = info.spec.type == "PixelShuffle"
    r = info.kwargs["upscale_factor" if shuffle else "downscale_factor"]
    text = (SHUFFLE_TEXT if shuffle else UNSHUFFLE_TEXT).format(r=r, square=r * r)
    return [Section(SHUFFLE_TITLE, code=list(info.formula), text=[text])]


def _unflatten(info: LayerInfo) -> list[Section]:
    kw, shape = info.kwargs, info.input_shape
    dim = kw["dim"] % len(shape)
    sizes = info.output_shape[dim:dim + len(kw["unflattened_size"])]
    sec = Section(UNFLATTEN_TITLE, code=list(info.formula), text=[UNFLATTEN_TEXT.format(
        dim=dim, size=shape[dim], sizes=" × ".join(map(str, sizes)))])
    if -1 in kw["unflattened_size"]:
        known = math.prod(s for s in kw["unflattened_size"] if s != -1)
        sec.text.append(UNFLATTEN_INFERRED.format(size=shape[dim], known=known,
                                                  value=shape[dim] // known))
    return [sec]


def _prelu(info: LayerInfo) -> list[Section]:
    n = info.kwargs["num_parameters"]
    return [Section("PReLU", text=[PRELU_TEXT[n == 1].format(count=n)])]


_PADS = tuple(f"{kind}{d}d" for kind in ("ZeroPad", "ConstantPad", "ReflectionPad",
                                         "ReplicationPad") for d in (1, 2))
#: Type name -> the sections after the heading.
SECTIONS: dict[str, Callable[[LayerInfo], list[Section]]] = {
    **{name: _pad for name in _PADS},
    **{name: _norm for name in ("GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "LayerNorm",
                                "LocalResponseNorm")},
    "Softmax": _softmax, "LogSoftmax": _softmax, "Upsample": _upsample,
    "PixelShuffle": _shuffle, "PixelUnshuffle": _shuffle, "Unflatten": _unflatten,
    "PReLU": _prelu,
}


def has_explanation(type_name: str) -> bool:
    return type_name in SECTIONS


def explain_more(info: LayerInfo) -> list[Section]:
    """The sections of a type in ``SECTIONS``, after ``model.explain``'s heading."""
    return SECTIONS[info.spec.type](info)


# -- receptive field boxes ---------------------------------------------------------------------

Box = tuple[tuple[int, int], ...]


def _back_pad(info: LayerInfo, box: Box) -> Box | None:
    mode = {"ReflectionPad": "reflect", "ReplicationPad": "replicate"}.get(
        info.spec.type[:-2], "zeros")
    out = []
    for (lo, hi), n, (before, _after) in zip(box, info.input_shape[2:],
                                             pad_amounts(info.kwargs["padding"], len(box))):
        src, _pad = pad_sources(np.arange(lo, hi + 1) - before, n, mode)
        src = src[src >= 0]
        if not len(src):
            return None  # only constant padding: no input reaches these cells
        out.append((int(src.min()), int(src.max())))
    return tuple(out)


def _back_upsample(info: LayerInfo, box: Box) -> Box:
    kw = info.kwargs
    interp = kw["mode"] != "nearest"
    align = bool(kw["align_corners"]) if interp else False
    out = []
    for j, ((lo, hi), n, o) in enumerate(zip(box, info.input_shape[2:],
                                             info.output_shape[2:])):
        scale = scales(kw, n, o, j, align, interp)
        if interp:
            out.append((linear(lo, n, scale, align)[0], linear(hi, n, scale, align)[1]))
        else:
            shortcuts = len(box) == 2
            out.append((nearest(lo, n, o, scale, shortcuts), nearest(hi, n, o, scale, shortcuts)))
    return tuple(out)


def _back_shuffle(info: LayerInfo, box: Box) -> Box:
    r = info.kwargs["upscale_factor"]
    return tuple((lo // r, hi // r) for lo, hi in box)


def _back_unshuffle(info: LayerInfo, box: Box) -> Box:
    r = info.kwargs["downscale_factor"]
    return tuple((lo * r, hi * r + r - 1) for lo, hi in box)


def _back_whole(info: LayerInfo, box: Box) -> Box:
    return tuple((0, n - 1) for n in info.input_shape[2:])


def _back_same(info: LayerInfo, box: Box) -> Box:
    return box


def _back_along(info: LayerInfo, box: Box) -> Box:
    """Softmax and LayerNorm read the whole extent of the spatial dimensions they work over."""
    rank = len(info.input_shape)
    if info.spec.type == "LayerNorm":
        dims = range(rank - len(normalized_dims(info.kwargs["normalized_shape"])), rank)
    else:
        dims = [info.kwargs["dim"] % rank]
    return tuple((0, info.input_shape[2 + j] - 1) if 2 + j in dims else b
                 for j, b in enumerate(box))


#: Type name -> the box on the input that can influence a box of the output.
BACK: dict[str, Callable[[LayerInfo, Box], Box | None]] = {
    **{name: _back_pad for name in _PADS},
    "Upsample": _back_upsample, "PixelShuffle": _back_shuffle,
    "PixelUnshuffle": _back_unshuffle,
    "GroupNorm": _back_whole, "InstanceNorm1d": _back_whole, "InstanceNorm2d": _back_whole,
    "LayerNorm": _back_along, "Softmax": _back_along, "LogSoftmax": _back_along,
    "Dropout1d": _back_same, "Dropout2d": _back_same,
}
