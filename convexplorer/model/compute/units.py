"""Which units an output has: checking a unit against the output's shape, and stepping through
the positions of one batch item and channel (the GUI's previous / next / play)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ..shapes import fmt_shape
from .breakdown import UnitError
from .text import dim_names, index, say


def fixed_dims(shape: Sequence[int]) -> int:
    """How many leading indices stay put while stepping: batch and channel, or only the batch
    of a vector output (N, F)."""
    return 2 if len(shape) >= 3 else min(len(shape), 1)


def check_unit(label: str, shape: Sequence[int], unit: Sequence[int],
               vector_last: bool = False) -> tuple[int, ...]:
    """``unit`` as a tuple of ints, or UnitError naming the valid range."""
    shape = tuple(int(s) for s in shape)
    names = dim_names(len(shape), vector_last)
    try:
        unit = tuple(int(u) for u in unit)
    except (TypeError, ValueError):
        raise UnitError(say("{layer} unit {unit}: give {count} whole numbers ({names}) for an "
                            "output of {shape}.", layer=label, unit=unit, count=len(shape),
                            names=", ".join(names), shape=fmt_shape(shape))) from None
    if len(unit) != len(shape):
        raise UnitError(say("{layer} unit {unit}: give {count} indices ({names}) for an output "
                            "of {shape}.", layer=label, unit=index(unit), count=len(shape),
                            names=", ".join(names), shape=fmt_shape(shape)))
    for name, u, n in zip(names, unit, shape):
        if not 0 <= u < n:
            raise UnitError(say("{layer} unit {unit}: {name} {value} is outside 0..{last} of "
                                "{shape}.", layer=label, unit=index(unit), name=name, value=u,
                                last=n - 1, shape=fmt_shape(shape)))
    return unit


def units_in_map(shape: Sequence[int], unit: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every unit of ``unit``'s batch item and channel, in row-major order."""
    k = fixed_dims(shape)
    head = tuple(unit[:k])
    for flat in range(math.prod(shape[k:])):
        yield head + _unravel(flat, shape[k:])


def map_size(shape: Sequence[int]) -> int:
    """How many units one batch item and channel holds."""
    return math.prod(shape[fixed_dims(shape):])


def position_number(shape: Sequence[int], unit: Sequence[int]) -> int:
    """``unit``'s row-major number within its batch item and channel (0-based)."""
    k = fixed_dims(shape)
    flat = 0
    for u, n in zip(unit[k:], shape[k:]):
        flat = flat * n + u
    return flat


def step_unit(shape: Sequence[int], unit: Sequence[int], delta: int = 1,
              wrap: bool = False) -> tuple[int, ...] | None:
    """The unit ``delta`` positions after ``unit`` (before, if negative) within the same batch
    item and channel, in row-major order; past either end None, or round again with ``wrap``."""
    k = fixed_dims(shape)
    total = map_size(shape)
    flat = position_number(shape, unit) + delta
    if wrap:
        flat %= total
    elif not 0 <= flat < total:
        return None
    return tuple(unit[:k]) + _unravel(flat, shape[k:])


def _unravel(flat: int, dims: Sequence[int]) -> tuple[int, ...]:
    out = []
    for n in reversed(dims):
        flat, r = divmod(flat, n)
        out.append(r)
    return tuple(reversed(out))
