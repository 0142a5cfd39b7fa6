"""AvgPool1d/2d/3d and AdaptiveAvgPool1d/2d/3d: the sum of the unit's window divided by the divisor.

torch's divisor (aten's avg_pool2d; AvgPool1d runs as a 1-row AvgPool2d): the window clipped to
the padded input counts when count_include_pad is True, only its input cells when False, and
divisor_override replaces both. A ceil_mode window hanging past the padded input loses that
part even from count_include_pad's count. An adaptive window divides by its own size."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .pool_window import pool_window, window_lines
from .request import Request
from .text import num, say, sum_formula
from .window import grid

TYPES = ("AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
         "AdaptiveAvgPool3d")
MAX_FORMULA_TERMS = 64


def compute(req: Request) -> Breakdown:
    kw, x, unit = req.kwargs, req.x, req.unit
    b, c = unit[0], unit[1]
    win = pool_window(req)
    inside = math.prod(win.shape)
    if win.adaptive:
        cip, override = False, None
        in_padded = inside
    else:
        cip, override = bool(kw["count_include_pad"]), kw.get("divisor_override")
        in_padded = math.prod(sum(not beyond for beyond in w.beyond) for w in win.dims)
    divisor = override if override is not None else (in_padded if cip else inside)

    # the cells of the window clipped to the padded input; padding reads as 0
    per_dim = []
    for w in win.dims:
        keep = [i for i, beyond in enumerate(w.beyond) if not beyond]
        per_dim.append(np.asarray([w.positions[i] for i in keep], np.int64))
    cols = grid(*per_dim)
    padded = np.stack(cols, 1) if cols else np.zeros((0, 0), np.int64)
    pad_before = np.array([w.pad_before for w in win.dims], np.int64)
    sizes_ = np.array([w.size for w in win.dims], np.int64)
    inp = padded - pad_before
    is_pad = np.any((inp < 0) | (inp >= sizes_), axis=1)
    if not cip:  # padding is not part of the average: leave its cells out of the terms
        padded, inp, is_pad = padded[~is_pad], inp[~is_pad], is_pad[~is_pad]
    nterm = len(inp)
    vals = np.zeros(nterm)
    real = ~is_pad
    if real.any():
        vals[real] = x[b, c][tuple(inp[real].T)]
    empty = inside == 0
    total = float(vals.sum())
    recomputed = 0.0 if empty else total / divisor
    input_index = np.concatenate([np.full((nterm, 1), b), np.full((nterm, 1), c), inp], 1)
    input_index[is_pad] = -1
    data = TermData(input_index=input_index.astype(np.int64), input_value=vals,
                    product=vals / divisor if not empty else np.zeros(nterm), padding=is_pad,
                    padded_position=padded)

    lines = [say("{layer} unit {unit} is the average of its window (size {kernel}) of input "
                 "channel {channel}: the window's sum divided by {divisor}.", layer=req.label,
                 unit=req.unit_text, kernel=win.kernel_text, channel=c, divisor=divisor)]
    lines += window_lines(req, win)
    if win.adaptive:
        lines.append(say("An adaptive window divides by its own size: {count}.",
                         count=divisor))
    elif override is not None:
        lines.append(say("divisor_override={divisor} replaces the window size as the divisor.",
                         divisor=override))
    elif cip:
        lines.append(say("count_include_pad=True: the divisor is the window's size within the "
                         "padded input, padding included: {count}.", count=in_padded))
    else:
        lines.append(say("count_include_pad=False: the divisor counts only the window's input "
                         "cells: {count}.", count=inside))
    if empty:
        lines.append(say("The window holds no input cell, so torch gives 0."))
    else:
        shown = vals.tolist()
        formula = sum_formula(shown) if nterm <= MAX_FORMULA_TERMS else num(total)
        lines.append(say("Sum: {formula} = {sum}.", formula=formula, sum=num(total)))
        lines.append(say("Average: {sum} / {divisor} = {result}.", sum=num(total),
                         divisor=divisor, result=num(recomputed)))
    lines.append(compare_line(req.value, recomputed))
    kind = "adaptive_avg_pool" if win.adaptive else "avg_pool"
    return req.breakdown(kind, recomputed, None, data, lines, window=win.dims,
                         extra={"divisor": float(divisor), "sum": total})
