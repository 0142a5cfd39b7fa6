"""Result panels shown in the window's results area (activations, indices, gradients, ...).

Protocol every panel follows (a QWidget):

- ``title: str`` -- the tab title.
- ``set_result(result: RunResult | None, report: ShapeReport | None)`` -- new results (numpy
  only) and the shape report they came from; None clears.
- ``set_selection(index: int | None)`` -- the layer selected in the stack.
- ``objectiveRequested = Signal(object)`` -- emits an ``Objective`` when the user picks one
  (e.g. clicks an output unit), the window applies it to the pipeline.
- ``export_image(path) -> bool`` -- saves what the panel shows as PNG at data resolution.
- optional: ``set_unit(unit: Unit | None)`` -- the value picked anywhere (a table cell, a map
  unit); ``unitPicked = Signal(object)`` -- emits a ``Unit`` the user picked in this panel.
"""

from __future__ import annotations


def build_panels(parent=None) -> list:
    """The panels, in tab order: activations, values, pooling indices, gradients, receptive
    field, explain."""
    from .activations import ActivationPanel
    from .explain_view import ExplainPanel
    from .gradients import GradientPanel
    from .pooling import PoolingPanel
    from .receptive import ReceptiveFieldPanel
    from .values import ValuesPanel

    return [ActivationPanel(parent), ValuesPanel(parent), PoolingPanel(parent),
            GradientPanel(parent), ReceptiveFieldPanel(parent), ExplainPanel(parent)]
