"""Linear (on the last dimension, any rank): the dot product of the input vector the unit sits
on with the unit's row of the weight, plus the bias."""

from __future__ import annotations

import numpy as np

from .breakdown import Breakdown, TermData, summarize_terms
from .lines import bias_line, compare_line
from .request import Request
from .text import num, product_formula, say

TYPES = ("Linear",)
TEXT_TERMS = 16  # products written out in the text; the rest are summed


def compute(req: Request) -> Breakdown:
    x, unit = req.x, req.unit
    w = req.param("weight")  # (out_features, in_features)
    bias_arr = req.param("bias", required=False)
    head, j = unit[:-1], unit[-1]
    row = x[head].astype(np.float64)  # (in_features,)
    weights = w[j]
    prod = row * weights
    total = float(prod.sum())
    bias = None if bias_arr is None else float(bias_arr[j])
    recomputed = total + (bias or 0.0)
    n = len(row)
    feats = np.arange(n)
    input_index = np.concatenate([np.tile(np.asarray(head, np.int64), (n, 1)), feats[:, None]], 1)
    data = TermData(input_index=input_index, input_value=row, product=prod,
                    weight_index=np.stack([np.full(n, j), feats], 1), weight_value=weights)

    where = "[" + "".join(f"{h}, " for h in head) + ":]"
    lines = [say("{layer} unit {unit} is the dot product of the {count} input features at "
                 "{position} with row {row} of the weight, plus the bias.", layer=req.label,
                 unit=req.unit_text, count=n, position=where, row=j)]
    summary = summarize_terms(data, TEXT_TERMS)
    formula = product_formula([(t.input_value, t.weight_value) for t in summary.shown])
    if summary.complete:
        lines.append(say("Products: {formula} = {total}.", formula=formula, total=num(total)))
    else:
        lines.append(say("The {count} largest products: {formula}.", count=len(summary.shown),
                         formula=formula))
        lines.append(say("The other {count} products add up to {rest}, so all {all} add up to "
                         "{total}.", count=summary.rest_count, rest=num(summary.rest_sum),
                         all=n, total=num(total)))
    lines.append(bias_line(total, bias, recomputed))
    lines.append(compare_line(req.value, recomputed))
    return req.breakdown("linear", recomputed, bias, data, lines)
