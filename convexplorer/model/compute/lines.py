"""Sentences several families share: per-channel sums, the total with its bias, and torch's
value beside the recomputed one."""

from __future__ import annotations

import numpy as np

from .text import diff, num, product_formula, say, sum_formula

MAX_CHANNEL_LINES = 64  # per-channel formula lines in the text; the rest are summed in one
MAX_SUM_TERMS = 16  # channel sums written out in the total's formula


def channel_lines(channels: np.ndarray, values: np.ndarray, weights: np.ndarray,
                  sums: np.ndarray) -> list[str]:
    """'Input channel 3: 0.1000×0.2000 + ... = 0.0200.' per channel (values and weights are
    (channels, taps))."""
    out = []
    vals, ws, cs, ss = values.tolist(), weights.tolist(), channels.tolist(), sums.tolist()
    for c, v, w, s in list(zip(cs, vals, ws, ss))[:MAX_CHANNEL_LINES]:
        out.append(say("Input channel {channel}: {formula} = {sum}.", channel=c,
                       formula=product_formula(zip(v, w)), sum=num(s)))
    if len(cs) > MAX_CHANNEL_LINES:
        rest = float(np.sum(sums[MAX_CHANNEL_LINES:]))
        out.append(say("The other {count} input channels add up to {sum}.",
                       count=len(cs) - MAX_CHANNEL_LINES, sum=num(rest)))
    return out


def total_lines(sums: np.ndarray, bias: float | None, recomputed: float) -> list[str]:
    """The channel sums added up, then the bias."""
    total = float(np.sum(sums))
    out = []
    if len(sums) > 1:
        if len(sums) <= MAX_SUM_TERMS:
            out.append(say("The channel sums add up to {formula} = {total}.",
                           formula=sum_formula(sums.tolist()), total=num(total)))
        else:
            out.append(say("The {count} channel sums add up to {total}.", count=len(sums),
                           total=num(total)))
    out.append(bias_line(total, bias, recomputed))
    return out


def bias_line(total: float, bias: float | None, recomputed: float) -> str:
    if bias is None:
        return say("There is no bias, so the unit is {result}.", result=num(recomputed))
    return say("Adding the bias {bias}: {formula} = {result}.", bias=num(bias),
               formula=sum_formula([total, bias]), result=num(recomputed))


def compare_line(value: float, recomputed: float) -> str:
    return say("torch gives {value}; NumPy recomputes {recomputed} (difference {difference}).",
               value=num(value), recomputed=num(recomputed),
               difference=diff(recomputed - value))
