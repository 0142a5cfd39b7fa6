"""Softmax / LogSoftmax: the unit against every value of its slice along ``dim`` (the unit's
index with that one coordinate running). torch subtracts the slice's largest value before exp,
which changes nothing but keeps exp from overflowing; the recomputation does the same."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import factor, num, say, slice_text

TYPES = ("Softmax", "LogSoftmax")
SHOWN = 16  # values written out in a sentence; the rest are counted


def numbers(values, limit: int = SHOWN) -> str:
    """0.1000, -0.2000, … (the first ``limit``, then how many in all)."""
    values = list(values)
    text = ", ".join(num(v) for v in values[:limit])
    return text + (f", … ({len(values)})" if len(values) > limit else "")


def slice_index(unit: tuple[int, ...], dim: int, n: int) -> np.ndarray:
    """The full indices of the slice through ``unit`` along ``dim``: (n, rank)."""
    idx = np.tile(np.asarray(unit, np.int64), (n, 1))
    idx[:, dim] = np.arange(n)
    return idx


def compute(req: Request) -> Breakdown:
    x, unit = req.x, req.unit
    rank = x.ndim
    dim = req.kwargs["dim"]
    dim = dim + rank if dim < 0 else dim
    n = x.shape[dim]
    idx = slice_index(unit, dim, n)
    vals = x[tuple(idx.T)].astype(np.float64)
    top = float(vals.max())
    exps = np.exp(vals - top)
    total = float(exps.sum())
    xv = float(x[unit])
    mine = float(exps[unit[dim]])
    log = req.type == "LogSoftmax"
    recomputed = xv - top - math.log(total) if log else mine / total
    where = slice_text(unit, [dim])
    lines = [say("{layer} unit {unit}: {type} along dim {dim} compares the unit's input {x} "
                 "with the {count} values of its slice {position}.", layer=req.label,
                 unit=req.unit_text, type=req.type, dim=dim, x=num(xv), count=n,
                 position=where),
             say("The slice: {values}.", values=numbers(vals.tolist())),
             say("Subtracting the largest, {top}, keeps exp from overflowing and changes "
                 "nothing: exp(x - {top}) = {exps}.", top=num(top), exps=numbers(exps.tolist())),
             say("Their sum is {total}.", total=num(total))]
    if log:
        lines.append(say("log_softmax: {x} - {top} - log({total}) = {y}.", x=num(xv),
                         top=factor(top), total=num(total), y=num(recomputed)))
    else:
        lines.append(say("softmax: exp({x} - {top}) / {total} = {e} / {total} = {y}; the "
                         "slice's outputs add up to 1.", x=num(xv), top=factor(top),
                         total=num(total), e=num(mine), y=num(recomputed)))
    lines.append(compare_line(req.value, recomputed))
    data = TermData(input_index=idx, input_value=vals, product=exps)
    return req.breakdown("softmax", recomputed, None, data, lines, reduce="formula",
                         extra={"max": top, "sum": total, "dim": float(dim)})
