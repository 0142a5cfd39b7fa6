"""Checks of one layer's parameters on their own (types, bounds, rules between parameters).

Checks that need the input shape live in ``model.shapes``. Problems come back as data, never as
exceptions: which layer, which field, what is wrong and how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .catalogue import BOOL, CHOICE, FLOAT, INT, LAYERS, PADDING, SIZE, LayerType, Param
from .limits import fmt_number
from .spec import LayerSpec

AT_LEAST = "{field}={value} must be at least {limit}"
AT_MOST = "{field}={value} must be at most {limit}"
USE_AT_LEAST = "use {limit} or more"
USE_AT_MOST = "use {limit} or less"
NOT_FINITE = "{field}={value} must be a finite number"


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
    if p.kind == LAYERS:
        return _check_reference(p, v)
    if p.kind in (SIZE, PADDING):
        if p.kind == PADDING and isinstance(v, str):
            if v not in p.choices:
                return (f"padding={v!r} is not an int, a tuple, 'same' or 'valid'", "")
            return None
        items = v if isinstance(v, tuple) else (v,)
        if isinstance(v, tuple) and len(v) != dims:
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
    if lt.is_window and lt.group == "pooling":
        # torch's rule is padding <= kernel_size // 2, on the kernel size itself (dilation does
        # not count), so a padded window always holds at least one real input
        for k, p in zip(expand(v("kernel_size"), dims), expand(v("padding"), dims)):
            if p > k // 2:
                out.append(Problem(
                    index, label, "padding",
                    f"padding={_fmt(v('padding'))} is more than half of kernel_size={k}",
                    f"use padding {k // 2} or less, or a larger kernel_size"))
                break
    return out
