"""ZeroPad, ConstantPad, ReflectionPad and ReplicationPad (1-D and 2-D): an output cell is the
input cell it lies over (output position - the padding before), or for a padding cell, the
constant (0 for ZeroPad), the cell mirrored at the edge without repeating it (reflection) or
the edge cell itself (replication)."""

from __future__ import annotations

import numpy as np

from ..shape_rules import pad_amounts
from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import index, num, say
from .window import axes, pad_sources

TYPES = tuple(f"{kind}{d}d" for kind in ("ZeroPad", "ConstantPad", "ReflectionPad",
                                         "ReplicationPad") for d in (1, 2))
_MODES = {"ReflectionPad": "reflect", "ReplicationPad": "replicate"}


def compute(req: Request) -> Breakdown:
    x, unit = req.x, req.unit
    dims = x.ndim - 2
    kind = req.type[:-2]
    mode = _MODES.get(kind, "zeros")
    pads = pad_amounts(req.kwargs["padding"], dims)
    lines = [say("{layer} unit {unit} is one cell of the padded input: the input cell under it, "
                 "or a padding cell.", layer=req.label, unit=req.unit_text)]
    source, in_pad = list(unit[:2]), False
    for j, axis in enumerate(axes(dims)):
        before, _after = pads[j]
        n = x.shape[2 + j]
        out = unit[2 + j]
        pos = out - before
        src, is_pad = pad_sources(np.array([pos]), n, mode)
        src, is_pad = int(src[0]), bool(is_pad[0])
        if not is_pad:
            lines.append(say("Along {axis}: output position {out} - padding before {before} = "
                             "input position {pos}, inside the input.", axis=axis, out=out,
                             before=before, pos=pos))
        elif mode == "zeros":
            lines.append(say("Along {axis}: output position {out} - padding before {before} = "
                             "{pos}, outside the input (0..{last}): a padding cell.", axis=axis,
                             out=out, before=before, pos=pos, last=n - 1))
        else:
            how = (say("mirrored at the edge without repeating it") if mode == "reflect"
                   else say("the nearest edge cell"))
            lines.append(say("Along {axis}: output position {out} - padding before {before} = "
                             "{pos}, outside the input (0..{last}); it copies input position "
                             "{source}, {how}.", axis=axis, out=out, before=before, pos=pos,
                             last=n - 1, source=src, how=how))
        in_pad = in_pad or is_pad
        source.append(src)
    if in_pad and mode == "zeros":
        value = 0.0 if kind == "ZeroPad" else float(req.kwargs["value"])
        lines.append(say("A padding cell of {type} holds {value}.", type=req.type,
                         value=num(value)))
        data = TermData(input_index=np.full((1, x.ndim), -1, np.int64),
                        input_value=np.array([value]), product=np.array([value]),
                        padding=np.array([True]))
        recomputed = value
    else:
        src = tuple(source)
        recomputed = float(x[src])
        lines.append(say("So the unit is input{source} = {value}.", source=index(src),
                         value=num(recomputed)))
        idx = np.array([src], np.int64)
        data = TermData(input_index=np.full_like(idx, -1) if in_pad else idx,
                        input_value=np.array([recomputed]), product=np.array([recomputed]),
                        padding=np.array([in_pad]), source_index=idx if in_pad else None)
    lines.append(compare_line(req.value, recomputed))
    return req.breakdown("pad", recomputed, None, data, lines)
