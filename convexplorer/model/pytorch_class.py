"""PyTorch code out for a stack with skip connections: a small ``nn.Module`` subclass whose
``__init__`` holds the layers and whose ``forward()`` runs them in turn, keeps the outputs a
merge needs and does the additions (``out + block_in``), concatenations (``torch.cat``) and
multiplications itself. A merge is an operation in forward(), not a module, so print(model)
lists only the layers, as it does for a ResNet block.

Names are Python identifiers (``self.conv1``; an unnamed layer ``i`` is ``layer_i``), and the
kept outputs are local variables of the same names. No Qt and no torch here.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import merges
from .spec import LayerSpec

CLASS_NAME = "Net"

# forward()'s own names: the input, the running output, and the modules the code uses.
_LOCALS = frozenset({"x", "out", "self", "torch", "nn", "model", "outputs", "F"})


class ReferenceError_(ValueError):
    """A merge whose ``from`` names no earlier layer: the code cannot be written."""


def has_merges(layers: Sequence[LayerSpec]) -> bool:
    return any(merges.is_merge(s) for s in layers)


def identifier_names(layers: Sequence[LayerSpec], reserved: frozenset[str]) -> list[str]:
    """Attribute names for the class: the layer's name (or ``layer_<index>``) made a Python
    identifier that is not a keyword, an nn.Module attribute (``reserved``) or a name of
    forward(), and unique."""
    taken: set[str] = set()
    out = []
    for i, spec in enumerate(layers):
        name = re.sub(r"\W", "_", spec.name or "") or str(i)
        if (not name.isidentifier() or keyword.iskeyword(name) or name in reserved
                or name in _LOCALS or name.startswith("_")):
            name = f"layer_{name.lstrip('_')}"
        base, k = name, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        out.append(name)
    return out


@dataclass(frozen=True)
class Step:
    """One layer as forward() runs it: its sources (merges; None: the input), the pool whose
    indices it uses (MaxUnpool) and whether it returns indices itself."""

    index: int
    spec: LayerSpec
    sources: tuple[int | None, ...] = ()
    indices_from: int | None = None
    returns_indices: bool = False


def plan(layers: Sequence[LayerSpec]) -> list[Step]:
    """The steps of forward(): merges resolved (ReferenceError_ for a bad ``from``), each
    MaxUnpool paired with the nearest earlier MaxPool of its rank with return_indices=True not
    yet unpooled (the rule of ``model.shapes``)."""
    steps, pools = [], []
    for i, spec in enumerate(layers):
        lt = spec.layer_type
        sources: tuple[int | None, ...] = ()
        pair = None
        if lt is not None and lt.is_merge:
            try:
                sources = merges.resolve(layers, i, spec.value("from"))
            except merges.MergeProblem as exc:
                raise ReferenceError_(f"{spec.name or i} ({spec.type}) from: {exc.message}; "
                                      f"{exc.fix}") from None
        elif lt is not None and lt.is_unpool:
            pool_type = f"MaxPool{lt.dims}d"
            for j in range(len(pools) - 1, -1, -1):
                if layers[pools[j]].type == pool_type:
                    pair = pools.pop(j)
                    break
        returns = spec.value("return_indices") is True
        if returns and spec.type.startswith("MaxPool"):
            pools.append(i)
        steps.append(Step(i, spec, sources, pair, returns))
    return steps


def forward_lines(steps: list[Step], names: list[str], owner: str = "self",
                  record: bool = False) -> list[str]:
    """The body of forward() (``owner`` "self"), or with ``record`` the body of a script's
    ``forward_all(model, x)`` that also puts every layer's output in ``outputs`` by name.
    Lines are indented for a method's body."""
    kept = {s for st in steps for s in st.sources if s is not None}
    used_by: dict[int, list[str]] = {}
    for st in steps:
        for s in st.sources:
            if s is not None:
                used_by.setdefault(s, []).append(names[st.index])
    sized = {st.indices_from for st in steps if st.indices_from is not None}
    pad = "        " if owner == "self" else "    "
    lines = [pad + "outputs = {}"] if record else []
    current = "x"

    def ref(source: int | None) -> str:
        return "x" if source is None else names[source]

    for st in steps:
        name = names[st.index]
        lt = st.spec.layer_type
        label = f"  # {name} ({st.spec.type})"
        if lt is not None and lt.is_merge:
            others = [ref(s) for s in st.sources]
            if lt.name == "Concat":
                dim = st.spec.value("dim")
                line = f"out = torch.cat([{', '.join([current, *others])}], dim={dim})"
            else:
                op = " + " if lt.name == "Add" else " * "
                line = "out = " + op.join([current, *others])
            lines.append(pad + line + label)
        else:
            call = f"{owner}.{name}"
            if st.index in sized:
                lines.append(pad + f"{name}_size = {current}.shape[2:]  # for the unpool")
            if st.indices_from is not None:
                pool = names[st.indices_from]
                lines.append(pad + f"out = {call}({current}, {pool}_indices, "
                                   f"output_size={pool}_size)")
            elif st.returns_indices:
                lines.append(pad + f"out, {name}_indices = {call}({current})")
            else:
                lines.append(pad + f"out = {call}({current})")
        current = "out"
        if st.index in kept:
            lines.append(pad + f"{name} = out  # kept for {', '.join(used_by[st.index])}")
        if record:
            lines.append(pad + f"outputs[{name!r}] = out")
    lines.append(pad + ("return outputs" if record else f"return {current}"))
    return lines


def class_lines(steps: list[Step], names: list[str], codes: Sequence[str]) -> list[str]:
    """``class Net(nn.Module)``: the layers (``codes``: each layer's ``nn.X(...)``, None for a
    merge) in __init__, and forward()."""
    lines = [f"class {CLASS_NAME}(nn.Module):",
             '    """The stack as a module: the layers in __init__; forward() runs them in turn '
             'and',
             '    does the skip connections (additions, concatenations, products) itself."""',
             "",
             "    def __init__(self):",
             "        super().__init__()"]
    for st, code in zip(steps, codes):
        if code is not None:
            lines.append(f"        self.{names[st.index]} = {code}")
    lines += ["", "    def forward(self, x):"] + forward_lines(steps, names)
    return lines
