"""The layer catalogue: the one place that describes every supported ``torch.nn`` layer type.

Forms, validation, config loading, shape inference, code export and the docs all read this.
Adding a layer type is one entry here (the convolution, pooling and batch-norm families, the
first activations and the reshapes) or in ``model/catalogue_more.py`` (the types of issue 14:
more activations, padding, normalization, resampling, LP pooling, Unflatten), plus its shape
rule (``model/shapes.py`` or ``model/shape_rules.py``), its print(model) text, its per-unit
computation and, where it applies, its explanation. No Qt and no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .limits import MAX_CHANNELS, MAX_FLOAT, MAX_SIZE

# Parameter kinds.
INT = "int"  # a single integer
FLOAT = "float"  # a single float
BOOL = "bool"
CHOICE = "choice"  # one of ``choices`` (strings)
SIZE = "size"  # an int, or a tuple with one int per spatial dimension (or ``count`` ints)
PADDING = "padding"  # a SIZE, or 'same' / 'valid' (convolutions)
INTS = "ints"  # an int or a tuple of ints of any length (LayerNorm's normalized_shape)
FLOATS = "floats"  # a float or a tuple of floats of any length (Upsample's scale_factor)

MAX_ITEMS = 8  # items of an INTS / FLOATS tuple at most (no tensor here has more dimensions)
LAYERS = "layers"  # earlier layers of the stack: a name, an index or "input" (a list if multiple)

GROUPS = (
    ("convolution", "Convolution"),
    ("pooling", "Pooling"),
    ("unpooling", "Unpooling"),
    ("padding", "Padding"),
    ("normalization", "Normalization"),
    ("activation", "Activation"),
    ("resampling", "Upsampling / pixel shuffle"),
    ("reshape", "Reshape / linear"),
    ("merge", "Merge (skip connections)"),
)

# The channel-like parameter of a layer that follows the previous layer's output when it is
# not given explicitly ("auto"); a value given explicitly is "pinned" and checked instead.
AUTO_PARAMS = ("in_channels", "num_features", "in_features", "num_channels", "normalized_shape")


def auto_value(name: str, shape: tuple[int, ...]) -> int:
    """What an auto parameter takes from the shape that arrives: the last dimension for
    in_features and normalized_shape, the channels (dimension 1) for the others."""
    return shape[-1] if name in ("in_features", "normalized_shape") else shape[1]


@dataclass(frozen=True)
class Param:
    """One constructor keyword of a layer type, as torch names and defaults it."""

    name: str
    kind: str
    default: Any = None
    help: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False  # None is a valid value (e.g. pool stride: None means kernel_size)
    item_nullable: bool = False  # items of a tuple may be None (adaptive output_size)
    keyword_only: bool = False  # torch only accepts it by keyword
    auto: bool = False  # inferred from the previous layer when omitted
    count: int | None = None  # SIZE: items of a tuple when not one per dimension (padding layers)
    item_names: tuple[str, ...] = ()  # SIZE with ``count``: what each item is (for the form)
    tuple_only: bool = False  # INTS: torch takes a tuple only, not a bare int (Unflatten)
    multiple: bool = False  # LAYERS: a list of one or more references

    def __post_init__(self) -> None:
        # Every number has an upper bound, the same wherever a value enters (config file, form,
        # importer): counts (channels, features, groups) MAX_CHANNELS, sizes MAX_SIZE, floats
        # MAX_FLOAT, unless the entry gives its own (see model.limits).
        defaults = {INT: MAX_CHANNELS, SIZE: MAX_SIZE, PADDING: MAX_SIZE, FLOAT: MAX_FLOAT,
                    INTS: MAX_SIZE, FLOATS: MAX_FLOAT}
        if self.maximum is None and self.kind in defaults:
            object.__setattr__(self, "maximum", defaults[self.kind])

    @property
    def is_reference(self) -> bool:
        return self.kind == LAYERS

    @property
    def is_size(self) -> bool:
        return self.kind in (SIZE, PADDING)


@dataclass(frozen=True)
class LayerType:
    """A supported torch.nn layer class: its parameters in torch's positional order."""

    name: str
    group: str
    dims: int | None  # spatial dimensions the layer works on (1, 2, 3), or None for any rank
    params: tuple[Param, ...]
    help: str
    key_params: tuple[str, ...] = ()  # shown in a one-line summary
    has_indices: bool = field(default=False)  # can return argmax indices (return_indices)

    def param(self, name: str) -> Param:
        return self._by_name[name]  # KeyError for a name the type does not have

    @cached_property
    def _by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        # cached: shape inference asks for it tens of times per layer
        return tuple(p.name for p in self.params)

    @property
    def auto_param(self) -> Param | None:
        for p in self.params:
            if p.auto:
                return p
        return None

    @property
    def is_conv(self) -> bool:
        return self.group == "convolution"

    @property
    def is_transpose(self) -> bool:
        return self.name.startswith("ConvTranspose")

    @property
    def is_adaptive(self) -> bool:
        return self.name.startswith("Adaptive")

    @property
    def is_unpool(self) -> bool:
        return self.name.startswith("MaxUnpool")

    @property
    def is_merge(self) -> bool:
        """Joins the previous layer's output with earlier outputs (``from``): no torch.nn
        module, an operation in ``forward()`` (``+``, ``torch.cat``, ``*``)."""
        return self.group == "merge"

    @property
    def is_window(self) -> bool:
        """Slides a kernel window: has the output-size formula."""
        return "kernel_size" in self.param_names


# ---------------------------------------------------------------------------------------------
# Help texts shared by several types. They answer "what is it, and why would I use it".

_H_IN_CHANNELS = (
    "Channels of the input (C in N, C, H, W). Left on auto it follows the previous layer's "
    "output; set it to pin a value, which is then checked against what arrives."
)
_H_OUT_CHANNELS = (
    "How many filters the layer learns, so how many channels (feature maps) it outputs. "
    "More filters can detect more kinds of pattern, at the cost of parameters and compute."
)
_H_KERNEL = (
    "Size of the window the layer slides over the input. A bigger kernel sees more context "
    "per output value; stacking small kernels grows the receptive field more cheaply."
)
_H_STRIDE = (
    "How far the window moves between outputs. stride=2 roughly halves the output size: "
    "a cheap way to downsample. If the stride does not divide evenly, the last input "
    "rows/columns may never be covered."
)
_H_POOL_STRIDE = (
    "How far the window moves between outputs. None (the default) means stride = kernel_size, "
    "so windows tile the input without overlap; a smaller stride makes windows overlap."
)
_H_CONV_PADDING = (
    "Border added on each side before sliding: an int, one per dimension, 'same' (output as "
    "large as the input; stride must be 1) or 'valid' (no padding). Padding keeps maps from "
    "shrinking and lets edge pixels be seen as often as central ones."
)
_H_PAD = (
    "Implicit border added on each side of the input. For pooling it must be at most half the "
    "kernel size, and the pad is never chosen as a maximum (max pooling pads with -inf)."
)
_H_DILATION = (
    "Spacing between kernel taps: dilation=2 puts a hole between each tap, so a 3-wide kernel "
    "spans 5 inputs (effective size d*(k-1)+1) with the same 3 weights. Use it to see a wider "
    "context without more parameters or downsampling, e.g. in audio (WaveNet) or segmentation."
)
_H_GROUPS = (
    "Splits input and output channels into this many independent groups; each output channel "
    "only sees the input channels of its own group. groups=1 connects everything; "
    "groups=in_channels is a depthwise convolution (one filter per channel). Groups cut "
    "parameters and compute by that factor, as in ResNeXt and MobileNet. Must divide both "
    "in_channels and out_channels."
)
_H_BIAS = "Adds a learnable constant per output channel. Often turned off before a BatchNorm."
_H_PADDING_MODE = (
    "What the padded border contains: 'zeros', 'reflect' (mirror without the edge), "
    "'replicate' (repeat the edge value) or 'circular' (wrap around)."
)
_H_RETURN_INDICES = (
    "Also return where each maximum came from: for every output value, the flat position "
    "(within its channel's input map) of the winning input. MaxUnpool needs them to put values "
    "back in place (as in SegNet-style decoders), and they show which inputs receive gradient: "
    "max pooling sends gradient only to the winners."
)
_H_CEIL_MODE = (
    "Round the output size up instead of down, so a last, partial window covers the input "
    "rows/columns that the floor rule would drop. A window must still start inside the input "
    "or the left padding. Use it to keep edge information, or to match sizes in "
    "encoder/decoder nets."
)
_H_COUNT_INCLUDE_PAD = (
    "Whether zeros in the padding count in the average. False averages only real inputs, so "
    "values near the border are not pulled towards zero."
)
_H_OUTPUT_SIZE = (
    "The output size you want; the layer picks windows to get it from any input size. "
    "None in a dimension keeps the input's size there. Handy before a Linear layer, so the "
    "net accepts any image size (as in ResNet's global average pool)."
)
_H_ADAPTIVE_INDICES = (
    "Also return where each maximum came from: for every output value, the flat position "
    "(within its channel's input map) of the winning input. Use them to see which inputs win, "
    "and so receive gradient (max pooling sends gradient only to the winners), or to locate "
    "each channel's strongest response. A MaxUnpool here pairs only with a MaxPool, not with "
    "an adaptive pool."
)
_H_UNPOOL_KERNEL = "Kernel size of the MaxPool whose indices this layer uses (match that pool)."
_H_UNPOOL_STRIDE = "Stride of the matching MaxPool. None means stride = kernel_size."
_H_UNPOOL_PADDING = "Padding of the matching MaxPool."
_H_NUM_FEATURES = (
    "Channels to normalize (C). Left on auto it follows the previous layer's output; set it "
    "to pin a value."
)
_H_EPS = "Added to the variance before dividing, to avoid division by zero."
_H_MOMENTUM = (
    "How fast the running mean/variance follow each batch (None: a cumulative average). "
    "They are only used in eval mode."
)
_H_AFFINE = "Learn a per-channel scale (weight) and shift (bias) after normalizing."
_H_TRACK = (
    "Keep running mean/variance for eval mode. If False, batch statistics are used in eval "
    "mode too."
)
_H_BN_BIAS = "Learn the per-channel shift (only when affine=True)."
_H_INPLACE = (
    "Overwrite the input instead of allocating a new tensor, to save memory. convexplorer "
    "always runs out of place so every layer's own output can be shown; values are the same."
)

_CONV_TRANSPOSE_HELP = (
    "The gradient of a convolution, used to upsample: each input value paints a scaled copy "
    "of the kernel into the output. stride=2 roughly doubles the size."
)


def _conv_params(dims: int, transpose: bool) -> tuple[Param, ...]:
    head = (
        Param("in_channels", INT, None, _H_IN_CHANNELS, required=True, minimum=1, auto=True),
        Param("out_channels", INT, None, _H_OUT_CHANNELS, required=True, minimum=1),
        Param("kernel_size", SIZE, None, _H_KERNEL, required=True, minimum=1),
        Param("stride", SIZE, 1, _H_STRIDE, minimum=1),
    )
    dilation = Param("dilation", SIZE, 1, _H_DILATION, minimum=1)
    groups = Param("groups", INT, 1, _H_GROUPS, minimum=1)
    bias = Param("bias", BOOL, True, _H_BIAS)
    if not transpose:
        return head + (
            Param("padding", PADDING, 0, _H_CONV_PADDING, minimum=0, choices=("same", "valid")),
            dilation,
            groups,
            bias,
            Param(
                "padding_mode",
                CHOICE,
                "zeros",
                _H_PADDING_MODE,
                choices=("zeros", "reflect", "replicate", "circular"),
            ),
        )
    return head + (
        Param(
            "padding",
            SIZE,
            0,
            "Removes this many rows/columns from each side of the output (the inverse of a "
            "convolution's padding): dilation*(kernel_size-1) - padding zeros are added around "
            "the input.",
            minimum=0,
        ),
        Param(
            "output_padding",
            SIZE,
            0,
            "Extra rows/columns added to one side of the output. A strided convolution maps "
            "several input sizes to one output size; this picks which one to go back to. "
            "Must be smaller than stride or dilation.",
            minimum=0,
        ),
        groups,
        bias,
        dilation,
        Param(
            "padding_mode",
            CHOICE,
            "zeros",
            "Only 'zeros' is supported by torch for transposed convolutions.",
            choices=("zeros",),
        ),
    )


def _maxpool_params() -> tuple[Param, ...]:
    return (
        Param("kernel_size", SIZE, None, _H_KERNEL, required=True, minimum=1),
        Param("stride", SIZE, None, _H_POOL_STRIDE, minimum=1, nullable=True),
        Param("padding", SIZE, 0, _H_PAD, minimum=0),
        Param("dilation", SIZE, 1, _H_DILATION, minimum=1),
        Param("return_indices", BOOL, False, _H_RETURN_INDICES),
        Param("ceil_mode", BOOL, False, _H_CEIL_MODE),
    )


def _avgpool_params(dims: int) -> tuple[Param, ...]:
    params = (
        Param("kernel_size", SIZE, None, _H_KERNEL, required=True, minimum=1),
        Param("stride", SIZE, None, _H_POOL_STRIDE, minimum=1, nullable=True),
        Param("padding", SIZE, 0, _H_PAD, minimum=0),
        Param("ceil_mode", BOOL, False, _H_CEIL_MODE),
        Param("count_include_pad", BOOL, True, _H_COUNT_INCLUDE_PAD),
    )
    if dims >= 2:
        params += (
            Param(
                "divisor_override",
                INT,
                None,
                "Divide every window sum by this number instead of the window size "
                "(None: the window size).",
                minimum=1,
                nullable=True,
            ),
        )
    return params


def _bn_params() -> tuple[Param, ...]:
    return (
        Param("num_features", INT, None, _H_NUM_FEATURES, required=True, minimum=1, auto=True),
        Param("eps", FLOAT, 1e-5, _H_EPS, minimum=0.0),
        Param("momentum", FLOAT, 0.1, _H_MOMENTUM, minimum=0.0, maximum=1.0, nullable=True),
        Param("affine", BOOL, True, _H_AFFINE),
        Param("track_running_stats", BOOL, True, _H_TRACK),
        Param("bias", BOOL, True, _H_BN_BIAS, keyword_only=True),
    )


def _types() -> tuple[LayerType, ...]:
    types: list[LayerType] = []
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"Conv{d}d",
                "convolution",
                d,
                _conv_params(d, transpose=False),
                f"Slides out_channels learned filters over a {d}-D input; each output channel is "
                "a weighted sum of a window of input channels."
                + (" Use it on volumes (N, C, D, H, W): video clips, CT or MRI scans."
                   if d == 3 else ""),
                ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups"),
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"ConvTranspose{d}d",
                "convolution",
                d,
                _conv_params(d, transpose=True),
                _CONV_TRANSPOSE_HELP,
                ("out_channels", "kernel_size", "stride", "padding", "output_padding"),
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"MaxPool{d}d",
                "pooling",
                d,
                _maxpool_params(),
                "Keeps the largest value of each window: a small, parameter-free downsampling "
                "that keeps the strongest responses.",
                ("kernel_size", "stride", "padding", "ceil_mode", "return_indices"),
                has_indices=True,
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"AvgPool{d}d",
                "pooling",
                d,
                _avgpool_params(d),
                "Averages each window: downsampling that keeps every input's contribution, "
                "smoother than max pooling.",
                ("kernel_size", "stride", "padding", "ceil_mode"),
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"AdaptiveMaxPool{d}d",
                "pooling",
                d,
                (
                    Param("output_size", SIZE, None, _H_OUTPUT_SIZE, required=True, minimum=1,
                          item_nullable=True),
                    Param("return_indices", BOOL, False, _H_ADAPTIVE_INDICES),
                ),
                "Max pooling to a fixed output size, whatever the input size.",
                ("output_size", "return_indices"),
                has_indices=True,
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"AdaptiveAvgPool{d}d",
                "pooling",
                d,
                (Param("output_size", SIZE, None, _H_OUTPUT_SIZE, required=True, minimum=1,
                       item_nullable=True),),
                "Average pooling to a fixed output size, whatever the input size.",
                ("output_size",),
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"MaxUnpool{d}d",
                "unpooling",
                d,
                (
                    Param("kernel_size", SIZE, None, _H_UNPOOL_KERNEL, required=True, minimum=1),
                    Param("stride", SIZE, None, _H_UNPOOL_STRIDE, minimum=1, nullable=True),
                    Param("padding", SIZE, 0, _H_UNPOOL_PADDING, minimum=0),
                ),
                f"Puts each value back at the position its MaxPool{d}d took it from (using that "
                f"pool's return_indices) and fills the rest with zeros. It uses the indices of "
                f"the nearest earlier MaxPool{d}d with return_indices=True not yet unpooled, and "
                "restores that pool's input size.",
                ("kernel_size", "stride"),
            )
        )
    for d in (1, 2, 3):
        types.append(
            LayerType(
                f"BatchNorm{d}d",
                "normalization",
                d,
                _bn_params(),
                "Normalizes each channel to zero mean and unit variance over the batch (and "
                "positions), then scales and shifts. Runs in training mode here, so it uses the "
                "statistics of this batch.",
                ("num_features",),
            )
        )
    types += [
        LayerType("ReLU", "activation", None, (Param("inplace", BOOL, False, _H_INPLACE),),
                  "max(0, x): keeps positive values, zeroes the rest. The usual activation of "
                  "conv nets: cheap, and its gradient does not fade for positive inputs."),
        LayerType(
            "LeakyReLU",
            "activation",
            None,
            (
                Param("negative_slope", FLOAT, 0.01,
                      "Slope for negative inputs, so they still pass a little gradient.",
                      minimum=0.0),
                Param("inplace", BOOL, False, _H_INPLACE),
            ),
            "Like ReLU, but negative values are scaled by negative_slope instead of zeroed.",
            ("negative_slope",),
        ),
        LayerType(
            "GELU",
            "activation",
            None,
            (Param("approximate", CHOICE, "none",
                   "'none' computes x*Phi(x) exactly; 'tanh' uses the faster tanh approximation.",
                   choices=("none", "tanh")),),
            "A smooth ReLU: x weighted by the probability that a normal variable is below x.",
            ("approximate",),
        ),
        LayerType("Sigmoid", "activation", None, (),
                  "Squashes values into (0, 1). Use it for a probability or a gate; deep in "
                  "a net its small gradients slow learning."),
        LayerType("Tanh", "activation", None, (),
                  "Squashes values into (-1, 1), centred on 0. Use it where an output must be "
                  "bounded and signed, as in a generator's last layer."),
        LayerType(
            "Dropout",
            "activation",
            None,
            (
                Param("p", FLOAT, 0.5,
                      "Probability of zeroing each value (training mode); the rest are scaled "
                      "by 1/(1-p). Seeded here, so runs repeat.",
                      minimum=0.0, maximum=1.0),
                Param("inplace", BOOL, False, _H_INPLACE),
            ),
            "Randomly zeroes values during training, so the net cannot rely on any single one.",
            ("p",),
        ),
        LayerType(
            "Flatten",
            "reshape",
            None,
            (
                Param("start_dim", INT, 1, "First dimension to flatten (1 keeps the batch).",
                      minimum=-8, maximum=8),
                Param("end_dim", INT, -1, "Last dimension to flatten (-1: the last one).",
                      minimum=-8, maximum=8),
            ),
            "Joins dimensions into one, e.g. N x 20 x 4 x 4 into N x 320 before a Linear layer.",
            ("start_dim", "end_dim"),
        ),
        LayerType(
            "Linear",
            "reshape",
            None,
            (
                Param("in_features", INT, None,
                      "Size of the input's last dimension. Left on auto it follows the previous "
                      "layer; set it to pin a value.",
                      required=True, minimum=1, auto=True),
                Param("out_features", INT, None, "Size of each output vector.", required=True,
                      minimum=1),
                Param("bias", BOOL, True, _H_BIAS),
            ),
            "A fully connected layer: every output is a weighted sum of all inputs of the last "
            "dimension, plus a bias.",
            ("out_features",),
        ),
    ]
    types += _merge_types()
    return tuple(types)


_H_FROM_ONE = (
    "The earlier output to {use}: a layer's name, its index (0 is the first layer) or 'input' "
    "(the stack's input). It must come before this layer, and its shape must {fit}."
)


def _merge_types() -> list[LayerType]:
    """Skip connections: a merge joins the previous layer's output with earlier outputs named
    in ``from``. Shape rules in ``model.merges``."""
    broadcast = ("match the previous layer's output or broadcast with it as torch does (each "
                 "size equal, or one of them 1)")
    return [
        LayerType(
            "Add",
            "merge",
            None,
            (Param("from", LAYERS, None, _H_FROM_ONE.format(use="add", fit=broadcast),
                   required=True),),
            "Adds an earlier output to the previous layer's output, element by element: "
            "out = previous + from. This is the skip (residual) connection of a ResNet block: "
            "the layers in between only learn a correction to their input, and the gradient "
            "flows back through the addition into both paths unchanged.",
            ("from",),
        ),
        LayerType(
            "Concat",
            "merge",
            None,
            (
                Param("from", LAYERS, None,
                      "The earlier outputs to join after the previous layer's output, in this "
                      "order: layer names, indices (0 is the first layer) or 'input' (the "
                      "stack's input). Each must come before this layer and have the previous "
                      "output's size in every dimension except dim.",
                      required=True, multiple=True),
                Param("dim", INT, 1,
                      "The dimension to join along: 1 (the default) stacks channels; a "
                      "negative number counts from the end, as in torch.cat.",
                      minimum=-8, maximum=8),
            ),
            "Joins the previous layer's output and earlier outputs along one dimension: "
            "out = torch.cat([previous, *from], dim). A U-Net decoder joins the encoder's map "
            "of the same size, so detail lost by downsampling comes back; an Inception block "
            "joins its branches. The sizes along dim add up; every other size must be equal.",
            ("from", "dim"),
        ),
        LayerType(
            "Multiply",
            "merge",
            None,
            (Param("from", LAYERS, None, _H_FROM_ONE.format(use="multiply by", fit=broadcast),
                   required=True),),
            "Multiplies the previous layer's output by an earlier output, element by element: "
            "out = previous * from, broadcasting as torch does. A squeeze-and-excitation block "
            "scales each channel of a feature map by a learned gate in (0, 1) this way: the "
            "gate's (N, C, 1, 1) stretches over the map's H and W.",
            ("from",),
        ),
    ]


def _all_types() -> tuple[LayerType, ...]:
    # the types of issue 14 live in their own module, which uses this one's Param and LayerType
    from .catalogue_more import more_types

    return _types() + more_types()


CATALOGUE: dict[str, LayerType] = {t.name: t for t in _all_types()}


def layer_type(name: str) -> LayerType:
    """The catalogue entry for a torch.nn class name (KeyError if unsupported)."""
    return CATALOGUE[name]


TYPES_SHOWN = 8  # type names a message lists at most (there are over 60)
SOME_TYPES = "{names}, and {more} more (docs/cli.md lists them all)"


def some_types(near: str | None = None, most: int = TYPES_SHOWN) -> str:
    """A few type names for a message: those closest to ``near`` (a misspelt name), else the
    first of the catalogue, in catalogue order, and how many more there are."""
    import difflib

    names = list(CATALOGUE)
    close = set(difflib.get_close_matches(near, names, n=most, cutoff=0.6)) if near else set()
    shown = [n for n in names if n in close] or names[:most]
    return SOME_TYPES.format(names=", ".join(shown), more=len(names) - len(shown))


def types_in_group(group: str) -> list[LayerType]:
    return [t for t in CATALOGUE.values() if t.group == group]
