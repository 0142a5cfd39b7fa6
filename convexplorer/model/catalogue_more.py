"""Catalogue entries of issue 14: more activations, padding layers, group/instance/layer/local
response normalization, Upsample and pixel (un)shuffle, LP pooling, Identity and Unflatten.

Each entry is torch's constructor (names, order, defaults) with bounds and a help text that
says what the layer is and why one would use it; ``model.catalogue`` adds them to the one
``CATALOGUE``. No Qt and no torch here.
"""

from __future__ import annotations

from .catalogue import (
    _H_CEIL_MODE,
    _H_EPS,
    _H_INPLACE,
    _H_KERNEL,
    _H_MOMENTUM,
    _H_NUM_FEATURES,
    _H_POOL_STRIDE,
    BOOL,
    CHOICE,
    FLOAT,
    FLOATS,
    INT,
    INTS,
    SIZE,
    LayerType,
    Param,
)
from .limits import MAX_FLOAT

_INPLACE = Param("inplace", BOOL, False, _H_INPLACE)
_H_DIM = (
    "The dimension whose values are turned into probabilities (they add up to 1 along it): 1 "
    "for the channels or classes of an (N, C, ...) output, -1 for the last dimension. A "
    "negative number counts from the end."
)
_H_P_CHANNEL = (
    "Probability of zeroing each whole channel (training mode); kept channels are scaled by "
    "1/(1-p). Seeded here, so runs repeat."
)


def _activations() -> list[LayerType]:
    return [
        LayerType("ReLU6", "activation", None, (_INPLACE,),
                  "min(max(0, x), 6): a ReLU capped at 6. Use it where values must stay in a "
                  "small range, as in MobileNet for low-precision (8-bit) inference."),
        LayerType("SiLU", "activation", None, (_INPLACE,),
                  "x * sigmoid(x) (also called Swish): a smooth ReLU that lets small negative "
                  "values through. Used in EfficientNet and many recent nets, where it trains a "
                  "little better than ReLU."),
        LayerType("Hardswish", "activation", None, (_INPLACE,),
                  "x * ReLU6(x + 3) / 6: a cheap, piecewise version of SiLU built from a "
                  "ReLU6. Use it for SiLU's accuracy at ReLU's cost on phones (MobileNetV3)."),
        LayerType("Hardsigmoid", "activation", None, (_INPLACE,),
                  "ReLU6(x + 3) / 6: a straight-line sigmoid, 0 below -3 and 1 above 3. Use it "
                  "as a cheap gate, as in MobileNetV3's squeeze-and-excitation blocks."),
        LayerType(
            "ELU",
            "activation",
            None,
            (Param("alpha", FLOAT, 1.0,
                   "The value negative inputs level off at (-alpha): the output for x <= 0 is "
                   "alpha * (exp(x) - 1). A larger alpha lets negative values reach further.",
                   minimum=0.0),
             _INPLACE),
            "x for x > 0, alpha * (exp(x) - 1) otherwise: like ReLU, but negative inputs give "
            "smooth negative outputs, so the mean output stays nearer zero and no unit dies.",
            ("alpha",),
        ),
        LayerType(
            "PReLU",
            "activation",
            None,
            (Param("num_parameters", INT, 1,
                   "How many slopes to learn: 1 shares one slope among all channels; the "
                   "number of channels (C) learns one per channel. Other numbers are refused.",
                   minimum=1),
             Param("init", FLOAT, 0.25,
                   "The starting value of every slope (the weight), before any training.",
                   minimum=-MAX_FLOAT),
             ),
            "Like LeakyReLU, but the slope for negative inputs is a learned parameter "
            "(weight), so the net finds how much negative signal to pass (as in the PReLU "
            "paper's ImageNet nets).",
            ("num_parameters",),
        ),
        LayerType("Mish", "activation", None, (_INPLACE,),
                  "x * tanh(softplus(x)): a smooth, non-monotonic ReLU like SiLU. Used in "
                  "YOLOv4, where it trained slightly better than ReLU."),
        LayerType("Softmax", "activation", None,
                  (Param("dim", INT, None, _H_DIM, minimum=-8, maximum=8, nullable=True),),
                  "exp(x) / sum of exp over dim: turns scores into probabilities that are "
                  "positive and add up to 1, as the last layer of a classifier.",
                  ("dim",)),
        LayerType("LogSoftmax", "activation", None,
                  (Param("dim", INT, None, _H_DIM, minimum=-8, maximum=8, nullable=True),),
                  "x - log(sum of exp over dim): the log of Softmax, computed without "
                  "overflow. Use it before NLLLoss (together they are cross-entropy).",
                  ("dim",)),
        LayerType(
            "Dropout1d",
            "activation",
            1,
            (Param("p", FLOAT, 0.5, _H_P_CHANNEL, minimum=0.0, maximum=1.0), _INPLACE),
            "Zeroes whole channels of an (N, C, L) signal at random during training. "
            "Neighbouring positions are strongly correlated, so dropping single values "
            "regularizes little; dropping channels makes the net use them all.",
            ("p",),
        ),
        LayerType(
            "Dropout2d",
            "activation",
            2,
            (Param("p", FLOAT, 0.5, _H_P_CHANNEL, minimum=0.0, maximum=1.0), _INPLACE),
            "Zeroes whole channels (feature maps) of an (N, C, H, W) input at random during "
            "training. Neighbouring pixels are strongly correlated, so dropping single values "
            "regularizes little; dropping maps makes the net use them all.",
            ("p",),
        ),
    ]


_PAD_ITEMS = {1: ("left", "right"), 2: ("left", "right", "top", "bottom")}
_PAD_WHAT = {
    "ZeroPad": "Adds a border of zeros around the input",
    "ConstantPad": "Adds a border of a constant value around the input",
    "ReflectionPad": "Adds a border that mirrors the input at its edge, without repeating the "
                     "edge value",
    "ReplicationPad": "Adds a border that repeats the input's edge value",
}
_PAD_WHY = {
    "ZeroPad": "Use it to pad unevenly (a different amount on each side), which a "
               "convolution's own padding cannot.",
    "ConstantPad": "Use it when zero is not neutral for what follows, e.g. -1 before a max "
                   "pool of values in [-1, 1].",
    "ReflectionPad": "Borders then look like the image itself, so a convolution makes no "
                     "dark frame: the usual choice in style transfer and image generation. "
                     "Each side must be smaller than the input.",
    "ReplicationPad": "Edges are continued without a jump, so filters see no artificial "
                      "edge at the border.",
}


def _padding() -> list[LayerType]:
    types = []
    for kind in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad"):
        for d in (1, 2):
            items = _PAD_ITEMS[d]
            padding = Param(
                "padding", SIZE, None,
                "How many cells to add on each side: one int for every side, or "
                f"{len(items)} ints ({', '.join(items)}), torch's order: the last dimension "
                "first.",
                required=True, minimum=0, count=len(items), item_names=items)
            params: tuple[Param, ...] = (padding,)
            if kind == "ConstantPad":
                params += (Param("value", FLOAT, None, "The value every padding cell gets.",
                                 required=True, minimum=-MAX_FLOAT),)
            shape = "(N, C, L)" if d == 1 else "(N, C, H, W)"
            types.append(LayerType(
                f"{kind}{d}d", "padding", d, params,
                f"{_PAD_WHAT[kind]} {shape}, making it larger. {_PAD_WHY[kind]}",
                ("padding", "value") if kind == "ConstantPad" else ("padding",)))
    return types


def _normalization() -> list[LayerType]:
    eps = Param("eps", FLOAT, 1e-5, _H_EPS, minimum=0.0)
    bias = Param("bias", BOOL, True, "Learn the per-channel shift (only when affine=True).",
                 keyword_only=True)
    types = [
        LayerType(
            "GroupNorm",
            "normalization",
            None,
            (Param("num_groups", INT, None,
                   "How many groups the channels are split into; each group is normalized "
                   "with its own mean and variance. 1 is LayerNorm over (C, H, W); "
                   "num_groups = C is InstanceNorm. Must divide num_channels.",
                   required=True, minimum=1),
             Param("num_channels", INT, None,
                   "Channels of the input (C). Left on auto it follows the previous layer's "
                   "output; set it to pin a value.", required=True, minimum=1, auto=True),
             eps,
             Param("affine", BOOL, True,
                   "Learn a per-channel scale (weight) and shift (bias) after normalizing."),
             bias),
            "Normalizes each sample's channels in groups (mean and variance over the group's "
            "channels and all positions), then scales and shifts per channel. Unlike "
            "BatchNorm it does not depend on the batch, so it works with a batch of 1 or 2 "
            "(detection, segmentation, video).",
            ("num_groups",),
        ),
    ]
    for d in (1, 2):
        shape = "(N, C, L)" if d == 1 else "(N, C, H, W)"
        types.append(LayerType(
            f"InstanceNorm{d}d",
            "normalization",
            d,
            (Param("num_features", INT, None, _H_NUM_FEATURES, required=True, minimum=1,
                   auto=True),
             eps,
             Param("momentum", FLOAT, 0.1, _H_MOMENTUM, minimum=0.0, maximum=1.0,
                   nullable=True),
             Param("affine", BOOL, False,
                   "Learn a per-channel scale (weight) and shift (bias) after normalizing. "
                   "Off by default, unlike BatchNorm."),
             Param("track_running_stats", BOOL, False,
                   "Keep running mean/variance for eval mode. Off by default, unlike "
                   "BatchNorm: each sample is normalized with its own statistics."),
             bias),
            f"Normalizes every channel of every sample of an {shape} input on its own (mean "
            "and variance over its positions only). It removes each image's contrast, which "
            "is why style transfer uses it.",
            ("num_features", "affine"),
        ))
    types += [
        LayerType(
            "LayerNorm",
            "normalization",
            None,
            (Param("normalized_shape", INTS, None,
                   "The last dimensions to normalize over, e.g. C (an int: the last "
                   "dimension) or (C, H, W). Left on auto it is the last dimension of what "
                   "arrives; set it to pin a value.", required=True, minimum=1, auto=True),
             eps,
             Param("elementwise_affine", BOOL, True,
                   "Learn a scale (weight) and a shift (bias) for every element of "
                   "normalized_shape."),
             Param("bias", BOOL, True,
                   "Learn the shift (only when elementwise_affine=True).")),
            "Normalizes each sample over its last dimensions (normalized_shape), then scales "
            "and shifts element-wise. Independent of the batch; the normalization of "
            "transformers and ConvNeXt.",
            ("normalized_shape",),
        ),
        LayerType(
            "LocalResponseNorm",
            "normalization",
            None,
            (Param("size", INT, None,
                   "How many neighbouring channels (centred on the channel itself) share "
                   "the normalization.", required=True, minimum=1),
             Param("alpha", FLOAT, 1e-4, "How strongly the neighbours' squares damp a value.",
                   minimum=0.0),
             Param("beta", FLOAT, 0.75, "The exponent of the damping term.", minimum=0.0),
             Param("k", FLOAT, 1.0, "The constant added before raising to beta, so nothing "
                   "divides by zero.", minimum=0.0)),
            "Divides each value by (k + alpha/size * sum of squares of the same position in "
            "size neighbouring channels)^beta, so strong channels damp their neighbours "
            "(lateral inhibition), as in AlexNet.",
            ("size",),
        ),
    ]
    return types


def _resampling() -> list[LayerType]:
    return [
        LayerType(
            "Upsample",
            "resampling",
            None,
            (Param("size", INTS, None,
                   "The output size you want: one int for every spatial dimension, or one "
                   "per dimension. Give either size or scale_factor, not both.",
                   minimum=1, nullable=True),
             Param("scale_factor", FLOATS, None,
                   "How many times larger the output is: output size = floor(input size * "
                   "scale_factor), one number or one per spatial dimension. Give either size "
                   "or scale_factor, not both.", minimum=0.0, nullable=True),
             Param("mode", CHOICE, "nearest",
                   "'nearest' copies the nearest input cell; 'linear' (3-D input), 'bilinear' "
                   "(4-D) and 'trilinear' (5-D) blend the 2, 4 or 8 nearest cells by "
                   "distance, which is smoother.",
                   choices=("nearest", "linear", "bilinear", "trilinear")),
             Param("align_corners", BOOL, None,
                   "Interpolating modes only. True: the corner cells of input and output line "
                   "up exactly; False (what None means): cells are squares whose centres are "
                   "spread over the same extent. It changes every value a little.",
                   nullable=True),
             Param("recompute_scale_factor", BOOL, None,
                   "With scale_factor: True computes the interpolation from the output size "
                   "that results (output/input), False or None from scale_factor itself. "
                   "They differ when input size * scale_factor is not whole.",
                   nullable=True)),
            "Makes maps larger without learned weights, by copying or interpolating values. "
            "Use it in decoders and feature pyramids; an Upsample followed by a convolution "
            "avoids the checkerboard artefacts of a strided ConvTranspose.",
            ("size", "scale_factor", "mode"),
        ),
        LayerType(
            "PixelShuffle",
            "resampling",
            None,
            (Param("upscale_factor", INT, None,
                   "r: every r*r channels become one channel r times taller and wider. The "
                   "channels must be a multiple of r*r.", required=True, minimum=1),),
            "Rearranges (N, C*r*r, H, W) into (N, C, H*r, W*r): no arithmetic, only moves. "
            "A convolution makes r*r channels at low resolution and the shuffle interleaves "
            "them into a sharp, larger image (sub-pixel convolution, ESPCN super-resolution).",
            ("upscale_factor",),
        ),
        LayerType(
            "PixelUnshuffle",
            "resampling",
            None,
            (Param("downscale_factor", INT, None,
                   "r: each r x r block of a channel becomes r*r channels. Height and width "
                   "must be multiples of r.", required=True, minimum=1),),
            "The inverse of PixelShuffle: (N, C, H*r, W*r) into (N, C*r*r, H, W). "
            "Downsampling that loses nothing: every value is kept, moved into channels.",
            ("downscale_factor",),
        ),
    ]


def _lp_pools() -> list[LayerType]:
    types = []
    for d in (1, 2):
        types.append(LayerType(
            f"LPPool{d}d",
            "pooling",
            d,
            (Param("norm_type", FLOAT, None,
                   "p: each window gives (sum of x^p)^(1/p). p = 1 is sum pooling, p = 2 the "
                   "window's Euclidean norm; a large p comes close to max pooling.",
                   required=True, minimum=0.01),
             Param("kernel_size", SIZE, None, _H_KERNEL, required=True, minimum=1),
             Param("stride", SIZE, None, _H_POOL_STRIDE, minimum=1, nullable=True),
             Param("ceil_mode", BOOL, False, _H_CEIL_MODE)),
            "Power-average pooling: (sum of x^p over the window)^(1/p). Between average "
            "pooling (p = 1, up to a factor) and max pooling (large p), with p chosen by you. "
            "Negative sums give NaN for fractional powers, as in torch.",
            ("norm_type", "kernel_size", "stride"),
        ))
    return types


def _reshape() -> list[LayerType]:
    return [
        LayerType("Identity", "reshape", None, (),
                  "Passes its input through unchanged. Use it as a placeholder: to switch a "
                  "layer off without changing the stack's names and indices, or to replace a "
                  "classifier head."),
        LayerType(
            "Unflatten",
            "reshape",
            None,
            (Param("dim", INT, None, "The dimension to split (negative: from the end).",
                   required=True, minimum=-8, maximum=8),
             Param("unflattened_size", INTS, None,
                   "The sizes dim is split into, as a tuple; their product must be dim's size. "
                   "One of them may be -1: torch works it out.",
                   required=True, minimum=-1, tuple_only=True)),
            "Splits one dimension into several, e.g. N x 320 into N x 20 x 4 x 4: the "
            "inverse of Flatten, as in a decoder that turns a vector back into maps.",
            ("dim", "unflattened_size"),
        ),
    ]


def more_types() -> tuple[LayerType, ...]:
    return tuple(_activations() + _padding() + _normalization() + _resampling() + _lp_pools()
                 + _reshape())
