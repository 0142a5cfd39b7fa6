"""MaxPool1d/2d/3d and AdaptiveMaxPool1d/2d/3d: the largest value of the unit's window, and where it
is (torch's return_indices: the flat index within the channel's input map).

torch scans the window in row-major order and keeps a value only if it is larger (or NaN), so
of tied values the first wins; padding is never read (it counts as -inf)."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .pool_window import flat_of, pool_window, window_lines
from .request import Request
from .text import index, num, say
from .window import grid

TYPES = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
         "AdaptiveMaxPool3d")


def compute(req: Request) -> Breakdown:
    x, unit = req.x, req.unit
    b, c = unit[0], unit[1]
    spatial = tuple(x.shape[2:])
    win = pool_window(req)
    vals = x[b, c][np.ix_(*win.read)].astype(np.float64).reshape(-1)
    cols = grid(*win.read)
    positions = np.stack(cols, 1) if cols else np.zeros((0, len(spatial)), np.int64)
    if len(vals):
        nans = np.flatnonzero(np.isnan(vals))
        at = int(nans[-1]) if len(nans) else int(np.argmax(vals))  # first maximum; last NaN
        best = tuple(positions[at].tolist())
        recomputed = float(vals[at])
        ties = int(np.sum(vals == vals[at])) if not len(nans) else 1
    else:
        # every tap in the padding: torch's value is -inf, its index the first tap it would
        # have scanned (the window start moved right by whole dilations until inside)
        best = tuple(_first_inside(w.positions[0] - w.pad_before, w.dilation) for w in win.dims)
        recomputed, ties, at = -math.inf, 0, None
    flat = flat_of(best, spatial)
    torch_index = None
    if req.pool_indices is not None:
        torch_index = int(req.pool_indices[unit])

    nterm = len(vals)
    pad_before = np.array([w.pad_before for w in win.dims])
    data = TermData(
        input_index=np.concatenate([np.full((nterm, 1), b), np.full((nterm, 1), c), positions],
                                   1).astype(np.int64),
        input_value=vals, product=vals.copy(),
        padded_position=(positions + pad_before).astype(np.int64))

    lines = [say("{layer} unit {unit} is the largest value in its window (size {kernel}) of "
                 "input channel {channel}; padding counts as -inf, so it never wins.",
                 layer=req.label, unit=req.unit_text, kernel=win.kernel_text, channel=c)]
    lines += window_lines(req, win)
    if nterm:
        lines.append(say("The window reads these input values: {values}.",
                         values=", ".join(num(v) for v in vals.tolist())))
        lines.append(say("The largest is {value} at input position {position}, flat index "
                         "{flat} in the channel's map of {size}.", value=num(recomputed),
                         position=index(best), flat=flat, size="×".join(map(str, spatial))))
        if ties > 1:
            lines.append(say("{count} values tie for the largest; torch keeps the first in "
                             "row-major order.", count=ties))
    else:
        lines.append(say("The window reads no input at all, only padding, so the unit is -inf "
                         "and torch's index points at {position}, where its scan would have "
                         "started.", position=index(best)))
    if torch_index is not None:
        if torch_index == flat:
            lines.append(say("torch's return_indices gives {index} as well.", index=torch_index))
        else:
            lines.append(say("torch's return_indices gives {index}, but NumPy finds {flat}.",
                             index=torch_index, flat=flat))
    lines.append(compare_line(req.value, recomputed))
    kind = "adaptive_max_pool" if win.adaptive else "max_pool"
    return req.breakdown(kind, recomputed, None, data, lines, reduce="max", window=win.dims,
                         flat_index=flat, torch_index=torch_index,
                         extra={"ties": float(ties)})


def _first_inside(start: int, d: int) -> int:
    while start < 0:
        start += d
    return start
