"""What one output unit is made of: the terms (input value x weight), the bias, the window it
reads, torch's value beside the recomputed one, and the sentences that tell it.

The terms are kept as numpy arrays (a 3x3 convolution over 64 channels has 576 of them) and
turned into ``Term`` tuples only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np


class UnitError(ValueError):
    """A unit that cannot be computed (outside the output, a missing array, an unknown type).
    The message is one sentence that names what would be valid."""


class Term(NamedTuple):
    """One input's contribution to the unit. ``input_index`` is the full index into the layer's
    input, or None for a padding cell; a reflect/replicate/circular padding cell names the input
    cell it copies in ``source_index``. ``padded_position`` is the tap's position on the padded
    input (spatial dimensions only), for drawing the window."""

    input_index: tuple[int, ...] | None
    input_value: float
    weight_index: tuple[int, ...] | None
    weight_value: float | None
    product: float
    source_index: tuple[int, ...] | None = None
    padded_position: tuple[int, ...] | None = None


@dataclass(eq=False)
class TermData:
    """The terms as arrays, one row per term. ``input_index`` rows of padding cells are -1 (see
    ``padding``); ``source_index`` rows are -1 where a cell copies nothing (a real input, or a
    zero padding cell)."""

    input_index: np.ndarray  # (T, x.ndim) int64
    input_value: np.ndarray  # (T,) float64
    product: np.ndarray  # (T,) float64
    weight_index: np.ndarray | None = None  # (T, weight.ndim) int64
    weight_value: np.ndarray | None = None  # (T,) float64
    padding: np.ndarray | None = None  # (T,) bool: the cell lies in the padding
    source_index: np.ndarray | None = None  # (T, x.ndim) int64
    padded_position: np.ndarray | None = None  # (T, spatial dims) int64

    def __len__(self) -> int:
        return len(self.product)

    @staticmethod
    def empty(x_ndim: int) -> TermData:
        return TermData(np.zeros((0, x_ndim), np.int64), np.zeros(0), np.zeros(0))

    def terms(self) -> list[Term]:
        n = len(self)
        inputs = self.input_index.tolist()
        values = self.input_value.tolist()
        products = self.product.tolist()
        w_idx = self.weight_index.tolist() if self.weight_index is not None else [None] * n
        w_val = self.weight_value.tolist() if self.weight_value is not None else [None] * n
        pad = self.padding.tolist() if self.padding is not None else [False] * n
        src = self.source_index.tolist() if self.source_index is not None else [None] * n
        pos = self.padded_position.tolist() if self.padded_position is not None else [None] * n
        out = []
        for i in range(n):
            s = src[i]
            out.append(Term(
                None if pad[i] else tuple(inputs[i]), values[i],
                None if w_idx[i] is None else tuple(w_idx[i]), w_val[i], products[i],
                tuple(s) if s is not None and s[0] >= 0 else None,
                None if pos[i] is None else tuple(pos[i])))
        return out

    @staticmethod
    def json(terms: list[Term]) -> list[dict]:
        return [{"input_index": None if t.input_index is None else list(t.input_index),
                 "input_value": t.input_value,
                 "weight_index": None if t.weight_index is None else list(t.weight_index),
                 "weight_value": t.weight_value,
                 "product": t.product,
                 "source_index": None if t.source_index is None else list(t.source_index),
                 "padded_position": (None if t.padded_position is None
                                     else list(t.padded_position))}
                for t in terms]


@dataclass(frozen=True)
class WindowDim:
    """Where the unit's window lies along one spatial dimension (axis "L", "H" or "W").

    Positions are on the padded input (0 is the first padding cell; an input position is
    ``position - pad_before``). ``padding`` marks taps in the padding, ``beyond`` taps past the
    padded input (the overhang of a ceil_mode window), which are not read. For a transposed
    convolution the taps are the input positions whose kernel copies land on this output
    (``kernel_taps`` says which kernel element) and there is no padding."""

    axis: str
    size: int  # the input's size along this axis
    pad_before: int
    pad_after: int
    stride: int | None  # None: an adaptive window (no fixed stride)
    dilation: int
    kernel_size: int
    positions: tuple[int, ...]
    kernel_taps: tuple[int, ...]
    padding: tuple[bool, ...]
    beyond: tuple[bool, ...]

    @property
    def start(self) -> int:
        """First tap on the padded input (a window with no tap starts and stops at 0)."""
        return self.positions[0] if self.positions else 0

    @property
    def stop(self) -> int:
        """One past the last tap on the padded input."""
        return self.positions[-1] + 1 if self.positions else 0

    @property
    def input_positions(self) -> tuple[int, ...]:
        """The taps as input positions (negative or >= size: padding or beyond)."""
        return tuple(p - self.pad_before for p in self.positions)

    def json(self) -> dict:
        return {"axis": self.axis, "size": self.size, "pad_before": self.pad_before,
                "pad_after": self.pad_after, "stride": self.stride, "dilation": self.dilation,
                "kernel_size": self.kernel_size, "start": self.start, "stop": self.stop,
                "positions": list(self.positions), "kernel_taps": list(self.kernel_taps),
                "padding": list(self.padding), "beyond": list(self.beyond)}


KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_max_pool",
         "adaptive_avg_pool", "max_unpool", "batch_norm", "activation", "dropout", "linear",
         "flatten", "softmax", "group_norm", "instance_norm", "layer_norm",
         "local_response_norm", "pad", "upsample", "pixel_shuffle", "pixel_unshuffle",
         "unflatten", "lp_pool", "add", "concat", "multiply")
#: How the products of the terms make the unit: added up (plus the bias); the largest (max
#: pools); their values multiplied (Multiply); or a formula of the values read, worked out in
#: the sentences and ``extra`` (softmax, the normalizations over a slice, LP pooling): the
#: products are then what each value brings to the formula (exp(x - max), x - mean, x², x^p).
REDUCES = ("sum", "max", "product", "formula")


@dataclass(eq=False)
class Breakdown:
    """How one output unit is made, with the real numbers.

    The products of ``terms`` add up (plus ``bias``) to the unit, except for max pools
    (``reduce == "max"``), whose unit is the largest product, Multiply (``reduce ==
    "product"``), whose unit is the product of the terms' values, and formulas over a slice
    (``reduce == "formula"``, see ``REDUCES``). ``value`` is torch's, from the
    layer's output; ``recomputed`` is the NumPy recomputation (float64 from the float32 arrays).
    """

    layer: str  # the layer's label, e.g. "conv1 (Conv2d)"
    type: str  # the torch.nn class name
    kind: str  # one of KINDS
    unit: tuple[int, ...]  # full index into the output
    value: float
    recomputed: float
    bias: float | None
    data: TermData
    lines: list[str]
    reduce: str = "sum"  # how the products make the unit: one of REDUCES
    window: tuple[WindowDim, ...] = ()
    channel_sums: dict[int, float] = field(default_factory=dict)  # input channel -> partial sum
    flat_index: int | None = None  # max pools: argmax in the channel's input map; unpool: source
    torch_index: int | None = None  # max pools: torch's return_indices value, when given
    candidates: tuple[tuple[int, ...], ...] = ()  # unpool: pooled cells whose index points here
    extra: dict[str, float] = field(default_factory=dict)  # divisor, mean, var, scale, ...
    # merges: which tensor each term's input_index points into ("input", "conv1 (Conv2d)
    # output"): the previous output and the outputs ``from`` names
    operands: tuple[str, ...] = ()
    difference: float = field(init=False)

    def __post_init__(self) -> None:
        # equal infinities (a max pool window of padding only) differ by 0, not nan; so do two
        # NaNs (LP pooling of a negative sum with a fractional power)
        same = self.recomputed == self.value or (self.recomputed != self.recomputed
                                                 and self.value != self.value)
        self.difference = 0.0 if same else self.recomputed - self.value

    @cached_property
    def terms(self) -> list[Term]:
        return self.data.terms()

    @property
    def products(self) -> np.ndarray:
        return self.data.product

    def summary(self, limit: int = 64) -> TermSummary:
        return summarize_terms(self, limit)

    def text(self) -> str:
        """The plain-text breakdown a command line prints: one line per sentence or formula."""
        return "\n".join(self.lines)

    def to_json(self) -> dict:
        return {"layer": self.layer, "type": self.type, "kind": self.kind,
                "unit": list(self.unit), "value": self.value, "recomputed": self.recomputed,
                "difference": self.difference, "bias": self.bias, "reduce": self.reduce,
                "terms": TermData.json(self.terms),
                "channel_sums": [{"channel": c, "sum": s} for c, s in self.channel_sums.items()],
                "window": [w.json() for w in self.window],
                "flat_index": self.flat_index, "torch_index": self.torch_index,
                "candidates": [list(c) for c in self.candidates],
                "extra": dict(self.extra), "operands": list(self.operands),
                "lines": list(self.lines)}


@dataclass(frozen=True)
class TermSummary:
    """What fits on screen: every term when there are at most ``limit``, else the largest
    contributions (by |product|, in their original order) and the rest as one sum."""

    shown: list[Term]
    rest_count: int
    rest_sum: float

    @property
    def complete(self) -> bool:
        return self.rest_count == 0


def summarize_terms(data: TermData | Breakdown, limit: int = 64) -> TermSummary:
    """The largest ``limit - 1`` contributions and the sum of the rest (all terms when there
    are at most ``limit``)."""
    if isinstance(data, Breakdown):
        terms, data = data.terms, data.data  # the breakdown's Term list, made once
    else:
        terms = data.terms()
    n = len(data)
    if n <= limit:
        return TermSummary(list(terms), 0, 0.0)
    keep = max(limit - 1, 0)
    order = np.argsort(-np.abs(data.product), kind="stable")
    chosen = np.sort(order[:keep])
    rest = np.ones(n, bool)
    rest[chosen] = False
    return TermSummary([terms[i] for i in chosen.tolist()], int(rest.sum()),
                       float(data.product[rest].sum()))
