"""Flatten: an output element is one input element, found by unravelling the flattened index
over the joined dimensions (row-major)."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import index, num, say

TYPES = ("Flatten",)


def compute(req: Request) -> Breakdown:
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
