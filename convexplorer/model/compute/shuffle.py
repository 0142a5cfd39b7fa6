"""PixelShuffle and PixelUnshuffle move values without arithmetic: an output cell is one input
cell, found from torch's reshape and permute with upscale (downscale) factor r.

PixelShuffle: output [n, c, h, w] is input [n, c·r² + (h mod r)·r + (w mod r), h // r, w // r].
PixelUnshuffle: output [n, c', h, w] with c' = c·r² + i·r + j is input [n, c, h·r + i, w·r + j].
"""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import index, num, say

TYPES = ("PixelShuffle", "PixelUnshuffle")


def source(type_name: str, unit: tuple[int, ...], r: int) -> tuple[int, ...]:
    n, c, h, w = unit
    if type_name == "PixelShuffle":
        return (n, c * r * r + (h % r) * r + w % r, h // r, w // r)
    base, rest = divmod(c, r * r)
    i, j = divmod(rest, r)
    return (n, base, h * r + i, w * r + j)


def compute(req: Request) -> Breakdown:
    x, unit = req.x, req.unit
    shuffle = req.type == "PixelShuffle"
    r = req.kwargs["upscale_factor" if shuffle else "downscale_factor"]
    src = source(req.type, unit, r)
    n, c, h, w = unit
    if shuffle:
        lines = [say("{layer} unit {unit}: PixelShuffle with r={r} interleaves r² = {square} "
                     "input channels into one channel r times taller and wider; it computes "
                     "nothing, it only moves values.", layer=req.label, unit=req.unit_text,
                     r=r, square=r * r),
                 say("Output row {h} is input row {h} // {r} = {ih}, in row {i} of its {r}×{r} "
                     "block; column {w} is input column {w} // {r} = {iw}, in column {j} of the "
                     "block.", h=h, r=r, ih=h // r, i=h % r, w=w, iw=w // r, j=w % r),
                 say("The block's cell ({i}, {j}) comes from input channel {c} × {square} + {i} "
                     "× {r} + {j} = {channel}.", i=h % r, j=w % r, c=c, square=r * r, r=r,
                     channel=src[1])]
    else:
        base, rest = divmod(c, r * r)
        i, j = divmod(rest, r)
        lines = [say("{layer} unit {unit}: PixelUnshuffle with r={r} splits every {r}×{r} block "
                     "of a channel into r² = {square} channels; it computes nothing, it only "
                     "moves values.", layer=req.label, unit=req.unit_text, r=r, square=r * r),
                 say("Output channel {channel} = {base} × {square} + {i} × {r} + {j}: input "
                     "channel {base}, cell ({i}, {j}) of each block.", channel=c, base=base,
                     square=r * r, i=i, r=r, j=j),
                 say("Output position ({h}, {w}) is block ({h}, {w}), so input row {h} × {r} + "
                     "{i} = {ih} and column {w} × {r} + {j} = {iw}.", h=h, w=w, r=r, i=i, j=j,
                     ih=src[2], iw=src[3])]
    value = float(x[src])
    lines += [say("So the unit is input{source} = {value}.", source=index(src),
                  value=num(value)),
              compare_line(req.value, value)]
    data = TermData(input_index=np.array([src], np.int64), input_value=np.array([value]),
                    product=np.array([value]))
    return req.breakdown("pixel_shuffle" if shuffle else "pixel_unshuffle", value, None, data,
                         lines)
