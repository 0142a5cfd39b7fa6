"""LPPool1d/2d: (sum of x^p over the window)^(1/p), as torch computes it: an average pool of x^p
(no padding; a ceil_mode window cut at the input's end divides by the cells it holds) times the
kernel's size, then the 1/p-th power. A ceil_mode window cut short is therefore scaled up to a
whole window's worth; a negative sum with a fractional 1/p gives NaN, as in torch."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .pool_window import pool_window, window_lines
from .request import Request
from .softmax import numbers
from .text import num, say
from .window import grid, sizes

TYPES = ("LPPool1d", "LPPool2d")


def compute(req: Request) -> Breakdown:
    x, unit, kw = req.x, req.unit, req.kwargs
    b, c = unit[0], unit[1]
    p = float(kw["norm_type"])
    win = pool_window(req)
    cols = grid(*win.read)
    positions = np.stack(cols, 1) if cols else np.zeros((0, x.ndim - 2), np.int64)
    vals = x[b, c][np.ix_(*win.read)].astype(np.float64).reshape(-1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        powers = np.power(vals, p)
        total = float(powers.sum())
        whole = math.prod(sizes(kw["kernel_size"], x.ndim - 2))
        held = len(vals)
        scaled = total * whole / held
        recomputed = float(np.power(np.float64(scaled), 1.0 / p))
    lines = [say("{layer} unit {unit}: the window (size {kernel}) of input channel {channel}, "
                 "each value to the power p={p}, summed, then to the power 1/{p}.",
                 layer=req.label, unit=req.unit_text, kernel=win.kernel_text, channel=c,
                 p=f"{p:g}")]
    lines += window_lines(req, win)
    lines += [say("The window's values: {values}.", values=numbers(vals.tolist())),
              say("To the power {p}: {powers}; sum {total}.", p=f"{p:g}",
                  powers=numbers(powers.tolist()), total=num(total))]
    if held != whole:
        lines.append(say("ceil_mode's last window holds {held} of {whole} cells: torch averages "
                         "over the {held} and multiplies by {whole}, so the sum counts as "
                         "{total} × {whole} / {held} = {scaled}.", held=held, whole=whole,
                         total=num(total), scaled=num(scaled)))
    lines.append(say("({sum})^(1/{p}) = {result}.", sum=num(scaled), p=f"{p:g}",
                     result=num(recomputed)))
    if recomputed != recomputed:
        lines.append(say("A negative sum has no real {p}-th root: the result is NaN, as torch "
                         "gives.", p=f"{p:g}"))
    lines.append(compare_line(req.value, recomputed))
    nterm = len(vals)
    idx = np.concatenate([np.full((nterm, 1), b), np.full((nterm, 1), c), positions], 1)
    data = TermData(input_index=idx.astype(np.int64), input_value=vals, product=powers,
                    padded_position=positions.astype(np.int64))
    return req.breakdown("lp_pool", recomputed, None, data, lines, reduce="formula",
                         window=win.dims, extra={"sum": total, "scaled_sum": scaled})
