"""An independent plain-torch recomputation of a layer stack, written for the tests.

It does not use convexplorer's engine: it builds ``torch.nn`` modules straight from the config's
dicts, resolves in_channels / num_features / in_features from the tensor that arrives, pairs each
MaxUnpool with the nearest earlier MaxPool of its rank that returned indices, does a merge
(Add, Concat, Multiply) with ``+``, ``torch.cat`` and ``*`` on the outputs its ``from`` names
(read here on its own: a name is the nearest earlier layer so named, an int or a string of
digits an index, "input" the input), and runs on a real CPU tensor. Weights follow the
documented seeding rule (layer ``i`` is constructed right after ``torch.manual_seed(seed +
i)``; the forward pass starts from ``torch.manual_seed(seed)`` so Dropout masks repeat).
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


MERGES = ("Add", "Concat", "Multiply")


def _source(layers: list[dict], i: int, ref) -> int | None:
    if ref == "input":
        return None
    if isinstance(ref, str):
        for j in range(i - 1, -1, -1):
            if layers[j].get("name") == ref:
                return j
        if not ref.isdigit():
            raise ReferenceError_(f"layer {i}: no earlier layer named {ref!r}")
        ref = int(ref)
    if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < i:
        raise ReferenceError_(f"layer {i}: {ref!r} is not an earlier layer")
    return ref


def _merge(i: int, layers: list[dict], h: torch.Tensor, x: torch.Tensor, outs: list):
    layer = layers[i]
    refs = layer["from"] if isinstance(layer["from"], list | tuple) else [layer["from"]]
    others = [x if s is None else outs[s] for s in (_source(layers, i, r) for r in refs)]
    if layer["type"] == "Concat":
        return torch.cat([h, *others], dim=layer.get("dim", 1))
    for other in others:
        h = h + other if layer["type"] == "Add" else h * other
    return h


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
    outs: list[torch.Tensor] = []
    with torch.no_grad():
        for i, layer in enumerate(layers):
            in_shapes.append(h.shape)
            if layer["type"] in MERGES:  # no module: an operation (Identity: no parameters)
                ref.modules.append(nn.Identity())
                ref.kwargs.append({})
                h = _merge(i, layers, h, x.detach(), outs)
                outs.append(h)
                continue
            kw = _kwargs(layer, h)
            torch.manual_seed(seed + i)
            module = getattr(nn, layer["type"])(**kw)
            module.train()
            ref.modules.append(module)
            ref.kwargs.append(kw)
            with torch.random.fork_rng(devices=[]):
                h = _record(i, layers, _apply(i, layers, module, h, ref, pools, in_shapes),
                            ref, pools)
            outs.append(h)
    # Pass 2: the real forward, from the seed again, keeping every output's gradient.
    ref.indices.clear()
    ref.unpool_from.clear()
    torch.manual_seed(seed)
    h = x
    pools = []
    for i, module in enumerate(ref.modules):
        if layers[i]["type"] in MERGES:
            h = _merge(i, layers, h, x, ref.outputs)
        else:
            h = _record(i, layers, _apply(i, layers, module, h, ref, pools, in_shapes), ref,
                        pools)
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
