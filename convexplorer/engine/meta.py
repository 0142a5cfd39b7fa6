"""Shape inference on torch's meta device: runs the real modules on shape-only tensors, so it
is instant at any size, and checks the formula-based inference of ``model.shapes`` against it."""

from __future__ import annotations

import warnings
from dataclasses import replace

import torch

from ..model.shapes import ShapeReport, infer
from ..model.validate import Problem
from .build import build_module, merge_inputs


def _meta_module(info):
    """The module for a shape check. BatchNorm with momentum=None divides by a tensor's value
    (num_batches_tracked), which the meta device cannot read; momentum does not change shapes."""
    if info.spec.type.startswith("BatchNorm") and info.kwargs.get("momentum", 0.1) is None:
        info = replace(info, kwargs={**info.kwargs, "momentum": 0.1})
    return build_module(info)


def _forward(module, x, info, indices, others=()):
    args = (indices[info.indices_from],) if info.indices_from is not None else others
    kwargs = {"output_size": info.unpool_size} if info.indices_from is not None else {}
    try:
        return module(x, *args, **kwargs)
    except Warning:
        # Only where warnings are turned into errors (test runs): a torch warning is not a
        # rejection, so the shape check goes ahead without it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return module(x, *args, **kwargs)


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
        try:
            x = x0 = torch.empty(tuple(input_shape))
        except RuntimeError as exc:  # e.g. "Storage size calculation overflowed"
            report.input_problems.append(Problem(
                None, "input", "shape", f"torch cannot make a tensor of shape "
                f"{list(input_shape)} ({_first_line(exc)})", "use a smaller input shape"))
            return report
        outputs: list[torch.Tensor] = []
        indices: dict[int, torch.Tensor] = {}
        for info in report.layers:
            if info.output_shape is None or info.problems:
                break
            try:
                module = _meta_module(info)
                y = _forward(module, x, info, indices, merge_inputs(info, x0, outputs))
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
