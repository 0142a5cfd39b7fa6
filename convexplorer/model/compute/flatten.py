"""Flatten and Unflatten: an output element is one input element. Flatten unravels the
flattened index over the joined dimensions (row-major); Unflatten ravels the indices of the new
dimensions into the one index of the dimension it split."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import index, num, say

TYPES = ("Flatten", "Unflatten")


def _unflatten(req: Request) -> Breakdown:
    x, unit = req.x, req.unit
    rank = x.ndim
    dim = req.kwargs["dim"]
    dim = dim + rank if dim < 0 else dim
    k = req.y.ndim - rank + 1  # the dimensions dim becomes
    sizes = req.y.shape[dim:dim + k]
    inner = unit[dim:dim + k]
    flat = int(np.ravel_multi_index(inner, sizes))
    src = tuple(unit[:dim]) + (flat,) + tuple(unit[dim + k:])
    xv = float(x[src])
    data = TermData(input_index=np.array([src], np.int64), input_value=np.array([xv]),
                    product=np.array([xv]))
    lines = [say("{layer} unit {unit} is input element {source}: its indices {inner} in "
                 "dimensions {first}..{last} of sizes {sizes} ravel (row-major) to position "
                 "{flat} of dimension {dim}.", layer=req.label, unit=req.unit_text,
                 source=index(src), inner=index(inner), first=dim, last=dim + k - 1,
                 sizes="×".join(map(str, sizes)), flat=flat, dim=dim),
             say("Its value is {value}.", value=num(xv)),
             compare_line(req.value, xv)]
    return req.breakdown("unflatten", xv, None, data, lines)


def compute(req: Request) -> Breakdown:
    if req.type == "Unflatten":
        return _unflatten(req)
    x, unit = req.x, req.unit
    rank = x.ndim
    s, e = req.kwargs["start_dim"], req.kwargs["end_dim"]
    s, e = s + rank if s < 0 else s, e + rank if e < 0 else e
    joined = x.shape[s:e + 1]
    inner = tuple(int(i) for i in np.unravel_index(unit[s], joined)) if joined else ()
    src = tuple(unit[:s]) + inner + tuple(unit[s + 1:])
    xv = float(x[src])
    data = TermData(input_index=np.array([src], np.int64), input_value=np.array([xv]),
                    product=np.array([xv]))
    lines = [say("{layer} unit {unit} is input element {source}: flat position {flat} over "
                 "dimensions {first}..{last} of sizes {sizes} unravels to {inner}.",
                 layer=req.label, unit=req.unit_text, source=index(src), flat=unit[s], first=s,
                 last=e, sizes="×".join(map(str, joined)), inner=index(inner)),
             say("Its value is {value}.", value=num(xv)),
             compare_line(req.value, xv)]
    return req.breakdown("flatten", xv, None, data, lines)
