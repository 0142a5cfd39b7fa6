"""Edits of the layer stack as the window offers them (add after the selection, remove,
duplicate, move), each one pipeline batch: one event and one undo step. The objective keeps
pointing at the same layer when layers move. Qt-free: plain functions over a Pipeline."""

from __future__ import annotations

from dataclasses import replace

from ..model.pipeline import Pipeline
from ..model.spec import LayerSpec, Objective


def follow_objective(pipeline: Pipeline, new_index: list[int | None]) -> None:
    """Keep the objective on its layer after a reorder (``new_index[old]``; None: removed,
    then the objective falls back to the sum of the last layer)."""
    objective = pipeline.config.objective
    if objective.layer == -1 or objective.layer >= len(new_index):
        return
    moved = new_index[objective.layer]
    objective = Objective() if moved is None else replace(objective, layer=moved)
    if objective != pipeline.config.objective:
        pipeline.set_objective(objective)


def insert_layer(pipeline: Pipeline, index: int, spec: LayerSpec, label: str = "") -> None:
    n = len(pipeline.config.layers)
    index = max(0, min(index, n))
    with pipeline.batch(label or f"add {spec.type}"):
        pipeline.insert_layer(index, spec)
        follow_objective(pipeline, [i if i < index else i + 1 for i in range(n)])


def remove_layer(pipeline: Pipeline, index: int) -> None:
    n = len(pipeline.config.layers)
    if not 0 <= index < n:
        return
    with pipeline.batch(f"remove {pipeline.config.layers[index].type}"):
        pipeline.remove_layer(index)
        follow_objective(pipeline, [None if i == index else i - (i > index) for i in range(n)])


def copy_name(name: str | None, taken) -> str | None:
    """conv1 -> conv1_2 (or _3, ...): a name not in ``taken``; None stays None."""
    if not name:
        return None
    k = 2
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"


def duplicate_layer(pipeline: Pipeline, index: int) -> None:
    spec = pipeline.config.layers[index]
    name = copy_name(spec.name, {s.name for s in pipeline.config.layers})
    insert_layer(pipeline, index + 1, spec.renamed(name), f"duplicate {spec.type}")


def move_layer(pipeline: Pipeline, src: int, dst: int) -> None:
    """Move layer ``src`` so that it ends up at ``dst``."""
    order = list(range(len(pipeline.config.layers)))
    if not (0 <= src < len(order) and 0 <= dst < len(order)) or src == dst:
        return
    order.insert(dst, order.pop(src))
    with pipeline.batch(f"move {pipeline.config.layers[src].type}"):
        pipeline.move_layer(src, dst)
        follow_objective(pipeline, [order.index(i) for i in range(len(order))])
