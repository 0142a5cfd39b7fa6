"""An independent plain-torch recomputation of a layer stack, written for the tests.

It does not use convexplorer's engine: it builds ``torch.nn`` modules straight from the config's
dicts, resolves in_channels / num_features / in_features from the tensor that arrives, pairs each
MaxUnpool with the nearest earlier MaxPool of its rank that returned indices, and runs on a real
CPU tensor. Weights follow the documented seeding rule (layer ``i`` is constructed right after
``torch.manual_seed(seed + i)``; the forward pass starts from ``torch.manual_seed(seed)`` so
Dropout masks repeat).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

# key -> dimension it follows
AUTO = {"in_channels": 1, "num_features": 1, "in_features": -1, "num_channels": 1,
        "normalized_shape": -1}


class ReferenceError_(Exception):
    """The reference itself could not pair an unpool with a pool (torch has no such rule)."""


@dataclass
class Reference:
    modules: list[nn.Module] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)
    indices: dict[int, torch.Tensor] = field(default_factory=dict)
    unpool_from: dict[int, int] = field(default_factory=dict)
    kwargs: list[dict] = field(default_factory=list)
    input_shapes: list[torch.Size] = field(default_factory=list)


def _kwargs(layer: dict, x: torch.Tensor) -> dict:
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in layer.items()
          if k not in ("type", "name")}
    for key, dim in AUTO.items():
        if key in _signature_names(layer["type"]) and key not in kw:
            kw[key] = x.shape[dim]
    if "inplace" in kw:
        kw["inplace"] = False
    return kw


def _signature_names(type_name: str) -> tuple[str, ...]:
    import inspect

    return tuple(inspect.signature(getattr(nn, type_name).__init__).parameters)


def _apply(i: int, layers: list[dict], module: nn.Module, x: torch.Tensor, ref: Reference,
           pools: list[int], in_shapes: list[torch.Size]):
    t = layers[i]["type"]
    if t.startswith("MaxUnpool"):
        want = "MaxPool" + t[-2:]
        for j in range(len(pools) - 1, -1, -1):
            if layers[pools[j]]["type"] == want:
                src = pools.pop(j)
                break
        else:
            raise ReferenceError_(f"layer {i}: no MaxPool with indices to unpool")
        ref.unpool_from[i] = src
        return module(x, ref.indices[src], output_size=in_shapes[src][2:])
    return module(x)


def _record(i: int, layers: list[dict], y, ref: Reference, pools: list[int]) -> torch.Tensor:
    if isinstance(y, tuple):
        y, ref.indices[i] = y
        if layers[i]["type"].startswith("MaxPool"):
            pools.append(i)
    return y


def reference(layers: list[dict], x: torch.Tensor, seed: int = 0, *,
              requires_grad: bool = False) -> Reference:
    """Build and run ``layers`` on ``x`` (CPU, training mode). Raises whatever torch raises."""
    ref = Reference()
    in_shapes: list[torch.Size] = []
    # Pass 1: build every module in order from the seed; the forward passes needed to learn
    # each layer's input size run inside fork_rng so they do not advance the init RNG.
    h = x.detach()
    pools: list[int] = []
    with torch.no_grad():
        for i, layer in enumerate(layers):
            kw = _kwargs(layer, h)
            torch.manual_seed(seed + i)
            module = getattr(nn, layer["type"])(**kw)
            module.train()
            ref.modules.append(module)
            ref.kwargs.append(kw)
            in_shapes.append(h.shape)
            with torch.random.fork_rng(devices=[]):
                h = _record(i, layers, _apply(i, layers, module, h, ref, pools, in_shapes),
                            ref, pools)
    # Pass 2: the real forward, from the seed again, keeping every output's gradient.
    ref.indices.clear()
    ref.unpool_from.clear()
    torch.manual_seed(seed)
    h = x
    pools = []
    for i, module in enumerate(ref.modules):
        h = _record(i, layers, _apply(i, layers, module, h, ref, pools, in_shapes), ref, pools)
        if requires_grad and h.requires_grad:
            h.retain_grad()
        ref.outputs.append(h)
    ref.input_shapes = in_shapes
    return ref


def macs(layer_type: str, kw: dict, x_shape, y_shape) -> int:
    """Multiply-accumulates, counted from the tensors' shapes (conv, transposed conv, linear)."""
    import math

    if layer_type.startswith("ConvTranspose"):
        k = kw["kernel_size"]
        ks = k if isinstance(k, tuple) else (k,) * (len(x_shape) - 2)
        g = kw.get("groups", 1)
        return math.prod(x_shape) * (kw["out_channels"] // g) * math.prod(ks)
    if layer_type.startswith("Conv"):
        k = kw["kernel_size"]
        ks = k if isinstance(k, tuple) else (k,) * (len(x_shape) - 2)
        g = kw.get("groups", 1)
        return math.prod(y_shape) * (kw["in_channels"] // g) * math.prod(ks)
    if layer_type == "Linear":
        return math.prod(x_shape[:-1]) * kw["in_features"] * kw["out_features"]
    return 0
