"""Shape inference on torch's meta device: runs the real modules on shape-only tensors, so it
is instant at any size, and checks the formula-based inference of ``model.shapes`` against it."""

from __future__ import annotations

import torch

from ..model.shapes import ShapeReport, infer
from ..model.validate import Problem
from .build import build_module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def infer_meta(layers, input_shape) -> ShapeReport:
    """``model.shapes.infer`` checked on the meta device. Anything torch rejects that the
    formulas missed becomes a problem on that layer (with torch's own words)."""
    report = infer(layers, input_shape)
    if report.input_problems:
        return report
    with torch.device("meta"):
        x = torch.empty(tuple(input_shape))
        outputs: list[torch.Tensor] = []
        indices: dict[int, torch.Tensor] = {}
        for info in report.layers:
            if info.output_shape is None or info.problems:
                break
            try:
                module = build_module(info)
                if info.indices_from is not None:
                    y = module(x, indices[info.indices_from], output_size=info.unpool_size)
                else:
                    y = module(x)
                if isinstance(y, tuple):
                    y, indices[info.index] = y
            except Exception as exc:  # torch raises RuntimeError/ValueError/TypeError...
                info.problems.append(Problem(info.index, info.label, None,
                                             f"torch rejects this layer: {_first_line(exc)}"))
                info.output_shape = None
                break
            if tuple(y.shape) != info.output_shape:  # pragma: no cover - a formula bug
                info.problems.append(Problem(
                    info.index, info.label, None,
                    f"internal: formula gives {list(info.output_shape)}, torch "
                    f"{list(y.shape)}"))
                info.output_shape = tuple(y.shape)
            outputs.append(y)
            x = y
    return report
