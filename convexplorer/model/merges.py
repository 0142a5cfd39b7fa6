"""Skip connections in a stack that stays a list: a merge layer (Add, Concat, Multiply) names
earlier layers in its ``from`` field, and joins their outputs with the previous layer's.

Here: what a reference is and which layer it points at, the merges' shape rules (torch's
broadcasting, torch.cat), and how references follow the edits of a stack (rename, move,
remove, insert). No Qt and no torch.

A reference is a layer's name, its index in the stack (0 is the first layer), or ``"input"``
(the stack's input). A name points at the nearest layer before the merge with that name; a
string of digits that no layer is named is an index, as the stack list shows unnamed layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .limits import fmt_number
from .spec import LayerSpec, shown_name

INPUT = "input"

# Messages: whole sentences with named placeholders, for translation.
FROM_SELF = "from={ref} is this layer itself; a merge joins an earlier output"
FROM_FORWARD = "from={ref} is layer {target}, which comes after this layer"
FROM_MISSING = "from={ref} names no layer before this one"
FROM_FIX = "name a layer before it ({choices}) or 'input'"
FROM_FIX_FIRST = "use 'input': this is the first layer"
FROM_EMPTY = "from needs at least one earlier layer"
BROADCAST = ("from={ref} gives {shape}, which does not broadcast with the previous output "
             "{previous}: sizes {a} and {b} in dimension {dim}")
BROADCAST_FIX = ("make the two outputs the same shape, or give one of them size 1 in "
                 "dimension {dim} to stretch it")
CAT_RANK = ("from={ref} gives a {rank}-D output {shape}, but the previous output {previous} is "
            "{previous_rank}-D; torch.cat joins outputs with the same number of dimensions")
CAT_RANK_FIX = "name a layer whose output has {previous_rank} dimensions"
CAT_SIZE = ("from={ref} gives {shape}, but the previous output is {previous}: sizes {b} and {a} "
            "in dimension {dim}, and only dimension {cat} (dim={dim_value}) may differ")
CAT_SIZE_FIX = "name a layer whose output has size {a} in dimension {dim}, or join along dim={dim}"
CAT_DIM = "dim={dim} is out of range for {rank}-D outputs"
CAT_DIM_FIX = "use {low} to {high}"


class MergeProblem(Exception):
    """What is wrong with a merge: the field, the message and the fix (see validate.Problem)."""

    def __init__(self, field: str | None, message: str, fix: str = ""):
        super().__init__(message)
        self.field, self.message, self.fix = field, message, fix


def is_merge(spec: LayerSpec) -> bool:
    lt = spec.layer_type
    return lt is not None and lt.is_merge


def tokens(value: Any) -> tuple:
    """A ``from`` value as a tuple of references (one reference: a tuple of one)."""
    if isinstance(value, tuple | list):
        return tuple(value)
    return () if value is None else (value,)


def show_ref(token: Any) -> str:
    """A reference as messages show it: 'block_in' or 3."""
    if isinstance(token, str):
        return repr(shown_name(token))
    if isinstance(token, int) and not isinstance(token, bool):
        return fmt_number(token)
    return repr(token)


def _is_index(token: Any) -> bool:
    return isinstance(token, int) and not isinstance(token, bool)


def find(layers: Sequence[LayerSpec], index: int, token: Any) -> int | None | str:
    """Where ``token`` (a reference in layer ``index``'s ``from``) points: a layer index, None
    for the input, or one of "self", "forward", "missing" when it points nowhere valid."""
    if token == INPUT:
        return None
    if isinstance(token, str):
        for j in range(min(index, len(layers)) - 1, -1, -1):
            if layers[j].name == token:
                return j
        if 0 <= index < len(layers) and layers[index].name == token:
            return "self"
        if any(s.name == token for s in layers[index + 1:]):
            return "forward"
        if not (token.isascii() and token.isdigit()):
            return "missing"
        token = int(token)
    if not _is_index(token) or token < 0:
        return "missing"
    if token < index:
        return token
    if token == index:
        return "self"
    return "forward" if token < len(layers) else "missing"


def _target_index(layers, index: int, token: Any) -> int | None:
    """The index a forward reference names (for its message)."""
    if isinstance(token, str) and not (token.isascii() and token.isdigit()):
        return next((j for j in range(index + 1, len(layers)) if layers[j].name == token), None)
    return int(token)


def choices_text(layers: Sequence[LayerSpec], index: int, limit: int = 6) -> str:
    """'0 to 3' or 'conv1, 1, bn1' for a fix."""
    names = [reference_for(layers, j, index) for j in range(min(index, len(layers)))]
    if len(names) > limit or not any(isinstance(n, str) for n in names):
        return f"0 to {index - 1}" if index > 1 else "0"
    return ", ".join(show_ref(n) for n in names)


def resolve(layers: Sequence[LayerSpec], index: int, value: Any) -> tuple[int | None, ...]:
    """The layers layer ``index``'s ``from`` names, in order (None: the input); MergeProblem
    on field "from" for a reference that is not an earlier layer."""
    items = tokens(value)
    if not items:
        raise MergeProblem("from", FROM_EMPTY, FROM_FIX_FIRST if index == 0 else
                           FROM_FIX.format(choices=choices_text(layers, index)))
    out: list[int | None] = []
    for token in items:
        where = find(layers, index, token)
        if where is None or isinstance(where, int):
            out.append(where)
            continue
        fix = FROM_FIX_FIRST if index == 0 else FROM_FIX.format(
            choices=choices_text(layers, index))
        if where == "self":
            raise MergeProblem("from", FROM_SELF.format(ref=show_ref(token)), fix)
        if where == "forward":
            raise MergeProblem("from", FROM_FORWARD.format(
                ref=show_ref(token), target=_target_index(layers, index, token)), fix)
        raise MergeProblem("from", FROM_MISSING.format(ref=show_ref(token)), fix)
    return tuple(out)


def sources(layers: Sequence[LayerSpec], index: int) -> tuple[int | None, ...]:
    """The sources of merge ``index`` that resolve (no problems raised): for drawing."""
    spec = layers[index]
    out = []
    for token in tokens(spec.value("from")):
        where = find(layers, index, token)
        if where is None or isinstance(where, int):
            out.append(where)
    return tuple(out)


# -- shapes ------------------------------------------------------------------------------------

def fmt_list(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | int:
    """torch's broadcast of two shapes (aligned at the last dimension), or the dimension
    (counted in the longer shape) where they clash."""
    rank = max(len(a), len(b))
    pa, pb = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out = []
    for d, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            return d
        out.append(y if x == 1 else x)
    return tuple(out)


def merge_shape(type_name: str, kwargs: dict, previous: tuple[int, ...],
                inputs: Sequence[tuple[Any, tuple[int, ...]]]) -> tuple[tuple[int, ...], list[str]]:
    """The output shape of a merge and its formula lines. ``inputs``: (reference as written,
    output shape) per ``from`` entry. MergeProblem when they do not fit."""
    if type_name == "Concat":
        return _concat(kwargs.get("dim", 1), previous, inputs)
    shape = previous
    op = "+" if type_name == "Add" else "×"
    for token, other in inputs:
        out = broadcast(shape, other)
        if isinstance(out, int):
            rank = max(len(shape), len(other))
            pa = (1,) * (rank - len(shape)) + shape
            pb = (1,) * (rank - len(other)) + other
            raise MergeProblem("from", BROADCAST.format(
                ref=show_ref(token), shape=fmt_list(other), previous=fmt_list(shape),
                a=pa[out], b=pb[out], dim=out), BROADCAST_FIX.format(dim=out))
        shape = out
    formula = [f"{fmt_list(previous)} {op} {fmt_list(other)} \u2192 {fmt_list(shape)}"
               for _token, other in inputs]
    if any(o != previous for _t, o in inputs) or shape != previous:
        formula.append("sizes of 1 stretch to the other's size (broadcasting)")
    return shape, formula


def _concat(dim: int, previous, inputs) -> tuple[tuple[int, ...], list[str]]:
    rank = len(previous)
    if not -rank <= dim < rank:
        raise MergeProblem("dim", CAT_DIM.format(dim=dim, rank=rank),
                           CAT_DIM_FIX.format(low=-rank, high=rank - 1))
    d = dim + rank if dim < 0 else dim
    for token, other in inputs:
        if len(other) != rank:
            raise MergeProblem("from", CAT_RANK.format(
                ref=show_ref(token), rank=len(other), shape=fmt_list(other),
                previous=fmt_list(previous), previous_rank=rank),
                CAT_RANK_FIX.format(previous_rank=rank))
        for k, (a, b) in enumerate(zip(previous, other)):
            if k != d and a != b:
                raise MergeProblem("from", CAT_SIZE.format(
                    ref=show_ref(token), shape=fmt_list(other), previous=fmt_list(previous),
                    a=a, b=b, dim=k, cat=d, dim_value=dim), CAT_SIZE_FIX.format(a=a, dim=k))
    sizes = [previous[d]] + [other[d] for _t, other in inputs]
    shape = previous[:d] + (sum(sizes),) + previous[d + 1:]
    formula = [f"dimension {d}: " + " + ".join(str(s) for s in sizes) + f" = {sum(sizes)}"]
    return shape, formula


def union_field(size_jumps: Sequence[tuple[tuple[float, ...], tuple[float, ...],
                                           tuple[int, ...] | None]],
                out_shape: tuple[int, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The receptive field of a merge: the union of its inputs' fields. Per dimension the
    largest size; the jump of the inputs that are not stretched there (broadcast from size 1),
    the largest if they differ. ``size_jumps``: (size, jump, the input's shape) per input."""
    n = len(size_jumps[0][0])
    spatial = out_shape[2:] if len(out_shape) == n + 2 else None
    sizes, jumps = [], []
    for j in range(n):
        sizes.append(max(s[j] for s, _jp, _sh in size_jumps))
        kept = [jp[j] for _s, jp, sh in size_jumps
                if spatial is None or sh is None or len(sh) != len(out_shape)
                or sh[2 + j] == spatial[j]]
        jumps.append(max(kept or [jp[j] for _s, jp, _sh in size_jumps]))
    return tuple(sizes), tuple(jumps)


# -- references and edits ----------------------------------------------------------------------

def reference_for(layers: Sequence[LayerSpec], target: int | None, index: int) -> Any:
    """How layer ``index`` names ``target`` (None: the input): by name when the name finds it,
    else by index."""
    if target is None:
        return INPUT
    name = layers[target].name
    if name and name != INPUT and find(layers, index, name) == target:
        return name
    return target


def reference_choices(layers: Sequence[LayerSpec], index: int) -> list[tuple[Any, str]]:
    """What layer ``index``'s ``from`` can name: (reference, text) for the input and every
    earlier layer, in stack order."""
    out: list[tuple[Any, str]] = [(INPUT, "input")]
    for j in range(min(index, len(layers))):
        spec = layers[j]
        name = f" {shown_name(spec.name)}" if spec.name else ""
        out.append((reference_for(layers, j, index), f"{j}{name} ({spec.type})"))
    return out


def follow_references(old: Sequence[LayerSpec], new: Sequence[LayerSpec],
                      new_index: Sequence[int | None]) -> tuple[LayerSpec, ...]:
    """``new`` (the stack after an edit) with every merge's references still on the layers
    they named before it. ``new_index[i]``: where old layer ``i`` went (None: removed). A
    reference to a removed layer moves to what that layer received (its previous layer, or the
    input), as the stack's own chain does; names follow a rename; indices follow a move. A
    reference that then points forward is left for validation to flag."""
    old_of = {n: i for i, n in enumerate(new_index) if n is not None}
    out = list(new)
    for n, spec in enumerate(new):
        if not is_merge(spec) or n not in old_of or not spec.is_set("from"):
            continue
        o = old_of[n]
        value = spec.value("from")
        fixed = tuple(_follow(old, new, new_index, o, n, t) for t in tokens(value))
        fixed_value = fixed if isinstance(value, tuple) else fixed[0]
        if fixed_value != value:
            out[n] = spec.with_params(**{"from": fixed_value})
    return tuple(out)


def _follow(old, new, new_index, o: int, n: int, token: Any) -> Any:
    target = find(old, o, token)
    if isinstance(target, str):
        return token  # pointed nowhere valid before: left as written
    while target is not None and new_index[target] is None:  # removed: what it received
        target = target - 1 if target > 0 else None
    moved = None if target is None else new_index[target]
    if moved is None:
        return INPUT
    if isinstance(token, str) and not (token.isascii() and token.isdigit()):
        name = new[moved].name  # a name follows a rename, else the layer is named by index
        if name and name != INPUT and find(new, n, name) == moved:
            return name
    return moved


def default_from(layers: Sequence[LayerSpec], shapes: Sequence[tuple[int, ...] | None],
                 input_shape: tuple[int, ...] | None, index: int, type_name: str) -> Any:
    """A ``from`` for a new merge inserted at ``index``: the latest earlier output (before the
    previous layer's) whose shape fits the previous output, else the input. ``shapes``: the
    output shape of each layer of ``layers`` (None: unknown)."""
    previous = input_shape if index == 0 else shapes[index - 1]
    target: int | None = None
    if previous is not None:
        for j in range(index - 2, -2, -1):
            shape = input_shape if j < 0 else shapes[j]
            if shape is None:
                continue
            if _fits(type_name, previous, shape):
                target = None if j < 0 else j
                break
    ref = reference_for(layers, target, index)
    return (ref,) if type_name == "Concat" else ref


def _fits(type_name: str, previous, shape) -> bool:
    if type_name == "Concat":
        return len(shape) == len(previous) and all(
            a == b for k, (a, b) in enumerate(zip(previous, shape)) if k != 1)
    out = broadcast(previous, shape)
    return not isinstance(out, int) and out == previous
