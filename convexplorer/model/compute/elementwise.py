"""Element-wise layers: ReLU, LeakyReLU, GELU, Sigmoid, Tanh apply f to the unit's own input;
Dropout (training mode) keeps it scaled by 1/(1-p) or zeroes it, which is read from the input
and output themselves (the mask is not kept)."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import factor, num, say

TYPES = ("ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Dropout")

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _apply(req: Request, xv: float) -> tuple[float, str]:
    """f(x) and the sentence that works it out."""
    t, kw, x = req.type, req.kwargs, factor(xv)
    if t == "ReLU":
        y = max(xv, 0.0)
        return y, say("ReLU: max(0, {x}) = {y}.", x=x, y=num(y))
    if t == "LeakyReLU":
        slope = float(kw["negative_slope"])
        if xv > 0:
            return xv, say("LeakyReLU: {x} > 0, so it passes unchanged: {y}.", x=x, y=num(xv))
        y = xv * slope
        return y, say("LeakyReLU: {x} <= 0, so it is scaled by negative_slope {slope}: "
                      "{x} × {slope} = {y}.", x=x, slope=f"{slope:g}", y=num(y))
    if t == "GELU":
        if kw["approximate"] == "tanh":
            inner = _SQRT_2_OVER_PI * (xv + 0.044715 * xv ** 3)
            y = 0.5 * xv * (1.0 + math.tanh(inner))
            return y, say("GELU (tanh): 0.5 × {x} × (1 + tanh(sqrt(2/π) × ({x} + 0.044715 × "
                          "{x}³))) = 0.5 × {x} × (1 + tanh({inner})) = {y}.", x=x,
                          inner=num(inner), y=num(y))
        phi = 0.5 * (1.0 + math.erf(xv / math.sqrt(2.0)))
        y = xv * phi
        return y, say("GELU: {x} × Φ({x}) = {x} × 0.5 × (1 + erf({x} / √2)) = {x} × {phi} = "
                      "{y}.", x=x, phi=num(phi), y=num(y))
    if t == "Sigmoid":
        y = 1.0 / (1.0 + math.exp(-xv)) if xv >= 0 else math.exp(xv) / (1.0 + math.exp(xv))
        return y, say("Sigmoid: 1 / (1 + e^(-{x})) = {y}.", x=x, y=num(y))
    y = math.tanh(xv)
    return y, say("Tanh: tanh({x}) = {y}.", x=x, y=num(y))


def _dropout(req: Request, xv: float) -> tuple[float, str, dict]:
    p = float(req.kwargs["p"])
    value = req.value
    if p >= 1.0:
        return 0.0, say("Dropout with p=1 zeroes every value, so the unit is 0."), {"p": p}
    scale = 1.0 / (1.0 - p)
    extra = {"p": p, "scale": scale}
    if xv == 0.0:
        return 0.0, say("The input is exactly 0, so the output is 0 whether it was kept or "
                        "dropped: this unit cannot tell."), extra
    if value == 0.0:
        extra["kept"] = 0.0
        return 0.0, say("Dropped: the input {x} became 0 (each value is dropped with "
                        "probability p={p}).", x=num(xv), p=f"{p:g}"), extra
    extra["kept"] = 1.0
    y = xv * scale
    return y, say("Kept and scaled by 1/(1-p) = 1/(1-{p}) = {scale}: {x} × {scale} = {y}.",
                  p=f"{p:g}", scale=num(scale), x=factor(xv), y=num(y)), extra


def compute(req: Request) -> Breakdown:
    unit = req.unit
    xv = float(req.x[unit])
    lines = [say("{layer} unit {unit} depends only on its own input, {x}.", layer=req.label,
                 unit=req.unit_text, x=num(xv))]
    if req.type == "Dropout":
        y, line, extra = _dropout(req, xv)
        kind = "dropout"
    else:
        (y, line), extra, kind = _apply(req, xv), {}, "activation"
    lines += [line, compare_line(req.value, y)]
    data = TermData(input_index=np.array([unit], np.int64), input_value=np.array([xv]),
                    product=np.array([y]))
    return req.breakdown(kind, y, None, data, lines, extra=extra)
