"""Activations: every channel of the input or of a layer's output, and one channel large with
the kernels that made it."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...model.shapes import fmt_shape
from ...model.spec import Objective, Unit
from .base import DIVERGING, Panel, SourceBar, arrays, depth_of
from .channel_grid import ChannelGrid
from .colour_scale import ColourScale
from .data import batch_count, batch_item, kernel_inputs, kernels_of

HINT = ("Hover for values. Click a channel to see it large with its kernels; double-click a "
        "unit to back-propagate from it alone (see Gradients and Receptive field).")


def grid_slide(panel, grid: ChannelGrid, name: str, shape, width: int):
    """A slide of ``grid``'s page: "conv1 (Conv2d) output, batch 0: torch.Size([...])"."""
    from .slides import Slide

    figure = grid.slide_figure(width)
    if figure is None:
        return None
    title = panel.tr("{array}, batch {batch}: {shape}").format(
        array=name, batch=panel.source.batch, shape=fmt_shape(tuple(shape)))
    if grid.pages > 1:
        m = grid.mosaic
        title = panel.tr("{array}, batch {batch}, channels {first}\u2013{last}: {shape}").format(
            array=name, batch=panel.source.batch, first=m.first, last=m.first + m.count - 1,
            shape=fmt_shape(tuple(shape)))
    return Slide(title, [figure])


def unit_objective(layer: int, array: np.ndarray, batch: int, channel: int,
                   position: tuple[int, ...]) -> Objective | None:
    """The objective "this one output value" for a unit of a layer's output (None for the
    input, or where the shown map is not the whole array, e.g. a slice of 5-D data)."""
    if layer < 0 or array.ndim != len(position) + 2:
        return None
    return Objective(kind="unit", layer=layer, batch=batch, channel=channel,
                     position=tuple(int(p) for p in position))


class CaptionedGrid:
    """A small channel grid with a caption above it and its colour scale below: three widgets
    the detail lays out in a grid, so that side-by-side maps stay level."""

    def __init__(self, grid: ChannelGrid):
        self.grid = grid
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.scale = ColourScale()
        self.visible = False

    def place(self, layout: QGridLayout, column: int) -> None:
        layout.addWidget(self.caption, 0, column)
        layout.addWidget(self.grid, 1, column)
        layout.addWidget(self.scale, 2, column)

    def _set_visible(self, visible: bool, scale: bool = True) -> None:
        self.visible = visible
        self.caption.setVisible(visible)
        self.grid.setVisible(visible)
        self.scale.setVisible(visible and scale)

    def show_data(self, caption: str, *args, **kwargs) -> None:
        """``grid.set_data(*args, **kwargs)`` under ``caption``, with its colour scale (a
        vector's bars have their values on an axis: no scale)."""
        self.grid.set_data(*args, **kwargs)
        self.caption.setText(caption)
        image = self.grid.item is not None and self.grid.kind == "image"
        self.scale.set_scale(self.grid.cmap, self.grid.levels if image else None)
        self._set_visible(self.grid.item is not None, image)

    def clear(self) -> None:
        self.grid.set_data(None)
        self._set_visible(False)


def kernel_index(layer, channel: int, kernel: int) -> tuple[int, int]:
    """The weight's (first, second) index of kernel ``kernel`` of those making output
    ``channel`` (as ``kernels_of`` shows them): ``weight[channel, kernel]`` for a conv, the
    input channel's row of the output's column for a ConvTranspose."""
    if not layer.type.startswith("ConvTranspose"):
        return channel, kernel
    inputs = kernel_inputs(layer, channel)
    per_out = layer.params["weight"].shape[1]
    return inputs[0] + kernel, channel % per_out


class ChannelDetail(QWidget):
    """One channel large with its gradient beside it, the kernels that made it, and a sentence
    on how it is computed. Each map has a caption and a colour scale. "Edit these kernels" (or
    a double-click on one) asks for its numbers in the Values tab (``editWeightsRequested``:
    the layer and the weight's (out, in) slice)."""

    editWeightsRequested = Signal(int, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._kernels_of: tuple | None = None  # (layer result, output channel) shown
        self.heading = QLabel(self.tr("Click a channel"))
        self.heading.setWordWrap(True)
        self.big = ChannelGrid(controls=False)
        self.grad = ChannelGrid(cmap=DIVERGING, controls=False)
        self.kernels = ChannelGrid(cmap=DIVERGING, controls=False)
        self.boxes = {name: CaptionedGrid(grid) for name, grid in
                      (("big", self.big), ("grad", self.grad), ("kernels", self.kernels))}
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.backprop = QPushButton(self.tr("Back-propagate from this unit"))
        self.backprop.setToolTip(self.tr("Make this single output value the objective of "
                                         "backward: the gradients then show what influences "
                                         "it."))
        self.backprop.setEnabled(False)
        self.edit_kernels = QPushButton(self.tr("Edit these kernels"))
        self.edit_kernels.setObjectName("editKernels")
        self.edit_kernels.setToolTip(self.tr("Type the numbers of these kernels in the Values "
                                             "tab (double-click a kernel for that one)."))
        self.edit_kernels.setVisible(False)
        self.edit_kernels.clicked.connect(lambda: self._request_edit(0))
        self.kernels.unitDoubleClicked.connect(lambda c, _p: self._request_edit(c))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        maps = QGridLayout()
        maps.setVerticalSpacing(3)
        maps.setHorizontalSpacing(12)  # the two colour scales' numbers apart
        self.boxes["big"].place(maps, 0)
        self.boxes["grad"].place(maps, 1)
        maps.setRowStretch(1, 1)
        layout.addLayout(maps, 3)
        kernels = QGridLayout()
        kernels.setSpacing(3)
        self.boxes["kernels"].place(kernels, 0)
        kernels.setRowStretch(1, 1)
        layout.addLayout(kernels, 2)
        layout.addWidget(self.edit_kernels)
        layout.addWidget(self.text)
        layout.addStretch(0)
        layout.addWidget(self.backprop)

    def show_channel(self, layer, name: str, item: np.ndarray, grad: np.ndarray | None,
                     batch: int, channel: int, position: tuple[int, ...], cmap: str,
                     depth: int | None = None) -> None:
        """Channel ``channel`` of one batch ``item`` (and of its gradient ``grad``) of the
        output of ``layer`` (a LayerResult; None for the input). For a volume, the items are
        its slice ``depth`` and ``position`` is the picked unit's (depth, y, x)."""
        self.big.cmap_box.setCurrentText(cmap)
        short = "input" if layer is None else "output"  # the heading names the layer
        # the unit picked, if any, is outlined where it is on the slice shown
        shown = position
        if depth is not None:
            shown = tuple(position[1:]) if position and position[0] == depth else ()
        for key, values, what in (("big", item, name), ("grad", grad, name + ".grad")):
            box, grid = self.boxes[key], self.boxes[key].grid
            if values is None:
                box.clear()
                continue
            array = short + what[len(name):]
            caption = self.tr("{array}[{batch}, {channel}]").format(array=array, batch=batch,
                                                                      channel=channel)
            if depth is not None:
                caption = self.tr("{array}[{batch}, {channel}, {depth}]").format(
                    array=array, batch=batch, channel=channel, depth=depth)
            if values.ndim == 1:  # a vector: the feature is the "channel"
                caption = self.tr("{array}[{batch}]").format(array=array, batch=batch)
                box.show_data(caption, values, what, (batch,), ("batch", "feature"))
            else:
                box.show_data(caption, values[channel:channel + 1], what, (batch,),
                              ("batch", "channel"), offset=channel, depth=depth)
            # a whole channel alone in its view needs no outline
            grid.mark(channel if shown else None, shown)
        where = ", ".join(str(i) for i in (batch, channel, *position))
        self.heading.setText(f"<b>{escape(name)}[{batch}, {channel}]</b>" + (
            f" \u2014 picked unit [{where}]" if position else ""))
        box = self.boxes["kernels"]
        conv = layer is not None and layer.type.startswith("Conv") and "weight" in layer.params
        self._kernels_of = (layer, channel) if conv else None
        self.edit_kernels.setVisible(conv)
        if layer is None:
            box.clear()
            self.text.setText(self.tr("The input has no kernels: it is the data itself."))
            return
        kern, kname, text = kernels_of(layer, channel)
        self.text.setText(text)
        if kern is None:
            box.clear()
            return
        if kern.ndim == 1:
            box.show_data(self.tr("{weight}: one weight per input feature").format(
                weight=kname), kern, kname, (), ("in feature",))
            return
        if kern.ndim == 4:  # Conv3d: every depth slice of every input channel's kernel
            depth = kern.shape[1]
            box.show_data(self.tr("{weight}: the {depth} depth slices of each input channel's "
                                  "kernel, one after the other").format(weight=kname,
                                                                        depth=depth),
                          kern.reshape(-1, *kern.shape[2:]), kname, (), ("slice",))
            return
        inputs = kernel_inputs(layer, channel)
        first = inputs[0] if inputs else 0
        if len(kern) == 1:
            caption = self.tr("{weight}: the kernel for input channel {first}").format(
                weight=kname, first=first)
        else:
            caption = self.tr("{weight}: one kernel for each of input channels {first}\u2013{last}")
            caption = caption.format(weight=kname, first=first, last=first + len(kern) - 1)
        box.show_data(caption, kern, kname, (), ("in channel",), first_label=first)

    def _request_edit(self, kernel: int) -> None:
        if self._kernels_of is not None:
            layer, channel = self._kernels_of
            self.editWeightsRequested.emit(layer.index, kernel_index(layer, channel, kernel))

    def clear(self) -> None:
        self._kernels_of = None
        self.edit_kernels.setVisible(False)
        self.heading.setText(self.tr("Click a channel"))
        for box in self.boxes.values():
            box.clear()
        self.text.setText("")
        self.backprop.setEnabled(False)


class ActivationPanel(Panel):
    title = "Activations"
    unitPicked = Signal(object)
    editWeightsRequested = Signal(int, object)  # layer, the weight's (out, in) slice

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = SourceBar()
        self.grid = ChannelGrid()
        self.detail = ChannelDetail()
        self.picked: tuple[int, int, tuple[int, ...]] | None = None  # (key, channel, position)
        self._unit_batch: int | None = None  # the batch item of a unit picked elsewhere
        self._unit_depth: int | None = None  # its depth slice, in a volume
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
        self.detail.editWeightsRequested.connect(self.editWeightsRequested)

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
        self.source.depth_slider.fit(depth_of(array))
        if self._unit_batch is not None:
            self.source.batch_box.blockSignals(True)
            self.source.batch_box.setValue(self._unit_batch)
            self.source.batch_box.blockSignals(False)
            self._unit_batch = None
        if self._unit_depth is not None:
            self.source.depth_slider.set_value(self._unit_depth)
            self._unit_depth = None
        batch, depth = self.source.batch, self.source.depth
        words = ("batch", "feature") if array.ndim == 2 else ("batch", "channel")
        self.grid.set_data(batch_item(array, batch, depth), name,
                           (batch,) if array.ndim >= 2 else (), words, depth=depth)
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
        depth = self.source.depth
        item = batch_item(array, self.source.batch, depth)
        if channel >= item.shape[0]:  # the layer changed under the pick
            channel, position = 0, ()
        spatial = array.shape[2:] if array.ndim >= 3 else item.shape[1:]
        if len(position) != len(spatial) or any(p >= n for p, n in zip(position, spatial)):
            position = ()
        self.picked = (key, channel, position)
        layer = self.result.layers[key] if key >= 0 else None
        grads = self.result.grad_input if layer is None else layer.grad_output
        grad = None if grads is None else batch_item(grads, self.source.batch, depth)
        self.detail.show_channel(layer, name, item, grad, self.source.batch, channel, position,
                                 self.grid.cmap, depth)
        self.detail.backprop.setEnabled(self._objective() is not None)
        if depth is not None:  # the unit is outlined on its own slice, else its channel
            position = tuple(position[1:]) if position and position[0] == depth else ()
        self.grid.mark(channel, position)

    def _objective(self) -> Objective | None:
        if self.picked is None or self.result is None or self._current() is None:
            return None
        key, _name, array = self._current()
        _key, channel, position = self.picked
        return unit_objective(key, array, self.source.batch, channel, position)

    def _on_grid_unit_clicked(self, channel: int, position: tuple) -> None:
        if self.source.depth is not None:  # a unit of the slice shown: its depth first
            position = (self.source.depth, *position)
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
        self._unit_depth = unit.position[0] if len(unit.position) == 3 else None
        if key != self.source.key:
            self._pending, self._pending_mark = key, None
        self.refresh()

    def _on_grid_unit_double_clicked(self, channel: int, position: tuple) -> None:
        self._on_grid_unit_clicked(channel, position)
        self._on_backprop_clicked()

    def _on_backprop_clicked(self) -> None:
        objective = self._objective()
        if objective is not None:
            self.objectiveRequested.emit(objective)

    def slide(self, width: int):
        """The grid for a slide: the layer, batch item and torch.Size in the title."""
        self.ensure_fresh()
        current = self._current() if self.result is not None else None
        if current is None:
            return None
        return grid_slide(self, self.grid, current[1], current[2].shape, width)

    def export_image(self, path) -> bool:
        self.ensure_fresh()
        return self.grid.export_image(path)
