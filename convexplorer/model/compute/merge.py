"""Merges: Add and Multiply take one value from the previous output and one from each output
``from`` names, at the unit's index (a size-1 dimension is read at 0: broadcasting); Concat's
unit is one element of one of the joined outputs, found by where its index falls along dim."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData, UnitError
from .lines import compare_line
from .request import Request
from .text import factor, index, num, say

TYPES = ("Add", "Concat", "Multiply")


def _operands(req: Request) -> list[tuple[str, np.ndarray]]:
    if len(req.sources) != len(req.info.sources):
        raise UnitError(say("{layer} joins {count} earlier outputs; pass them to compute with.",
                            layer=req.label, count=len(req.info.sources)))
    return [(req.previous, req.x), *req.sources]


def broadcast_index(unit: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The element of an array of ``shape`` that torch's broadcasting pairs with ``unit`` of
    the output: aligned at the last dimension, index 0 where the size is 1."""
    tail = unit[len(unit) - len(shape):]
    return tuple(0 if n == 1 else u for u, n in zip(tail, shape))


def _elementwise(req: Request, kind: str) -> Breakdown:
    unit = req.unit
    names, rows, values = [], [], []
    for name, array in _operands(req):
        at = broadcast_index(unit, array.shape)
        names.append(name)
        rows.append(at)
        values.append(float(array[at]))
    lines = []
    for name, at, v in zip(names, rows, values):
        lines.append(say("From {tensor}: element {index} = {value}.", tensor=name,
                         index=index(at), value=num(v)))
        stretched = [d for d, (a, u) in enumerate(zip(at, unit[len(unit) - len(at):]))
                     if a != u]
        if stretched or len(at) < len(unit):
            lines.append(say("{tensor} has size 1 (or no dimension) where the output is larger, "
                             "so torch reads it at index 0 there for every output position "
                             "(broadcasting).", tensor=name))
    if kind == "add":
        result = float(np.sum(values))
        formula = " + ".join(factor(v) for v in values)
        head = say("{layer} unit {unit} adds, at this position, the previous layer's output and "
                   "the output named in from.", layer=req.label, unit=req.unit_text)
    else:
        result = float(np.prod(values))
        formula = " × ".join(factor(v) for v in values)
        head = say("{layer} unit {unit} multiplies, at this position, the previous layer's "
                   "output and the output named in from.", layer=req.label, unit=req.unit_text)
    lines = [head, *lines, say("{formula} = {result}.", formula=formula, result=num(result)),
             compare_line(req.value, result)]
    width = max(len(r) for r in rows)
    data = TermData(input_index=np.array([(-1,) * (width - len(r)) + r for r in rows], np.int64),
                    input_value=np.array(values), product=np.array(values))
    return Breakdown(layer=req.label, type=req.type, kind=kind, unit=unit, value=req.value,
                     recomputed=result, bias=None, data=data, lines=lines,
                     reduce="sum" if kind == "add" else "product", operands=tuple(names))


def _concat(req: Request) -> Breakdown:
    unit = req.unit
    operands = _operands(req)
    rank = req.y.ndim
    dim = int(req.kwargs.get("dim", 1))
    d = dim + rank if dim < 0 else dim
    start = 0
    pieces = []
    found = None
    for name, array in operands:
        size = array.shape[d]
        pieces.append(say("{tensor} becomes {first} to {last}", tensor=name, first=start,
                          last=start + size - 1))
        if found is None and start <= unit[d] < start + size:
            at = unit[:d] + (unit[d] - start,) + unit[d + 1:]
            found = (name, at, start, array)
        start += size
    if found is None:  # pragma: no cover - check_unit keeps the unit inside the output
        raise UnitError(say("{layer} unit {unit} is outside the joined outputs.",
                            layer=req.label, unit=req.unit_text))
    name, at, first, array = found
    v = float(array[at])
    lines = [say("{layer} joins its inputs along dimension {dim}: {pieces}.", layer=req.label,
                 dim=d, pieces="; ".join(pieces)),
             say("Unit {unit} has {position} in dimension {dim}, which falls in {tensor}'s part "
                 "(from {first}), so it is {tensor} element {index}.", unit=req.unit_text,
                 position=unit[d], dim=d, tensor=name, first=first, index=index(at)),
             say("Its value is {value}.", value=num(v)),
             compare_line(req.value, v)]
    data = TermData(input_index=np.array([at], np.int64), input_value=np.array([v]),
                    product=np.array([v]))
    return Breakdown(layer=req.label, type=req.type, kind="concat", unit=unit, value=req.value,
                     recomputed=v, bias=None, data=data, lines=lines, operands=(name,))


def compute(req: Request) -> Breakdown:
    if req.type == "Concat":
        return _concat(req)
    return _elementwise(req, "add" if req.type == "Add" else "multiply")
