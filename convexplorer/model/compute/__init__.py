"""How one output value of a layer is made, recomputed in NumPy from a run's own arrays: the
terms (input x weight), the bias, the window, torch's value and the difference, in sentences.

``compute_unit(info, x, y, params, unit)`` is the entry point; ``REGISTRY`` maps every catalogue
type name to its family's ``compute``. No Qt and no torch here.
"""

from .breakdown import (
    KINDS,
    REDUCES,
    Breakdown,
    Term,
    TermData,
    TermSummary,
    UnitError,
    WindowDim,
    summarize_terms,
)
from .registry import FAMILIES, REGISTRY, compute_unit
from .text import set_translation
from .units import check_unit, map_size, position_number, step_unit, units_in_map

__all__ = [
    "FAMILIES", "KINDS", "REDUCES", "REGISTRY", "Breakdown", "Term", "TermData", "TermSummary",
    "UnitError", "WindowDim", "check_unit", "compute_unit", "map_size", "position_number",
    "set_translation", "step_unit", "summarize_terms", "units_in_map",
]
