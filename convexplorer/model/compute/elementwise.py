"""Element-wise layers: ReLU, LeakyReLU, GELU, Sigmoid, Tanh, ReLU6, SiLU, Hardswish,
Hardsigmoid, ELU, Mish and Identity apply f to the unit's own input; PReLU multiplies a
negative input by its learned slope (the weight of the unit's channel, or the one shared
slope). Dropout (training mode) keeps a value scaled by 1/(1-p) or zeroes it; Dropout1d/2d do
so to whole channels. Which it was is read from the input and output themselves (the mask is
not kept)."""

from __future__ import annotations

import math

import numpy as np

from .breakdown import Breakdown, TermData
from .lines import compare_line
from .request import Request
from .text import factor, num, say

TYPES = ("ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Dropout", "ReLU6", "SiLU", "Hardswish",
         "Hardsigmoid", "ELU", "Mish", "Identity", "PReLU", "Dropout1d", "Dropout2d")

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _more(t: str, kw, xv: float, x: str) -> tuple[float, str] | None:
    """The activations of issue 14 (None for the others)."""
    if t == "ReLU6":
        y = min(max(xv, 0.0), 6.0)
        return y, say("ReLU6: min(max(0, {x}), 6) = {y}.", x=x, y=num(y))
    if t == "SiLU":
        s = _sigmoid(xv)
        y = xv * s
        return y, say("SiLU: {x} × sigmoid({x}) = {x} × {s} = {y}.", x=x, s=num(s), y=num(y))
    if t == "Hardswish":
        gate = min(max(xv + 3.0, 0.0), 6.0) / 6.0
        y = xv * gate
        return y, say("Hardswish: {x} × min(max({x} + 3, 0), 6) / 6 = {x} × {gate} = {y}.",
                      x=x, gate=num(gate), y=num(y))
    if t == "Hardsigmoid":
        y = min(max(xv + 3.0, 0.0), 6.0) / 6.0
        return y, say("Hardsigmoid: min(max({x} + 3, 0), 6) / 6 = {y}.", x=x, y=num(y))
    if t == "ELU":
        alpha = float(kw["alpha"])
        if xv > 0:
            return xv, say("ELU: {x} > 0, so it passes unchanged: {y}.", x=x, y=num(xv))
        y = alpha * math.expm1(xv)
        return y, say("ELU: {x} <= 0, so alpha × (e^{x} - 1) = {alpha} × {e} = {y}.", x=x,
                      alpha=f"{alpha:g}", e=factor(math.expm1(xv)), y=num(y))
    if t == "Mish":
        soft = xv if xv > 20.0 else math.log1p(math.exp(xv))
        y = xv * math.tanh(soft)
        return y, say("Mish: {x} × tanh(softplus({x})) = {x} × tanh({soft}) = {y}.", x=x,
                      soft=num(soft), y=num(y))
    if t == "Identity":
        return xv, say("Identity passes its input on unchanged: {y}.", y=num(xv))
    return None


def _apply(req: Request, xv: float) -> tuple[float, str]:
    """f(x) and the sentence that works it out."""
    t, kw, x = req.type, req.kwargs, factor(xv)
    more = _more(t, kw, xv, x)
    if more is not None:
        return more
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
        y = _sigmoid(xv)
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


def _channel_dropout(req: Request, xv: float) -> tuple[float, str, dict]:
    """Dropout1d/2d: the unit's whole channel (of its batch item) was kept or dropped, which
    any nonzero input of that channel shows."""
    p = float(req.kwargs["p"])
    b, c = req.unit[0], req.unit[1]
    if p >= 1.0:
        return 0.0, say("{type} with p=1 zeroes every channel, so the unit is 0.",
                        type=req.type), {"p": p}
    scale = 1.0 / (1.0 - p)
    extra = {"p": p, "scale": scale}
    xs, ys = req.x[b, c], req.y[b, c]
    seen = np.flatnonzero(xs.reshape(-1) != 0)
    if not len(seen):
        return 0.0, say("Every input of channel {channel} is exactly 0, so the output is 0 "
                        "whether the channel was kept or dropped: it cannot tell.",
                        channel=c), extra
    kept = float(ys.reshape(-1)[seen[0]]) != 0.0
    extra["kept"] = float(kept)
    if not kept:
        return 0.0, say("Channel {channel} of batch item {batch} was dropped (each channel is "
                        "dropped with probability p={p}): all its values became 0, this one "
                        "too.", channel=c, batch=b, p=f"{p:g}"), extra
    y = xv * scale
    return y, say("Channel {channel} of batch item {batch} was kept, so every value of it is "
                  "scaled by 1/(1-p) = 1/(1-{p}) = {scale}: {x} × {scale} = {y}.", channel=c,
                  batch=b, p=f"{p:g}", scale=num(scale), x=factor(xv), y=num(y)), extra


def _prelu(req: Request, xv: float) -> tuple[float, str, TermData]:
    w = req.param("weight")
    c = req.unit[1] if len(w) > 1 else 0
    slope = float(w[c])
    unit = np.array([req.unit], np.int64)
    if xv > 0:
        return xv, say("PReLU: {x} > 0, so it passes unchanged: {y}.", x=factor(xv),
                       y=num(xv)), TermData(unit, np.array([xv]), np.array([xv]))
    y = xv * slope
    which = (say("the slope of channel {channel}, weight[{channel}]", channel=c) if len(w) > 1
             else say("the one slope shared by every channel, weight[0]"))
    line = say("PReLU: {x} <= 0, so it is multiplied by {which}: {x} × {slope} = {y}.",
               x=factor(xv), which=which, slope=factor(slope), y=num(y))
    return y, line, TermData(unit, np.array([xv]), np.array([y]),
                             weight_index=np.array([[c]], np.int64),
                             weight_value=np.array([slope]))


def compute(req: Request) -> Breakdown:
    unit = req.unit
    xv = float(req.x[unit])
    lines = [say("{layer} unit {unit} depends only on its own input, {x}.", layer=req.label,
                 unit=req.unit_text, x=num(xv))]
    if req.type == "PReLU":
        y, line, data = _prelu(req, xv)
        lines += [line, compare_line(req.value, y)]
        return req.breakdown("activation", y, None, data, lines)
    if req.type in ("Dropout1d", "Dropout2d"):
        lines[0] = say("{layer} unit {unit} depends on its own input, {x}, and on whether its "
                       "channel was kept.", layer=req.label, unit=req.unit_text, x=num(xv))
        y, line, extra = _channel_dropout(req, xv)
        kind = "dropout"
    elif req.type == "Dropout":
        y, line, extra = _dropout(req, xv)
        kind = "dropout"
    else:
        (y, line), extra, kind = _apply(req, xv), {}, "activation"
    lines += [line, compare_line(req.value, y)]
    data = TermData(input_index=np.array([unit], np.int64), input_value=np.array([xv]),
                    product=np.array([y]))
    return req.breakdown(kind, y, None, data, lines, extra=extra)
