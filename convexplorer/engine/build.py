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


def build_module(info: LayerInfo) -> nn.Module:
    """The torch.nn module for one inferred layer. ``inplace`` is forced off so that every
    layer's own output survives for display (values are unchanged)."""
    kwargs = dict(info.kwargs)
    if "inplace" in kwargs:
        kwargs["inplace"] = False
    return getattr(nn, info.spec.type)(**kwargs)


def build_modules(infos: list[LayerInfo], seed: int, device: str | torch.device = "cpu"):
    """All modules, initialised deterministically from ``seed`` (on the CPU, so the same seed
    gives the same weights on every device), then moved to ``device``."""
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        modules = [build_module(info) for info in infos]
    finally:
        torch.random.set_rng_state(gen_state)
    return [m.to(device) for m in modules]
