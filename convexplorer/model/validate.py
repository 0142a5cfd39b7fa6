"""Checks of one layer's parameters on their own (types, bounds, rules between parameters).

Checks that need the input shape live in ``model.shapes``. Problems come back as data, never as
exceptions: which layer, which field, what is wrong and how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .catalogue import (
    BOOL,
    CHOICE,
    FLOAT,
    FLOATS,
    INT,
    INTS,
    LAYERS,
    MAX_ITEMS,
    PADDING,
    SIZE,
    LayerType,
    Param,
)
from .limits import fmt_number
from .spec import LayerSpec

AT_LEAST = "{field}={value} must be at least {limit}"
AT_MOST = "{field}={value} must be at most {limit}"
USE_AT_LEAST = "use {limit} or more"
USE_AT_MOST = "use {limit} or less"
NOT_FINITE = "{field}={value} must be a finite number"
ITEMS_COUNT = "{field}={value} has {count} values but the layer takes one int or {want} ({names})"
ITEMS_COUNT_FIX = "give one int or {want} ints"
INTS_TYPE = "{field} must be an int or a tuple of ints, got {value}"
INTS_TUPLE = "{field} must be a tuple of ints, such as (2, -1), got {value}"
FLOATS_TYPE = "{field} must be a number or a tuple of numbers, got {value}"
ITEMS_LENGTH = "{field}={value} has {count} values; give 1 to {most}"


@dataclass(frozen=True)
class Problem:
    """Something wrong with a config. ``layer`` is the layer index (None: the input or the
    config as a whole); ``field`` the parameter (None: the layer as a whole)."""

    layer: int | None
    label: str  # e.g. "conv1 (Conv2d)" or "input"
    field: str | None
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = self.label + (f" {self.field}" if self.field else "")
        return f"{where}: {self.message}" + (f"; {self.fix}" if self.fix else "")

    @property
    def short(self) -> str:
        """The message and fix without the layer label, for a tooltip on the field itself."""
        return self.message + (f"; {self.fix}" if self.fix else "")


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def expand(value: Any, dims: int) -> tuple:
    """An int (or None) for every dimension, from an int or a tuple."""
    if isinstance(value, tuple):
        return value
    return (value,) * dims


DIVISOR_SEARCH = 100_000  # trial divisions at most: instant, whatever the number


def divisors(n: int, at_most: int | None = None) -> list[int]:
    """The divisors of ``n`` up to ``at_most``, smallest first: suggestions for a message.

    Trial division runs only up to sqrt(n) (each small divisor brings its cofactor), and at
    most DIVISOR_SEARCH steps, so a channel count of 10**12 answers at once; past that cap
    some large divisors may be missing, which a suggestion can afford."""
    if not is_int(n) or n < 1:
        return []
    top = n if at_most is None else min(n, at_most)
    steps = min(math.isqrt(n), top, DIVISOR_SEARCH)
    small = [d for d in range(1, steps + 1) if n % d == 0]
    large = [n // d for d in small if steps < n // d <= top]
    return small + sorted(large)


def or_list(values) -> str:
    """1, 2 or 4"""
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    return fmt_number(v)


def _check_value(p: Param, v: Any, dims: int) -> tuple[str, str] | None:
    """(message, fix) if ``v`` is not a valid value of parameter ``p``."""
    if v is None:
        return None if p.nullable else ("must be set (got None)", f"default is {_fmt(p.default)}")
    lo, hi = p.minimum, p.maximum

    def bounds(x: Any) -> tuple[str, str] | None:
        for limit, broken, message, fix in ((lo, lo is not None and x < lo, AT_LEAST,
                                             USE_AT_LEAST),
                                            (hi, hi is not None and x > hi, AT_MOST,
                                             USE_AT_MOST)):
            if broken:
                return (message.format(field=p.name, value=_fmt(v), limit=fmt_number(limit)),
                        fix.format(limit=fmt_number(limit)))
        return None

    if p.kind == INT:
        if not is_int(v):
            return f"{p.name} must be an integer, got {_fmt(v)}", ""
        return bounds(v)
    if p.kind == FLOAT:
        if not is_number(v):
            return f"{p.name} must be a number, got {_fmt(v)}", ""
        if isinstance(v, float) and not math.isfinite(v):  # an int is finite, however long
            return (NOT_FINITE.format(field=p.name, value=_fmt(v)),
                    f"default is {_fmt(p.default)}")
        return bounds(v)
    if p.kind == BOOL:
        if not isinstance(v, bool):
            return f"{p.name} must be true or false, got {_fmt(v)}", ""
        return None
    if p.kind == CHOICE:
        if v not in p.choices:
            return (f"{p.name}={_fmt(v)} is not one of {', '.join(map(repr, p.choices))}", "")
        return None
    if p.kind in (INTS, FLOATS):
        return _check_items(p, v, bounds)
    if p.kind == LAYERS:
        return _check_reference(p, v)
    if p.kind in (SIZE, PADDING):
        if p.kind == PADDING and isinstance(v, str):
            if v not in p.choices:
                return (f"padding={v!r} is not an int, a tuple, 'same' or 'valid'", "")
            return None
        items = v if isinstance(v, tuple) else (v,)
        if isinstance(v, tuple) and p.count is not None and len(v) != p.count:
            return (ITEMS_COUNT.format(field=p.name, value=_fmt(v), count=len(v), want=p.count,
                                       names=", ".join(p.item_names)),
                    ITEMS_COUNT_FIX.format(want=p.count))
        if isinstance(v, tuple) and p.count is None and len(v) != dims:
            return (f"{p.name}={_fmt(v)} has {len(v)} values but the layer has {dims} "
                    f"dimension{'s' if dims > 1 else ''}",
                    f"give one int or {dims} ints")
        for x in items:
            if x is None and p.item_nullable:
                continue
            if not is_int(x):
                return (f"{p.name} must be an int or a tuple of {dims} ints, got {_fmt(v)}", "")
            problem = bounds(x)
            if problem:
                return problem
        return None
    return None  # pragma: no cover - every kind is handled above


def _check_items(p: Param, v: Any, bounds) -> tuple[str, str] | None:
    """An INTS or FLOATS value: one number, or a tuple of 1 to MAX_ITEMS numbers."""
    ints = p.kind == INTS
    ok = is_int if ints else is_number
    wrong = INTS_TYPE if ints else FLOATS_TYPE
    if p.tuple_only and not isinstance(v, tuple):
        return INTS_TUPLE.format(field=p.name, value=_fmt(v)), ""
    items = v if isinstance(v, tuple) else (v,)
    if not 1 <= len(items) <= MAX_ITEMS:
        return (ITEMS_LENGTH.format(field=p.name, value=_fmt(v), count=len(items),
                                    most=MAX_ITEMS), "")
    for x in items:
        if not ok(x):
            return wrong.format(field=p.name, value=_fmt(v)), ""
        if isinstance(x, float) and not math.isfinite(x):
            return NOT_FINITE.format(field=p.name, value=_fmt(v)), ""
        problem = bounds(x)
        if problem:
            return problem
    return None


REF_NOT_A_REF = "{field} must be a layer name, an index (0 or more) or 'input', got {value}"
REF_EMPTY = "{field} needs at least one earlier layer"
REF_ONE_ONLY = "{field} takes one earlier layer, got {count}"
REF_ONE_ONLY_FIX = "use Concat to join several outputs, or name one layer"
REF_FIX = "give the name or index of an earlier layer, or 'input'"


def _check_reference(p: Param, v: Any) -> tuple[str, str] | None:
    """A LAYERS value on its own: names (non-empty strings) or indices (0 or more), one or,
    where ``multiple``, a list. Whether they name earlier layers is ``model.merges``' check."""
    items = v if isinstance(v, tuple) else (v,)
    if isinstance(v, tuple) and not p.multiple and len(v) != 1:
        if not v:
            return REF_EMPTY.format(field=p.name), REF_FIX
        return (REF_ONE_ONLY.format(field=p.name, count=len(v)), REF_ONE_ONLY_FIX)
    if not items:
        return REF_EMPTY.format(field=p.name), REF_FIX
    for x in items:
        if not ((isinstance(x, str) and x.strip()) or (is_int(x) and x >= 0)):
            return REF_NOT_A_REF.format(field=p.name, value=_fmt(x)), REF_FIX
    return None


def check_layer(index: int, spec: LayerSpec, label: str) -> list[Problem]:
    """Problems with a layer's parameters that need no input shape."""
    lt = spec.layer_type
    if lt is None:
        return [Problem(index, label, None, f"unknown layer type {spec.type!r}",
                        "use a supported torch.nn type, such as Conv2d, MaxPool2d or ReLU")]
    dims = lt.dims or 1
    problems: list[Problem] = []
    for p in lt.params:
        if spec.is_set(p.name):
            bad = _check_value(p, spec.value(p.name), dims)
            if bad:
                problems.append(Problem(index, label, p.name, bad[0], bad[1]))
        elif p.required and not p.auto:
            problems.append(Problem(index, label, p.name, f"{p.name} is required",
                                    "set a value"))
    for key, _ in spec.params:
        if key not in lt.param_names:
            valid = ", ".join(lt.param_names) or "none"
            problems.append(Problem(index, label, key,
                                    f"{lt.name} has no keyword {key!r}",
                                    f"valid keywords: {valid}"))
    if problems:
        return problems
    return _cross_checks(index, spec, lt, label)


def _cross_checks(index: int, spec: LayerSpec, lt: LayerType, label: str) -> list[Problem]:
    out: list[Problem] = []
    v = spec.value
    dims = lt.dims or 1
    if lt.is_conv:
        groups, oc = v("groups"), v("out_channels")
        ic = v("in_channels") if spec.is_set("in_channels") else None
        counts = [(n, c) for n, c in (("in_channels", ic), ("out_channels", oc)) if c is not None]
        broken = [f"{n}={c}" for n, c in counts if c % groups]
        if broken:
            ok = or_list([d for d in divisors(oc, at_most=64)
                          if ic is None or ic % d == 0][:8])
            out.append(Problem(index, label, "groups",
                               f"groups={groups} must divide {' and '.join(broken)}",
                               f"try {ok}"))
        pad = v("padding")
        if pad == "same" and any(s != 1 for s in expand(v("stride"), dims)):
            out.append(Problem(index, label, "padding",
                               "padding='same' needs stride=1",
                               "use stride 1, or a number for padding"))
        if lt.is_transpose:
            for s, d, op in zip(expand(v("stride"), dims), expand(v("dilation"), dims),
                                expand(v("output_padding"), dims)):
                if op >= max(s, d):
                    out.append(Problem(
                        index, label, "output_padding",
                        f"output_padding={_fmt(v('output_padding'))} must be smaller than "
                        f"stride or dilation ({max(s, d)})",
                        f"use at most {max(s, d) - 1}"))
                    break
    if lt.is_window and lt.group == "pooling" and "padding" in lt.param_names:
        # torch's rule is padding <= kernel_size // 2, on the kernel size itself (dilation does
        # not count), so a padded window always holds at least one real input
        for k, p in zip(expand(v("kernel_size"), dims), expand(v("padding"), dims)):
            if p > k // 2:
                out.append(Problem(
                    index, label, "padding",
                    f"padding={_fmt(v('padding'))} is more than half of kernel_size={k}",
                    f"use padding {k // 2} or less, or a larger kernel_size"))
                break
    rule = _TYPE_CHECKS.get(lt.name)
    if rule is not None:
        out += [Problem(index, label, f, message, fix) for f, message, fix in rule(v)]
    return out


UPSAMPLE_BOTH = "give either size or scale_factor, not both (size={size}, scale_factor={scale})"
UPSAMPLE_BOTH_FIX = "set the one you do not want to None"
UPSAMPLE_NEITHER = "needs size or scale_factor; both are None"
UPSAMPLE_NEITHER_FIX = "set scale_factor (e.g. 2) or size"
UPSAMPLE_ZERO = "scale_factor={scale} must be more than 0"
UPSAMPLE_ZERO_FIX = "use a positive factor, such as 2 or 0.5"
UPSAMPLE_CORNERS = "align_corners={value} only applies to the interpolating modes, not mode={mode}"
UPSAMPLE_CORNERS_FIX = "set align_corners to None, or choose 'linear', 'bilinear' or 'trilinear'"
UNFLATTEN_TWO_UNKNOWN = "unflattened_size={value} has {count} times -1; torch can infer only one"
UNFLATTEN_TWO_UNKNOWN_FIX = "give all sizes but one"
UNFLATTEN_ZERO = "unflattened_size={value} holds 0; every size must be at least 1 (or -1)"
UNFLATTEN_ZERO_FIX = "use sizes of 1 or more, and -1 for the one torch works out"


def _upsample_checks(v) -> list[tuple[str, str, str]]:
    size, scale, mode, corners = v("size"), v("scale_factor"), v("mode"), v("align_corners")
    out = []
    if size is not None and scale is not None:
        out.append(("scale_factor", UPSAMPLE_BOTH.format(size=_fmt(size), scale=_fmt(scale)),
                    UPSAMPLE_BOTH_FIX))
    elif size is None and scale is None:
        out.append(("scale_factor", UPSAMPLE_NEITHER, UPSAMPLE_NEITHER_FIX))
    elif scale is not None and any(s <= 0 for s in (scale if isinstance(scale, tuple)
                                                    else (scale,))):
        out.append(("scale_factor", UPSAMPLE_ZERO.format(scale=_fmt(scale)), UPSAMPLE_ZERO_FIX))
    if corners is not None and mode == "nearest":
        out.append(("align_corners", UPSAMPLE_CORNERS.format(value=corners, mode=repr(mode)),
                    UPSAMPLE_CORNERS_FIX))
    return out


def _unflatten_checks(v) -> list[tuple[str, str, str]]:
    sizes = v("unflattened_size")
    if sizes.count(-1) > 1:
        return [("unflattened_size", UNFLATTEN_TWO_UNKNOWN.format(
            value=_fmt(sizes), count=sizes.count(-1)), UNFLATTEN_TWO_UNKNOWN_FIX)]
    if 0 in sizes:
        return [("unflattened_size", UNFLATTEN_ZERO.format(value=_fmt(sizes)),
                 UNFLATTEN_ZERO_FIX)]
    return []


LP_POOL_1D_TUPLE = ("kernel_size={value} must be a plain int for LPPool1d: torch multiplies the "
                    "pooled values by kernel_size itself, which fails for a tuple")
LP_POOL_1D_TUPLE_FIX = "use kernel_size={value}"


def _lp_pool_1d_checks(v) -> list[tuple[str, str, str]]:
    k = v("kernel_size")
    if isinstance(k, tuple):
        return [("kernel_size", LP_POOL_1D_TUPLE.format(value=_fmt(k)),
                 LP_POOL_1D_TUPLE_FIX.format(value=k[0] if k else 1))]
    return []


#: Rules between one type's own parameters (no input shape needed): name -> the problems as
#: (field, message, fix), from ``v`` (the spec's value of a parameter).
_TYPE_CHECKS = {"Upsample": _upsample_checks, "Unflatten": _unflatten_checks,
                "LPPool1d": _lp_pool_1d_checks}
