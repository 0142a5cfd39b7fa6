"""Sentences and numbers of a breakdown.

Every sentence is one whole template with named placeholders, passed through ``say``, so a
translation can replace the template (``gettext``; extract with ``xgettext --keyword=say``).
Formulas are numbers and operators only, so they need no translation.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Sequence

_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_translation(translation: gettext.NullTranslations | None) -> None:
    """Use ``translation`` for every later sentence (None: the English templates)."""
    global _translation
    _translation = translation or gettext.NullTranslations()


def say(template: str, **values) -> str:
    """One sentence: the (translated) template with its named placeholders filled in."""
    return _translation.gettext(template).format(**values)


def num(v: float | None) -> str:
    """A number as torch prints it at 4 decimals (4 significant digits in scientific notation
    when it is too large or too small for that)."""
    if v is None:
        return "-"
    a = abs(v)
    if a != 0 and (a >= 1e8 or a < 1e-4):
        return f"{v:.4e}"
    return f"{v:.4f}"


def diff(v: float) -> str:
    """A difference between torch and NumPy, which is tiny: scientific notation."""
    return f"{v:.1e}"


def index(idx: Sequence[int] | None) -> str:
    """An index as a list: [0, 3, 5, 7]."""
    return "[" + ", ".join(str(i) for i in idx) + "]" if idx is not None else "-"


def factor(v: float | None) -> str:
    """A factor in a product: negative numbers in brackets."""
    s = num(v)
    return f"({s})" if s.startswith("-") else s


def sum_formula(values: Iterable[float]) -> str:
    """1.0000 + 2.0000 - 0.5000"""
    out = ""
    for i, v in enumerate(values):
        s = num(v)
        if i == 0:
            out = s
        elif s.startswith("-"):
            out += " - " + s[1:]
        else:
            out += " + " + s
    return out or num(0.0)


def product_formula(pairs: Iterable[tuple[float, float | None]]) -> str:
    """1.0000×0.5000 + 2.0000×(-0.1000); a pair with no weight is its value alone."""
    parts = [factor(a) if w is None else f"{factor(a)}×{factor(w)}" for a, w in pairs]
    return " + ".join(parts) or num(0.0)


def ints(values: Iterable[int], limit: int = 12) -> str:
    """0, 2, 4 (the first ``limit``, then how many in all)."""
    values = list(values)
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f", … ({len(values)})" if len(values) > limit else "")


def dim_names(rank: int, vector_last: bool = False) -> tuple[str, ...]:
    """Names of the indices of an output of ``rank`` dimensions. ``vector_last``: the last
    dimension holds features (Linear)."""
    if rank == 1:
        return (say("feature"),)
    if rank == 2:
        return (say("batch"), say("feature"))
    spatial = {1: (say("position"),), 2: (say("row"), say("column")),
               3: (say("depth"), say("row"), say("column"))}.get(rank - 2)
    if spatial is None:
        spatial = tuple(say("dimension {number}", number=i) for i in range(2, rank))
    names = (say("batch"), say("channel")) + spatial
    if vector_last:
        names = names[:-1] + (say("feature"),)
    return names


AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
AXIS_WORDS = {"L": "position", "D": "depth", "H": "row", "W": "column"}


def slice_text(unit: Sequence[int], running: Iterable[int]) -> str:
    """The index of a slice through ``unit``: [0, :, 3] (the ``running`` dimensions as ':')."""
    running = set(running)
    return "[" + ", ".join(":" if j in running else str(u) for j, u in enumerate(unit)) + "]"
