"""Build torch modules from layer specs (after shape inference has resolved auto values)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..model.shapes import LayerInfo

# torch warns (once, with a C++ source path) that an even kernel with padding='same' may copy
# the input. It is a valid layer whose result is correct; the note means nothing to a user.
SAME_PADDING_WARNING = "Using padding='same' with even kernel lengths"
warnings.filterwarnings("ignore", message=SAME_PADDING_WARNING, category=UserWarning)


class Merge(nn.Module):
    """A merge layer (Add, Concat, Multiply) as the engine runs it: the previous output joined
    with the outputs ``from`` names, passed in order (``forward(x, *others)``). It has no
    parameters; exported code writes the operation itself (``out + block_in``)."""

    def __init__(self, kind: str, dim: int = 1):
        super().__init__()
        self.kind, self.dim = kind, dim

    def forward(self, x, *others):
        if self.kind == "Concat":
            return torch.cat([x, *others], dim=self.dim)
        for other in others:
            x = x + other if self.kind == "Add" else x * other
        return x


def merge_inputs(info, x0, outputs) -> tuple:
    """The outputs a merge joins with the previous one (``info.sources``; None: the input
    ``x0``), from ``outputs`` kept by layer index."""
    return tuple(x0 if s is None else outputs[s] for s in info.sources)


def build_module(info: LayerInfo) -> nn.Module:
    """The torch.nn module for one inferred layer. ``inplace`` is forced off so that every
    layer's own output survives for display (values are unchanged).

    Only the keywords the user set (and the auto-resolved channel count) are passed: the rest
    are torch's own defaults, so a keyword that an older torch lacks (BatchNorm's ``bias``
    before 2.12) is no obstacle unless the user sets it."""
    lt = info.spec.layer_type
    if lt is not None and lt.is_merge:
        return Merge(lt.name, info.kwargs.get("dim", 1))
    auto = lt.auto_param.name if lt is not None and lt.auto_param is not None else None
    kwargs = {k: v for k, v in info.kwargs.items() if k == auto or info.spec.is_set(k)}
    if "inplace" in kwargs:
        kwargs["inplace"] = False
    return getattr(nn, info.spec.type)(**kwargs)


def layer_seed(seed: int, index: int) -> int:
    """The seed layer ``index`` is made from: ``seed + index``. Each layer has its own, so
    editing one layer never changes another layer's weights."""
    return seed + index


def build_modules(infos: list[LayerInfo], seed: int, device: str | torch.device = "cpu",
                  base_dir=None):
    """All modules, each made on the CPU right after ``torch.manual_seed(seed + index)``
    (the same weights on every device, and editing one layer leaves the others' weights as
    they were), then given the weights its spec asks for (a preset, edited numbers, a
    checkpoint read from ``base_dir``: ``engine.weights``), then moved to ``device``. A plain
    script gets the same init weights with ``torch.manual_seed(seed + i);
    layer.reset_parameters()`` for layer ``i``."""
    from .weights import apply_weights

    gen_state = torch.random.get_rng_state()
    try:
        modules = []
        for info in infos:
            torch.manual_seed(layer_seed(seed, info.index))
            module = build_module(info)
            apply_weights(module, info, base_dir)
            modules.append(module)
    finally:
        torch.random.set_rng_state(gen_state)
    return [m.to(device) for m in modules]
