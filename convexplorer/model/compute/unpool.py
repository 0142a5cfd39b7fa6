"""MaxUnpool1d/2d/3d: each pooled value goes back to the place its max pool's index names; every
other place is 0.

Overlapping pool windows can name one place several times. torch keeps one of those values
(which one is not specified; a serial CPU loop keeps the last, a GPU any); the recomputation
keeps the candidate equal to torch's value."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData, UnitError
from .lines import compare_line
from .pool_window import flat_of
from .request import Request
from .text import index, num, say

TYPES = ("MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d")


def compute(req: Request) -> Breakdown:
    x, y, unit = req.x, req.y, req.unit
    if req.pool_indices is None:
        raise UnitError(say("{layer} needs the indices of the max pool it undoes to explain a "
                            "unit; pass that pool's return_indices.", layer=req.label))
    indices = np.asarray(req.pool_indices)
    if indices.shape != x.shape:
        raise UnitError(say("{layer}: the pool indices have shape {indices} but the input has "
                            "{input}; pass the indices of the pool this layer undoes.",
                            layer=req.label, indices=list(indices.shape), input=list(x.shape)))
    spatial = tuple(req.pool_input_shape[2:]) if req.pool_input_shape else tuple(y.shape[2:])
    b, c, pos = unit[0], unit[1], unit[2:]
    flat = flat_of(pos, spatial)
    pooled = indices[b, c]
    hits = np.argwhere(pooled == flat)  # pooled positions (row-major) whose index is ``flat``
    candidates = tuple((b, c, *map(int, h)) for h in hits)
    values = [float(x[cand]) for cand in candidates]
    value = req.value

    lines = [say("{layer} unit {unit} is flat index {flat} of its channel's map of {size}.",
                 layer=req.label, unit=req.unit_text, flat=flat,
                 size="×".join(map(str, spatial)))]
    chosen = None
    if not candidates:
        recomputed = 0.0
        lines.append(say("No index of the pool points here (this place never won a window), so "
                         "the unit is 0."))
    elif len(candidates) == 1:
        chosen = 0
        recomputed = values[0]
        lines.append(say("The pooled value {value} at {position} carries index {flat}, so it "
                         "goes back here.", value=num(values[0]), position=index(candidates[0]),
                         flat=flat))
    else:
        # torch keeps one of them, unspecified which: take the one equal to its value
        chosen = int(np.argmin([abs(v - value) for v in values]))
        recomputed = values[chosen]
        lines.append(say("{count} pooled values carry index {flat} (overlapping windows chose "
                         "the same input): {values}, at {positions}.", count=len(candidates),
                         flat=flat, values=", ".join(num(v) for v in values),
                         positions=", ".join(index(cd) for cd in candidates)))
        if len(set(values)) == 1:
            lines.append(say("They are all the same value, so it does not matter which one "
                             "torch keeps."))
        else:
            lines.append(say("torch keeps one of them, which one is not specified; here it kept "
                             "{value} from {position}.", value=num(values[chosen]),
                             position=index(candidates[chosen])))
    lines.append(compare_line(value, recomputed))

    if chosen is None:
        data = TermData.empty(x.ndim)
    else:
        cand = candidates[chosen]
        data = TermData(input_index=np.array([cand], np.int64),
                        input_value=np.array([values[chosen]]),
                        product=np.array([values[chosen]]))
    return req.breakdown("max_unpool", recomputed, None, data, lines, flat_index=flat,
                         candidates=candidates,
                         extra={"candidates": float(len(candidates))} if candidates else {})


