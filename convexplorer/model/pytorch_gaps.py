"""Where imported modules do not chain: the layers ``forward()`` adds that the module list does
not hold (a Flatten before a Linear), found by shape inference, and the input shape to try when
none is given. The break that a custom module's branches explain is named, never patched with a
channel count that cannot be right. No Qt and no torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .import_notes import Note, note
from .shapes import fmt_shape, infer
from .spec import Config, LayerSpec, layer_label

# Input sizes tried, in order, when no input shape is given: the first one that lets the most
# layers through wins (28: MNIST, 32: CIFAR, 224: ImageNet).
SIZES_2D = {1: (28, 32, 64, 96, 128, 224, 256, 299, 512),
            3: (32, 224, 28, 64, 96, 128, 256, 299, 512)}
SIZES_1D = (64, 128, 256, 512, 1024, 4096, 16000)
SIZES_3D = (16, 32, 64, 112, 128)  # volumes: small scans and video clips (C3D's 112)

Blocks = dict  # layer name -> (custom module's qualified name, its class)


@dataclass(frozen=True)
class Suggestion:
    """A layer to insert so the stack chains: ``spec`` goes before layer ``index`` of the
    imported config (indices of the config as imported, before any insertion); ``target`` is
    the layer that needs it (the Linear)."""

    message: str
    index: int
    spec: LayerSpec
    target: int = -1
    note: Note | None = None


def apply_suggestions(config: Config, suggestions) -> Config:
    layers = list(config.layers)
    for s in sorted(suggestions, key=lambda s: s.index, reverse=True):
        layers.insert(s.index, s.spec)
    return config.with_layers(layers)


def _parent(name: str | None) -> str | None:
    return name.rsplit(".", 1)[0] if name and "." in name else None


def _flatten_at(work: list[LayerSpec], index: int) -> int:
    """Where torch flattens before the Linear at ``index``: before the Dropouts that lead into
    it in its own container (AlexNet's classifier starts with one), not between them."""
    parent = _parent(work[index].name)
    while index > 0 and work[index - 1].type == "Dropout" and _parent(work[index - 1].name) \
            == parent:
        index -= 1
    return index


def branch_block(layers, index: int, blocks: Blocks) -> tuple[str, tuple[str, str]] | None:
    """("inside" | "after", block) when the layer at ``index`` is inside a custom module or
    comes after one: its forward() may branch, so the order of the stack proves nothing."""
    spec = layers[index]
    if spec.name in blocks:
        return "inside", blocks[spec.name]
    for earlier in reversed(layers[:index]):
        if earlier.name in blocks:
            return "after", blocks[earlier.name]
    return None


def branch_note(kind: str, block: tuple[str, str], label: str, problem: str) -> Note:
    return note("branch_inside" if kind == "inside" else "branch_after", label=label,
                problem=problem, block=block[0], cls=block[1])


def find_gaps(layers, shape, blocks: Blocks | None = None):
    """(suggestions, breaks): Flattens to insert where a Linear's in_features is what a Flatten
    of the conv map before it gives, and notes (by layer index) where the chain breaks in a way
    no insertion fixes."""
    blocks = blocks or {}
    work = list(layers)
    suggestions: list[Suggestion] = []
    breaks: dict[int, Note] = {}
    names = {s.name for s in layers if s.name}
    for _ in range(len(layers)):
        report = infer(work, shape)
        bad = next((info for info in report.layers if info.problems), None)
        if bad is None or bad.input_shape is None:
            break
        spec, shp = bad.spec, bad.input_shape
        original = bad.index - len(suggestions)
        label = layer_label(original, spec)
        lt = spec.layer_type
        if spec.type == "Linear" and len(shp) >= 3 and spec.is_set("in_features"):
            flat, want = math.prod(shp[1:]), spec.value("in_features")
            branch = branch_block(layers, original, blocks)
            spatial_later = any(s.layer_type is not None and s.layer_type.dims is not None
                                for s in layers[original + 1:])
            if branch and branch[0] == "inside" and spatial_later:  # squeeze-and-excitation
                breaks[original] = branch_note(*branch, label, bad.problems[0].message)
                break
            if flat != want:
                breaks[original] = note("flatten_mismatch", label=label, want=want,
                                        flat=flat, shape=fmt_shape(shp))
                break
            name = _unique("flatten", names)
            names.add(name)
            at = _flatten_at(work, bad.index)
            if at == bad.index:
                msg = note("insert_flatten", label=label, flat=flat, shape=fmt_shape(shp))
            else:
                msg = note("insert_flatten_before", linear=label, flat=flat,
                           label=layer_label(at - len(suggestions), work[at]),
                           shape=fmt_shape(shp))
            suggestions.append(Suggestion(msg.text(), at - len(suggestions),
                                          LayerSpec.make("Flatten", name), original, msg))
            work.insert(at, suggestions[-1].spec)
            continue
        if lt is not None and lt.dims is not None and len(shp) == 2:
            breaks[original] = note("unflatten", label=label, shape=fmt_shape(shp))
        break
    return suggestions, breaks


def _unique(base: str, taken) -> str:
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _score(layers, shape) -> int:
    """How many layers (with the suggested insertions) infer without a problem, in order. A
    Linear that gets a conv map counts as a stop too: it would run on the map's last dimension,
    which a size can make fit by chance (a 128-wide map before Linear(128, 10))."""
    suggestions, _ = find_gaps(layers, shape)
    work = list(apply_suggestions(Config(layers=tuple(layers)), suggestions).layers)
    n = 0
    for info in infer(work, shape).layers:
        if info.problems or (info.spec.type == "Linear" and info.input_shape is not None
                             and len(info.input_shape) >= 3):
            break
        n += 1
    return n


def _candidate_shapes(layers: list[LayerSpec]) -> list[tuple[int, ...]]:
    for spec in layers:
        lt = spec.layer_type
        if lt is None:
            continue
        auto = lt.auto_param
        if lt.dims is not None:
            c = spec.value(auto.name) if auto is not None and spec.is_set(auto.name) else 1
            c = c if isinstance(c, int) and not isinstance(c, bool) and c > 0 else 1
            if lt.dims == 1:
                shapes = [(1, c, n) for n in SIZES_1D]
                return ([(2, c)] + shapes) if lt.name == "BatchNorm1d" else shapes
            if lt.dims == 3:
                return [(1, c, n, n, n) for n in SIZES_3D]
            return [(1, c, n, n) for n in SIZES_2D.get(c, SIZES_2D[1])]
        if lt.name == "Linear":
            f = spec.value("in_features")
            return [(1, f if isinstance(f, int) and not isinstance(f, bool) and f > 0 else 1)]
    return [(1, 1, 28, 28)]


def guess_shape(layers) -> tuple[int, ...]:
    """An input shape for a stack without one: N=1, C from the first layer, and the first of
    the usual sizes that lets the most layers through."""
    layers = list(layers)
    best, best_score = None, -1
    for shape in _candidate_shapes(layers):
        score = _score(layers, shape)
        if score > best_score:
            best, best_score = shape, score
        if score >= len(layers):  # every layer goes through: no later size can do better
            break
    assert best is not None
    return best
