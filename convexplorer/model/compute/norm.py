"""BatchNorm1d/2d/3d in training mode: the unit's input normalised with the batch statistics of
its channel (mean and biased variance over the batch and every position), then scaled by the
channel's weight and shifted by its bias (affine=True)."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import factor, num, say

TYPES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")


def compute(req: Request) -> Breakdown:
    kw, x, unit = req.kwargs, req.x, req.unit
    c = unit[1]
    channel = np.moveaxis(x, 1, 0)[c].astype(np.float64)
    count = channel.size
    mean = float(channel.mean())
    var = float(np.mean((channel - mean) ** 2))  # biased: torch normalises with it
    eps = float(kw["eps"])
    std = math.sqrt(var + eps)
    xv = float(x[unit])
    normed = (xv - mean) / std
    w = req.param("weight", required=False)
    bias_arr = req.param("bias", required=False)
    weight = None if w is None else float(w[c])
    bias = None if bias_arr is None else float(bias_arr[c])
    product = normed * (weight if weight is not None else 1.0)
    recomputed = product + (bias or 0.0)
    data = TermData(input_index=np.array([unit], np.int64), input_value=np.array([xv]),
                    product=np.array([product]),
                    weight_index=None if weight is None else np.array([[c]], np.int64),
                    weight_value=None if weight is None else np.array([weight]))

    lines = [say("{layer} unit {unit} normalises its input {x} with the statistics of channel "
                 "{channel} over this batch ({count} values: every batch item and position).",
                 layer=req.label, unit=req.unit_text, x=num(xv), channel=c, count=count),
             say("Mean {mean}; variance {var} (biased: divided by {count}).", mean=num(mean),
                 var=num(var), count=count),
             say("Normalised: ({x} - {mean}) / sqrt({var} + {eps}) = {normed}.", x=num(xv),
                 mean=factor(mean), var=num(var), eps=f"{eps:g}", normed=num(normed))]
    if weight is not None and bias is not None:
        lines.append(say("Scaled and shifted: {normed} × {weight} + {bias} = {result}.",
                         normed=factor(normed), weight=factor(weight), bias=factor(bias),
                         result=num(recomputed)))
    elif weight is not None:
        lines.append(say("Scaled (there is no bias): {normed} × {weight} = {result}.",
                         normed=factor(normed), weight=factor(weight), result=num(recomputed)))
    else:
        lines.append(say("affine=False: there is no weight or bias, so the unit is the "
                         "normalised value {result}.", result=num(recomputed)))
    lines.append(compare_line(req.value, recomputed))
    return req.breakdown("batch_norm", recomputed, bias, data, lines,
                         extra={"mean": mean, "var": var, "eps": eps, "std": std,
                                "normalized": normed, "count": float(count)})
