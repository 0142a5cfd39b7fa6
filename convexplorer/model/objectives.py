"""What backward starts from, checked against the shapes before a run: the sum or mean of a
layer's output, one channel, one unit, or a loss the tutorials use (``cross_entropy`` of the
logits against a class per batch item, ``mse`` against zeros or a seeded ``torch.randn``
target, ``gradient``: ``output.backward(g)`` with a seeded ``torch.randn`` g). A bad objective is
a Problem naming the field and the valid range, like a bad layer parameter. No Qt, no torch."""

from __future__ import annotations

from .limits import MAX_INT, fmt_number
from .shapes import ShapeReport, fmt_shape
from .spec import Objective
from .validate import Problem

LOSS_KINDS = ("cross_entropy", "mse", "gradient")
MSE_TARGETS = ("zeros", "randn")


def target_layer(objective: Objective, report: ShapeReport) -> tuple[int | None, str,
                                                                      tuple[int, ...] | None]:
    """(layer index or None for the input, its label, its output shape) the objective reads."""
    if not report.layers:
        return None, "input", tuple(report.input_shape)
    idx = objective.layer if objective.layer != -1 else len(report.layers) - 1
    if not 0 <= idx < len(report.layers):
        return idx, f"layer {idx}", None
    info = report.layers[idx]
    return idx, info.label, info.output_shape


def _problem(field: str, message: str, fix: str = "") -> Problem:
    return Problem(None, "objective", field, message, fix)


def check_objective(objective: Objective, report: ShapeReport) -> list[Problem]:
    """The objective's problems against these shapes (none when it fits)."""
    if objective.kind in ("mse", "gradient") and not 0 <= objective.seed <= MAX_INT:
        return [_problem("seed", "seed {seed} is outside 0..{limit}".format(
            seed=fmt_number(objective.seed), limit=MAX_INT), "use a seed in that range")]
    idx, where, shape = target_layer(objective, report)
    if shape is None:
        if idx is not None and not 0 <= idx < len(report.layers):
            return [_problem("layer", "there is no layer {layer}; the stack has layers 0 to "
                                      "{last}".format(layer=idx, last=len(report.layers) - 1),
                             "use -1 for the last layer")]
        return []  # the layer itself has a problem: that one is reported
    kind = objective.kind
    if kind in ("sum", "mean", "gradient", "mse"):
        if kind == "mse" and objective.target not in MSE_TARGETS:
            return [_problem("target", "mse compares with zeros or with randn, not "
                                       "{target!r}".format(target=objective.target),
                             "use zeros or randn")]
        return []
    if kind == "cross_entropy":
        return _check_cross_entropy(objective, where, shape)
    # channel and unit
    if len(shape) < 2:
        return [_problem("layer", "{where} output {shape} has no channels".format(
            where=where, shape=fmt_shape(shape)), "use sum or mean")]
    pos = (objective.batch, objective.channel)
    names = ("batch", "channel")
    if kind == "unit":
        if len(objective.position) != len(shape) - 2:
            return [_problem("position", "{where} output is {shape}; give {count} position "
                                         "value(s) after batch and channel".format(
                                             where=where, shape=fmt_shape(shape),
                                             count=len(shape) - 2))]
        pos += tuple(objective.position)
        names += ("position",) * len(objective.position)
    for p, n, name in zip(pos, shape, names):
        if not 0 <= p < n:
            return [_problem(name, "{value} is outside 0..{last} of {where} output "
                                   "{shape}".format(value=p, last=n - 1, where=where,
                                                    shape=fmt_shape(shape)))]
    return []


def _check_cross_entropy(objective: Objective, where: str, shape) -> list[Problem]:
    if len(shape) != 2:
        return [_problem("layer", "cross_entropy reads logits of shape (N, classes), but "
                                  "{where} output is {shape}".format(where=where,
                                                                     shape=fmt_shape(shape)),
                         "pick the last Linear layer, or add Flatten and Linear before it")]
    n, classes = shape
    target = objective.target
    if not isinstance(target, tuple) or not target:
        return [_problem("target", "cross_entropy needs a target class per batch item (or "
                                   "one for all)",
                         "give classes between 0 and {last}".format(last=classes - 1))]
    if len(target) not in (1, n):
        return [_problem("target", "{count} target classes for a batch of {n}".format(
            count=len(target), n=n), "give one class per batch item, or one for all")]
    for t in target:
        if not isinstance(t, int) or not 0 <= t < classes:
            return [_problem("target", "class {value} is outside 0..{last} of {where} output "
                                       "{shape}".format(value=t, last=classes - 1, where=where,
                                                        shape=fmt_shape(shape)))]
    return []


def target_classes(objective: Objective, batch: int) -> list[int]:
    """One class per batch item (a single class applies to every item)."""
    target = tuple(objective.target)
    return list(target) * batch if len(target) == 1 else list(target)
