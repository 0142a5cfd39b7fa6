"""Values: any tensor of a run as numbers. A table of one slice (every value printed as torch
prints that tensor), the text ``print(tensor)`` and ``print(model)`` print, copy buttons, and
beside them how the picked output value is computed."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
)

from ...engine.printing import PrintError, TensorRef, available, tensor_ref
from ...model.shapes import fmt_shape
from ...model.spec import Unit
from ...model.torch_text import element_formatter, model_str_from_report, scalar_str
from .base import COLORMAPS, DIVERGING, DepthSlider, LayerChooser, Panel, lut
from .compute_view import ComputeView
from .values_table import ValuesTable

#: Above this many elements a tensor opens as pictures (torch summarises it with ``...``
#: above the same number); at or below it, as numbers.
SMALL = 1000

WHAT_TEXT = {"output": "output", "weight": "weight", "bias": "bias",
             "grad_output": "output.grad", "grad_weight": "weight.grad",
             "grad_bias": "bias.grad", "indices": "indices (return_indices)"}

MODES = ("table", "tensor", "model")
EDITABLE = ("weight", "bias")  # the tensors whose numbers the user may type
MAX_TYPED = 1e6  # a typed weight's bound (model.limits.MAX_FLOAT)


def _w(text: str) -> str:
    """A word the Values tab shows, marked for translation (translated where it is shown,
    with ``ValuesPanel.word``)."""
    return QT_TRANSLATE_NOOP("ValuesPanel", text)


def lead_words(ref: TensorRef, layer_type: str | None, rank: int) -> list[str]:
    """What the leading dimensions of a tensor are called (those the spin boxes choose; the
    table shows the last two); "dim {index}" templates are filled in by ``ValuesPanel.word``."""
    lead = max(rank - 2, 0)
    if ref.what in ("weight", "grad_weight") and layer_type and "Conv" in layer_type:
        words = ([_w("in channel"), _w("out channel")] if "Transpose" in layer_type
                 else [_w("out channel"), _w("in channel")])
        return (words + [_w("kernel depth")])[:lead]
    dim = _w("dim {index}")
    if ref.what in ("weight", "bias", "grad_weight", "grad_bias"):
        return [dim] * lead
    if rank == 5:  # a volume (N, C, D, H, W): the table shows one depth slice
        return [_w("batch"), _w("channel"), _w("depth")]
    return [_w("batch"), _w("channel")][:lead] + [dim] * max(lead - 2, 0)


def axis_words(ref: TensorRef, rank: int) -> tuple[str, str]:
    """What the table's rows and columns are."""
    output = ref.what in ("output", "grad_output", "indices")
    if rank <= 1:
        return "", _w("position") if output else _w("index")
    if rank == 2:
        return (_w("batch"), _w("feature")) if output else (_w("out feature"),
                                                           _w("in feature"))
    if rank == 3 and output:
        return _w("channel"), _w("position")
    if rank >= 4 and output:
        return _w("y"), _w("x")
    return _w("row"), _w("column")


def as_csv(values: np.ndarray) -> str:
    """A 2-D slice as CSV, each value with the shortest digits that give back its float32."""
    return "\n".join(",".join(str(v) for v in row) for row in np.atleast_2d(values)) + "\n"


def as_numpy_literal(values: np.ndarray) -> str:
    """A slice as a NumPy literal that rebuilds it exactly."""
    def nested(a) -> str:
        if a.ndim == 0:
            return str(a)
        return "[" + ", ".join(nested(x) for x in a) + "]"
    return f"np.array({nested(values)}, dtype=np.{values.dtype.name})"


class ValuesPanel(Panel):
    title = "Values"
    unitPicked = Signal(object)
    # a number typed into a weight: layer, parameter ("weight", "bias"), index, value
    weightEdited = Signal(int, str, object, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.unit: Unit | None = None
        self.ref: TensorRef | None = None
        self.lead: tuple[int, ...] = ()
        self._cmap_auto = True

        self.chooser = LayerChooser()
        self.chooser.setToolTip(self.tr("The input or the layer whose tensors to show."))
        self.what_box = QComboBox()
        self.what_box.setToolTip(self.tr("Which tensor: the output, the weight and bias, their "
                                         ".grad after backward, or a max pool's indices."))
        self.lead_boxes = [QSpinBox() for _ in range(3)]
        # a volume's (or a 3-D kernel's) depth: the third lead box, also as a slider
        self.depth_slider = DepthSlider()
        self.cmap_box = QComboBox()
        self.cmap_box.addItems(list(COLORMAPS))
        self.cmap_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.cmap_box.setMinimumContentsLength(9)
        self.cmap_box.setToolTip(self.tr("Colour map of the cells. The diverging map keeps 0 "
                                         "white, for weights and gradients."))
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Tensor:")))
        top.addWidget(self.chooser)
        top.addWidget(self.what_box)
        for box in self.lead_boxes:
            top.addWidget(box)
        top.addWidget(self.depth_slider)
        top.addStretch(1)
        top.addWidget(self.cmap_box)

        self.mode_buttons = QButtonGroup(self)
        modes = QHBoxLayout()
        for i, (mode, text, tip) in enumerate((
                ("table", self.tr("Table"), self.tr("One slice as a table of numbers.")),
                ("tensor", self.tr("print(tensor)"),
                 self.tr("The whole tensor exactly as print() shows it in PyTorch.")),
                ("model", self.tr("print(model)"),
                 self.tr("The stack exactly as print(model) shows an nn.Sequential.")))):
            button = QPushButton(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setObjectName(f"mode_{mode}")
            self.mode_buttons.addButton(button, i)
            modes.addWidget(button)
        self.mode_buttons.button(0).setChecked(True)
        modes.addStretch(1)
        # one Copy button with a menu: three buttons made the row wider than the window's
        # middle at its default size
        self.copy_button = QToolButton()
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.copy_button.setToolTip(self.tr("Copy the text print() shows, or the slice in the "
                                            "table as CSV or as a NumPy literal."))
        menu = QMenu(self.copy_button)
        self.copy_text = menu.addAction(self.tr("Copy text (what print() shows)"))
        self.copy_csv = menu.addAction(self.tr("Copy the slice as CSV"))
        self.copy_numpy = menu.addAction(self.tr("Copy the slice as a NumPy literal"))
        self.copy_button.setMenu(menu)
        modes.addWidget(self.copy_button)
        self.edit_button = QPushButton(self.tr("Edit weights"))
        self.edit_button.setObjectName("editWeights")
        self.edit_button.setCheckable(True)
        self.edit_button.setToolTip(self.tr(
            "Type numbers into this weight: double-click a cell (or select it and type), then "
            "press Enter. The layer's weights become edited numbers, kept in the config; Undo "
            "takes an edit back."))
        modes.insertWidget(3, self.edit_button)

        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.table = ValuesTable()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.text)
        self.compute = ComputeView()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.compute)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self.readout = QLabel(self.tr("Hover a cell for its value; click one to see how it is "
                                      "computed."))
        self.readout.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(modes)
        layout.addWidget(self.caption)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.readout)

        self.chooser.keyChanged.connect(self._on_source_changed)
        self.what_box.currentIndexChanged.connect(self._on_what_changed)
        for box in self.lead_boxes:
            box.valueChanged.connect(self._on_lead_changed)
        self.depth_slider.changed.connect(
            lambda: self.lead_boxes[2].setValue(self.depth_slider.value))
        self.cmap_box.currentTextChanged.connect(self._on_cmap_changed)
        self.mode_buttons.idClicked.connect(lambda _i: self.refresh())
        self.table.cellPicked.connect(self._on_cell_picked)
        self.table.cellHovered.connect(self._on_cell_hovered)
        self.table.cellTyped.connect(self._on_cell_typed)
        self.edit_button.toggled.connect(lambda _on: self.refresh())
        self.copy_text.triggered.connect(self._on_copy_text)
        self.copy_csv.triggered.connect(lambda: self._copy(as_csv(self.slice())))
        self.copy_numpy.triggered.connect(lambda: self._copy(as_numpy_literal(self.slice())))
        self.compute.unitPicked.connect(self._pick)

    # -- state -------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return MODES[max(self.mode_buttons.checkedId(), 0)]

    def set_mode(self, mode: str) -> None:
        self.mode_buttons.button(MODES.index(mode)).setChecked(True)
        self.refresh()

    @property
    def layer(self) -> int | None:
        key = self.chooser.key()
        return None if key is None or key < 0 else key

    @property
    def what(self) -> str:
        return self.what_box.currentData() or "output"

    def slice(self) -> np.ndarray:
        """The 2-D slice the table shows."""
        if self.ref is None:
            return np.zeros((0, 0), np.float32)
        a = self.ref.array
        if a.ndim == 0:
            return a.reshape(1, 1)
        if a.ndim == 1:
            return a[None]
        return a[tuple(self.lead)] if a.ndim > 2 else a

    def set_unit(self, unit: Unit | None) -> None:
        """The unit picked anywhere: show its layer's output and select its cell."""
        self.unit = unit
        if self._in_shown_slice(unit):  # a click in the table, a step: no new slice
            if self.mode == "table":
                self.table.select_cell(*self._cell_of(unit.index))
            self.compute.show_unit(self.result, self.report, unit)
            return
        if unit is not None and self.result is not None:
            key = -1 if unit.layer is None else unit.layer
            if self.what not in ("output", "grad_output", "indices") or self.layer != unit.layer:
                self.chooser.blockSignals(True)
                self.chooser.select_key(key)
                self.chooser.blockSignals(False)
                self._fill_whats(keep="output")
            array = self._array_or_none()
            if array is not None and array.ndim > 2 and len(unit.index) == array.ndim:
                self.lead = tuple(unit.index[:array.ndim - 2])
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------
    def _array_or_none(self) -> np.ndarray | None:
        try:
            return tensor_ref(self.result, self.layer, self.what).array
        except PrintError:
            return None

    def _fill_whats(self, keep: str | None = None) -> None:
        keep = keep or self.what
        whats = available(self.result, self.layer) if self.result is not None else []
        self.what_box.blockSignals(True)
        self.what_box.clear()
        for w in whats:
            self.what_box.addItem(WHAT_TEXT[w], w)
        at = self.what_box.findData(keep)
        self.what_box.setCurrentIndex(at if at >= 0 else 0)
        self.what_box.blockSignals(False)

    def _redraw(self) -> None:
        result = self.result
        if result is None:
            self.chooser.set_items([])
            self.what_box.clear()
            self.ref = None
            self.table.set_slice(np.zeros((0, 0), np.float32), str, (0.0, 1.0),
                                 lut(self.cmap_box.currentText()))
            self.text.setPlainText(self._model_text() if self.mode == "model" else "")
            self.caption.setText(self.tr("No run yet."))
            self.compute.clear()
            return
        items = [(-1, f"input  {fmt_shape(result.input.shape)}")] + [
            (lr.index, f"{lr.label}  {fmt_shape(lr.output_shape)}") for lr in result.layers]
        self.chooser.set_items(items)
        self._follow_selection(self.chooser)
        self._fill_whats()
        try:
            self.ref = tensor_ref(result, self.layer, self.what)
        except PrintError as exc:
            self.ref = None
            self.caption.setText(str(exc))
            return
        self._fit_lead()
        if self._cmap_auto:
            self.cmap_box.blockSignals(True)
            self.cmap_box.setCurrentText(DIVERGING if self.ref.signed else "viridis")
            self.cmap_box.blockSignals(False)
        mode = self.mode
        weight = self.ref.what in EDITABLE and self.layer is not None
        self.edit_button.setVisible(weight and mode == "table")
        self.table.set_editable(weight and mode == "table" and self.edit_button.isChecked())
        self.stack.setCurrentWidget(self.table if mode == "table" else self.text)
        self.copy_csv.setEnabled(mode == "table")
        self.copy_numpy.setEnabled(mode == "table")
        if mode == "table":
            self._draw_table()
        elif mode == "tensor":
            self.text.setPlainText(self.ref.text(result.tensor_device))
        else:
            self.text.setPlainText(self._model_text())
        self.caption.setText(self._caption())
        self.compute.show_unit(result, self.report, self._computed_unit())

    def _computed_unit(self) -> Unit | None:
        """The unit whose computation is shown: the picked one, or while none is picked in
        this layer, its output's first value (so a small layer explains itself at once)."""
        if self.unit is not None and (self.unit.layer == self.layer or self.layer is None):
            return self.unit
        if self.layer is None:
            return self.unit
        shape = self.result.layers[self.layer].output_shape
        if len(shape) < 2 or 0 in shape:
            return None
        first = Unit.at(self.layer, (0,) * len(shape))
        if self.mode == "table" and self.what in ("output", "grad_output", "indices"):
            cell = self._cell_of(first.index)
            if cell is not None:
                self.table.select_cell(*cell)
        return first

    def word(self, text: str, index: int = 0) -> str:
        """A word of ``lead_words`` / ``axis_words``, translated ("dim {index}" filled in)."""
        return self.tr(text).format(index=index) if text else ""

    def _fit_lead(self) -> None:
        a = self.ref.array
        lead = max(a.ndim - 2, 0)
        layer_type = result_type(self.result, self.layer)
        words = lead_words(self.ref, layer_type, a.ndim)
        self.lead = tuple(min(v, n - 1) for v, n in zip(self.lead[:lead] + (0,) * lead,
                                                         a.shape[:lead]))
        for j, box in enumerate(self.lead_boxes):
            box.blockSignals(True)
            box.setVisible(j < min(lead, 2))  # a third index: the depth slider below
            if j < lead:
                box.setPrefix(f"{self.word(words[j], j)} ")
                box.setMaximum(a.shape[j] - 1)
                box.setValue(self.lead[j])
                box.setToolTip(self.tr("Index {index} of the tensor: which slice the table "
                                       "shows.").format(index=j))
            box.blockSignals(False)
        self.depth_slider.fit(a.shape[2] if lead == 3 else None)
        if lead == 3:
            self.depth_slider.title.setText(self.word(words[2], 2))
            self.depth_slider.set_value(self.lead[2])

    def _draw_table(self) -> None:
        a = self.ref.array
        full = a.astype(np.float64) if a.dtype.kind != "f" else a
        finite = full[np.isfinite(full)] if full.size else full
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
        else:
            lo, hi = 0.0, 1.0
        if self.cmap_box.currentText() == DIVERGING:
            m = max(abs(lo), abs(hi)) or 1.0
            lo, hi = -m, m
        self.table.set_slice(self.slice(), element_formatter(a), (lo, hi),
                             lut(self.cmap_box.currentText()))
        unit = self.unit
        if unit is not None and self._shows_unit_layer():
            cell = self._cell_of(unit.index)
            if cell is not None:
                self.table.select_cell(*cell)

    def _model_text(self) -> str:
        report = self.report
        if report is None or not report.layers:
            return self.tr("The stack is empty: print(model) shows Sequential().") \
                if report is not None else ""
        if not report.ok:
            return self.tr("print(model) needs a stack without problems; fix the layer marked "
                           "in the stack first.")
        return model_str_from_report(report)

    def _caption(self) -> str:
        ref, a = self.ref, self.ref.array
        rows, cols = (self.word(w) for w in axis_words(ref, a.ndim))
        where = ref.expression
        if self.mode == "model":
            return self.tr("print(model): the stack as an nn.Sequential, as PyTorch prints it.")
        if self.mode == "tensor":
            return self.tr("print({expression}): {size}").format(expression=where,
                                                               size=fmt_shape(a.shape))
        index = ", ".join(str(i) for i in self.lead)
        part = f"[{index}]" if index else ""
        text = self.tr("{expression}{part}: rows are {rows}, columns are {columns}; the whole "
                       "tensor is {size}.").format(expression=where, part=part, rows=rows or "-",
                                                  columns=cols, size=fmt_shape(a.shape))
        if self.ref.is_none:
            return self.tr("{expression} is None: the objective does not depend on this layer "
                           "(it comes after the objective's layer), so backward leaves no "
                           "gradient here. The table shows zeros.").format(expression=where)
        if self.table.slice_model.editable:
            text += " " + self.tr("Editing: double-click a cell (or select it and type a "
                                  "number), then press Enter; Ctrl+Z undoes an edit.")
        norm = self._grad_norm()
        if norm is not None:
            text += " " + self.tr("{expression}.norm() = {norm}").format(
                expression=where, norm=scalar_str(norm))
        return text

    def _grad_norm(self) -> float | None:
        if self.layer is None or self.ref.what not in ("grad_weight", "grad_bias"):
            return None
        return self.result.layers[self.layer].grad_norms.get(self.ref.what[5:])

    def _in_shown_slice(self, unit: Unit | None) -> bool:
        """Whether the table already shows ``unit``'s layer, tensor and slice, up to date."""
        return (unit is not None and self.result is not None and not self._stale
                and self.isVisible() and self._shows_unit_layer()
                and self._cell_of(unit.index) is not None)

    # -- units -------------------------------------------------------------------------------
    def _shows_unit_layer(self) -> bool:
        return (self.ref is not None and self.ref.what in ("output", "grad_output", "indices")
                and self.unit is not None and self.unit.layer == self.layer)

    def _cell_of(self, index: tuple[int, ...]) -> tuple[int, int] | None:
        a = self.ref.array
        if len(index) != a.ndim or a.ndim < 2:
            return None
        if a.ndim > 2 and tuple(index[:-2]) != tuple(self.lead):
            return None
        return index[-2], index[-1]

    def _index_of(self, row: int, column: int) -> tuple[int, ...]:
        a = self.ref.array
        if a.ndim <= 1:
            return (column,)
        return (*self.lead, row, column)

    def _on_cell_picked(self, row: int, column: int) -> None:
        if self.ref is None or self.ref.what not in ("output", "grad_output", "indices") or \
                self.ref.array.ndim < 2:
            return
        self._pick(Unit.at(self.layer, self._index_of(row, column)))

    def show_weights(self, layer: int, lead: tuple[int, ...] = (), edit: bool = True) -> None:
        """Show layer ``layer``'s weight, the slice ``lead`` (out, in), ready to be edited."""
        if self.result is None or not 0 <= layer < len(self.result.layers):
            return
        self.chooser.blockSignals(True)
        self.chooser.select_key(layer)
        self.chooser.blockSignals(False)
        self._fill_whats(keep="weight")
        self.lead = tuple(lead)
        self.set_mode("table")
        self.edit_button.blockSignals(True)
        self.edit_button.setChecked(edit)
        self.edit_button.blockSignals(False)
        self.refresh()

    def _on_cell_typed(self, row: int, column: int, text: str) -> None:
        if self.ref is None or self.ref.what not in EDITABLE or self.layer is None:
            return
        try:
            value = float(text.strip())
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or abs(value) > MAX_TYPED:
            self.readout.setText(self.tr(
                "{text!r} is not a weight; type a finite number from -1e6 to 1e6, such as 0.5 "
                "or -1e-3.").format(text=text[:40]))
            return
        index = self._index_of(row, column)
        self.readout.setText(self.tr("{expression}[{index}] = {value}").format(
            expression=self.ref.expression, index=", ".join(str(i) for i in index),
            value=value))
        self.weightEdited.emit(self.layer, self.ref.what, tuple(index), value)

    def _pick(self, unit: Unit) -> None:
        self.unit = unit
        self.unitPicked.emit(unit)

    def _on_cell_hovered(self, row: int, column: int) -> None:
        if self.ref is None:
            return
        index = self._index_of(row, column)
        value = self.table.slice_model.values[row, column]
        name = ", ".join(str(i) for i in index)
        self.readout.setText(self.tr("{expression}[{index}] = {value}").format(
            expression=self.ref.expression, index=name, value=str(value)))

    # -- controls ----------------------------------------------------------------------------
    def _on_source_changed(self, _key) -> None:
        self.refresh()

    def _on_what_changed(self, _index: int) -> None:
        self._cmap_auto = True
        self.refresh()

    def _on_lead_changed(self, _value: int) -> None:
        self.lead = tuple(box.value() for box in self.lead_boxes[:len(self.lead)])
        self.refresh()

    def _on_cmap_changed(self, _text: str) -> None:
        self._cmap_auto = False
        self.refresh()

    def _on_copy_text(self) -> None:
        if self.mode == "table" and self.ref is not None and self.result is not None:
            self._copy(self.ref.text(self.result.tensor_device))
        else:
            self._copy(self.text.toPlainText())

    @staticmethod
    def _copy(text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    def export_image(self, path) -> bool:
        self.ensure_fresh()
        return self.grab().save(str(path), "PNG")


def result_type(result, layer: int | None) -> str | None:
    if result is None or layer is None:
        return None
    return result.layers[layer].type
