"""Activations: every channel of the input or of a layer's output, and one channel large with
the kernels that made it."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ...model.spec import Objective, Unit
from .base import DIVERGING, Panel, SourceBar, arrays
from .channel_grid import ChannelGrid
from .data import batch_count, batch_item, kernels_of

HINT = ("Hover for values. Click a channel to see it large with its kernels; double-click a "
        "unit to back-propagate from it alone (see Gradients and Receptive field).")


def unit_objective(layer: int, array: np.ndarray, batch: int, channel: int,
                   position: tuple[int, ...]) -> Objective | None:
    """The objective "this one output value" for a unit of a layer's output (None for the
    input, or where the shown map is not the whole array, e.g. a slice of 5-D data)."""
    if layer < 0 or array.ndim != len(position) + 2:
        return None
    return Objective(kind="unit", layer=layer, batch=batch, channel=channel,
                     position=tuple(int(p) for p in position))


class ChannelDetail(QWidget):
    """One channel large with its gradient beside it, the kernels that made it, and a sentence
    on how it is computed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heading = QLabel("Click a channel")
        self.heading.setWordWrap(True)
        self.big = ChannelGrid(controls=False)
        self.grad = ChannelGrid(cmap=DIVERGING, controls=False)
        self.kernels = ChannelGrid(cmap=DIVERGING, controls=False)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.backprop = QPushButton("Back-propagate from this unit")
        self.backprop.setToolTip("Make this single output value the objective of backward: "
                                 "the gradients then show what influences it.")
        self.backprop.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        maps = QHBoxLayout()
        maps.addWidget(self.big)
        maps.addWidget(self.grad)
        layout.addLayout(maps, 3)
        layout.addWidget(self.kernels, 2)
        layout.addWidget(self.text)
        layout.addStretch(0)
        layout.addWidget(self.backprop)

    def show_channel(self, layer, name: str, item: np.ndarray, grad: np.ndarray | None,
                     batch: int, channel: int, position: tuple[int, ...], cmap: str) -> None:
        """Channel ``channel`` of one batch ``item`` (and of its gradient ``grad``) of the
        output of ``layer`` (a LayerResult; None for the input)."""
        self.big.cmap_box.setCurrentText(cmap)
        for grid, values, what in ((self.big, item, name), (self.grad, grad, name + ".grad")):
            grid.setVisible(values is not None)
            if values is None:
                continue
            if values.ndim == 1:  # a vector: the feature is the "channel"
                grid.set_data(values, what, (batch,), ("batch", "feature"))
            else:
                grid.set_data(values[channel:channel + 1], what, (batch,), ("batch", "channel"),
                              offset=channel)
            grid.mark(channel, position)
        where = ", ".join(str(i) for i in (batch, channel, *position))
        self.heading.setText(f"<b>{escape(name)}[{batch}, {channel}]</b>" + (
            f" \u2014 picked unit [{where}]" if position else ""))
        if layer is None:
            self.kernels.set_data(None)
            self.kernels.hide()
            self.text.setText("The input has no kernels: it is the data itself.")
            return
        kern, kname, text = kernels_of(layer, channel)
        self.text.setText(text)
        self.kernels.setVisible(kern is not None)
        words = ("in feature",) if kern is not None and kern.ndim == 1 else ("in channel",)
        self.kernels.set_data(kern, kname, (), words)

    def clear(self) -> None:
        self.heading.setText("Click a channel")
        for grid in (self.big, self.grad, self.kernels):
            grid.set_data(None)
            grid.hide()
        self.text.setText("")
        self.backprop.setEnabled(False)


class ActivationPanel(Panel):
    title = "Activations"
    unitPicked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = SourceBar()
        self.grid = ChannelGrid()
        self.detail = ChannelDetail()
        self.picked: tuple[int, int, tuple[int, ...]] | None = None  # (key, channel, position)
        self._unit_batch: int | None = None  # the batch item of a unit picked elsewhere
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.grid)
        splitter.addWidget(self.detail)
        splitter.setSizes([700, 300])
        hint = QLabel(HINT)
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source)
        layout.addWidget(splitter, 1)
        layout.addWidget(hint)
        self.source.changed.connect(self.refresh)
        self.grid.cmap_box.currentTextChanged.connect(lambda _t: self._show_detail())
        self.grid.unitClicked.connect(self._on_grid_unit_clicked)
        self.grid.unitDoubleClicked.connect(self._on_grid_unit_double_clicked)
        self.detail.backprop.clicked.connect(self._on_backprop_clicked)

    def _current(self):
        """(key, read-out name, array) of the chosen source."""
        for key, _text, name, array in arrays(self.result):
            if key == self.source.key:
                return key, name, array
        return None

    def _redraw(self) -> None:
        if self.result is None:
            self.source.chooser.set_items([])
            self.grid.set_data(None)
            self.detail.clear()
            return
        items = arrays(self.result)
        self.source.chooser.set_items([(k, text) for k, text, _n, _a in items])
        self._follow_selection(self.source.chooser)
        key, name, array = self._current()
        self.source.set_batches(batch_count(array))
        if self._unit_batch is not None:
            self.source.batch_box.blockSignals(True)
            self.source.batch_box.setValue(self._unit_batch)
            self.source.batch_box.blockSignals(False)
            self._unit_batch = None
        batch = self.source.batch
        words = ("batch", "feature") if array.ndim == 2 else ("batch", "channel")
        self.grid.set_data(batch_item(array, batch), name,
                           (batch,) if array.ndim >= 2 else (), words)
        if self.picked is None or self.picked[0] != key:
            self.picked = (key, 0, ())  # show channel 0 until the user clicks another
        self._show_detail()

    def _show_detail(self) -> None:
        current = self._current() if self.result is not None else None
        if self.picked is None or current is None:
            self.detail.clear()
            self.grid.mark(None)
            return
        key, name, array = current
        _key, channel, position = self.picked
        item = batch_item(array, self.source.batch)
        if channel >= item.shape[0]:  # the layer changed under the pick
            channel, position = 0, ()
        if len(position) != item.ndim - 1 or any(p >= n for p, n in zip(position,
                                                                          item.shape[1:])):
            position = ()
        self.picked = (key, channel, position)
        layer = self.result.layers[key] if key >= 0 else None
        grads = self.result.grad_input if layer is None else layer.grad_output
        grad = None if grads is None else batch_item(grads, self.source.batch)
        self.detail.show_channel(layer, name, item, grad, self.source.batch, channel, position,
                                 self.grid.cmap)
        self.detail.backprop.setEnabled(self._objective() is not None)
        self.grid.mark(channel, position)

    def _objective(self) -> Objective | None:
        if self.picked is None or self.result is None or self._current() is None:
            return None
        key, _name, array = self._current()
        _key, channel, position = self.picked
        return unit_objective(key, array, self.source.batch, channel, position)

    def _on_grid_unit_clicked(self, channel: int, position: tuple) -> None:
        self.picked = (self.source.key, channel, tuple(position))
        self._show_detail()
        current = self._current() if self.result is not None else None
        if current is not None and current[2].ndim == len(position) + 2:
            key = current[0]
            self.unitPicked.emit(Unit(None if key < 0 else key, self.source.batch, channel,
                                      tuple(int(p) for p in position)))

    def set_unit(self, unit: Unit | None) -> None:
        """A unit picked elsewhere (the Values table, a step of the computation): show its
        layer and batch item, and mark it."""
        if unit is None or self.result is None:
            return
        key = -1 if unit.layer is None else unit.layer
        self.picked = (key, unit.channel, tuple(unit.position))
        self._unit_batch = unit.batch
        if key != self.source.key:
            self._pending = key
        self.refresh()

    def _on_grid_unit_double_clicked(self, channel: int, position: tuple) -> None:
        self._on_grid_unit_clicked(channel, position)
        self._on_backprop_clicked()

    def _on_backprop_clicked(self) -> None:
        objective = self._objective()
        if objective is not None:
            self.objectiveRequested.emit(objective)

    def export_image(self, path) -> bool:
        self.ensure_fresh()
        return self.grid.export_image(path)
