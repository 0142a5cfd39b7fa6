"""Gradients: the objective backward starts from, every parameter's gradient in one table (what
``net.conv1.weight.grad.size()`` and ``.norm()`` print), and gradient maps of the input and
of each layer's output on the same grid as the activations."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.results import RunResult
from ...model.objectives import check_objective
from ...model.shapes import fmt_shape
from ...model.spec import Objective, shown_name
from .activations import grid_slide, unit_objective
from .base import DIVERGING, LayerChooser, Panel, SourceBar, UnitBoxes, arrays, depth_of
from .channel_grid import ChannelGrid
from .data import batch_count, batch_item

KINDS = [("sum", "sum of the output"), ("mean", "mean of the output"),
         ("channel", "sum of one channel"), ("unit", "one unit"),
         ("cross_entropy", "cross_entropy loss"), ("mse", "mse loss"),
         ("gradient", "backward(g), g = randn")]
KIND_TIPS = {
    "cross_entropy": "F.cross_entropy(output, target): the output as logits (N, classes) and a "
                     "target class per batch item (one class: the same for every item).",
    "mse": "F.mse_loss(output, target) against zeros, or against torch.randn of the output's "
           "shape after torch.manual_seed(seed).",
    "gradient": "output.backward(g) with g = torch.randn of the output's shape after "
                "torch.manual_seed(seed): the other idiom tutorials use. Its value is "
                "(output * g).sum(), which has the same gradients.",
}
COLUMNS = ["layer", "parameter", ".grad.size()", ".grad.norm()", ".grad.min()", ".grad.max()"]


class ObjectiveBox(QGroupBox):
    """Choose what backward differentiates; "Run backward" emits the Objective."""

    def __init__(self, parent=None):
        super().__init__("Objective: the scalar that backward() starts from", parent)
        self.kind_box = QComboBox()
        for kind, text in KINDS:
            self.kind_box.addItem(text, kind)
        self.layer_box = LayerChooser()
        self.units = UnitBoxes()
        self.batch_box, self.channel_box = self.units.batch_box, self.units.channel_box
        self.position_boxes = self.units.position_boxes
        self.apply_button = QPushButton("Run backward")
        self.current = QLabel()
        self.current.setWordWrap(True)
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText(self.tr("target classes, e.g. 3, 7"))
        self.target_edit.setToolTip(self.tr("One target class per batch item, separated by "
                                            "commas (one class: the same for every item)."))
        self.mse_box = QComboBox()
        self.mse_box.addItem(self.tr("against zeros"), "zeros")
        self.mse_box.addItem(self.tr("against randn"), "randn")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setPrefix(self.tr("seed "))
        self.seed_box.setToolTip(self.tr("torch.manual_seed for the random target or g."))
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c00;")
        self.problem.setVisible(False)
        # the unit's boxes on a row of their own: beside the others they squeezed the layer's
        # name down to "conv1 (Co"
        row = QHBoxLayout()
        row.addWidget(self.kind_box)
        row.addWidget(QLabel(self.tr("of")))
        row.addWidget(self.layer_box)
        row.addWidget(self.apply_button)
        row.addStretch(1)
        unit_row = QHBoxLayout()
        unit_row.addWidget(self.units)
        for w in (self.target_edit, self.mse_box, self.seed_box):
            unit_row.addWidget(w)
        unit_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(unit_row)
        layout.addWidget(self.problem)
        layout.addWidget(self.current)
        self._shapes: dict[int, tuple[int, ...]] = {}
        self.kind_box.currentIndexChanged.connect(self._update_fields)
        self.layer_box.keyChanged.connect(self._update_fields)
        self.mse_box.currentIndexChanged.connect(self._update_fields)

    def set_result(self, result: RunResult) -> None:
        self._shapes = {lr.index: lr.output_shape for lr in result.layers}
        items = [(-1, "last layer")] + [(lr.index, lr.label) for lr in result.layers]
        self.layer_box.set_items(items)
        self.show_objective(result.objective)
        self.current.setText(f"Now: <b>{escape(result.objective_label)}</b> = "
                             f"{result.objective_value:.6g}. Every .grad below is the gradient "
                             "of this one number.")

    def show_objective(self, objective: Objective) -> None:
        self.kind_box.setCurrentIndex([k for k, _t in KINDS].index(objective.kind))
        self.layer_box.select_key(objective.layer)
        if objective.kind == "cross_entropy" and isinstance(objective.target, tuple):
            self.target_edit.setText(", ".join(str(c) for c in objective.target))
        if objective.kind == "mse":
            self.mse_box.setCurrentIndex(max(self.mse_box.findData(objective.target), 0))
        if objective.kind in ("mse", "gradient"):
            self.seed_box.setValue(objective.seed)
        self._update_fields()
        self.units.set_unit(objective.batch, objective.channel, objective.position)

    def show_problem(self, problem) -> None:
        """A problem of the objective (a class out of range...), under its fields; None
        hides it."""
        self.problem.setText(str(problem) if problem is not None else "")
        self.problem.setVisible(problem is not None)
        field = problem.field if problem is not None else None
        self.target_edit.setStyleSheet("border: 1px solid #c00;" if field == "target" else "")

    def _shape(self) -> tuple[int, ...]:
        key = self.layer_box.key()
        if not self._shapes:
            return ()
        return self._shapes[max(self._shapes) if key in (-1, None) else key]

    def _update_fields(self, *_):
        kind = self.kind_box.currentData()
        one = kind in ("channel", "unit")
        self.units.fit(self._shape(), batch=one, channel=one, position=kind == "unit")
        self.units.setVisible(one)
        self.target_edit.setVisible(kind == "cross_entropy")
        self.mse_box.setVisible(kind == "mse")
        self.seed_box.setVisible(kind == "gradient" or (
            kind == "mse" and self.mse_box.currentData() == "randn"))
        self.kind_box.setToolTip(KIND_TIPS.get(kind, ""))

    def objective(self) -> Objective:
        kind = self.kind_box.currentData()
        layer = self.layer_box.key()
        layer = -1 if layer is None else layer
        if kind in ("sum", "mean"):
            return Objective(kind=kind, layer=layer)
        if kind == "cross_entropy":
            return Objective(kind=kind, layer=layer, target=parse_classes(self.target_edit.text()))
        if kind == "mse":
            target = self.mse_box.currentData()
            return Objective(kind=kind, layer=layer, target=target,
                             seed=self.seed_box.value() if target == "randn" else 0)
        if kind == "gradient":
            return Objective(kind=kind, layer=layer, seed=self.seed_box.value())
        return Objective(kind=kind, layer=layer, batch=self.units.batch,
                         channel=self.units.channel, position=self.units.position)


def parse_classes(text: str) -> tuple[int, ...]:
    """"3, 7" -> (3, 7); anything that is not a whole number makes it empty (the objective's
    check then says what to give)."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return ()


class ParamGradTable(QTableWidget):
    """One row per parameter of every layer: its gradient's size, L2 norm, min and max."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def set_result(self, result: RunResult | None) -> None:
        rows = [] if result is None else [(lr, p) for lr in result.layers for p in lr.grads]
        self.setRowCount(len(rows))
        for r, (lr, pname) in enumerate(rows):
            g = lr.grads[pname]
            norm = lr.grad_norms[pname]
            lo, hi = (float(g.min()), float(g.max())) if g.size else (0.0, 0.0)
            full = f"{shown_name(lr.name)}.{pname}"
            cells = [(lr.label, None), (full, None), (fmt_shape(g.shape), None),
                     (f"{norm:.6g}", norm), (f"{lo:.6g}", lo), (f"{hi:.6g}", hi)]
            tip = (f"{full}.grad.size() \u2192 {fmt_shape(g.shape)}\n"
                   f"{full}.grad.norm() \u2192 tensor({norm:.4f})\n"
                   f"{full} itself: {fmt_shape(lr.params[pname].shape)}")
            for c, (text, value) in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if value is not None:
                    item.setData(Qt.ItemDataRole.UserRole, value)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)

    def row_values(self, row: int) -> dict[str, object]:
        """A row as {column: value} (numbers exact, not the rounded text)."""
        out = {}
        for c, name in enumerate(COLUMNS):
            item = self.item(row, c)
            value = item.data(Qt.ItemDataRole.UserRole)
            out[name] = item.text() if value is None else value
        return out


class GradientPanel(Panel):
    title = "Gradients"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.objective_box = ObjectiveBox()
        self.table = ParamGradTable()
        self.source = SourceBar(label="Gradient of:")
        self.grid = ChannelGrid(cmap=DIVERGING)
        self.empty = QLabel("No gradients yet: run the stack.")
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.source)
        lower_layout.addWidget(self.grid, 1)
        self.skip_note = QLabel()  # the output shown feeds a skip connection too
        self.skip_note.setWordWrap(True)
        self.skip_note.setVisible(False)
        lower_layout.addWidget(self.skip_note)
        note = QLabel("A layer's input.grad is the previous layer's output.grad (the first "
                      "layer's is input.grad). Double-click a unit to back-propagate from it.")
        note.setWordWrap(True)
        lower_layout.addWidget(note)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(lower)
        splitter.setSizes([200, 500])
        layout = QVBoxLayout(self)
        layout.addWidget(self.objective_box)
        layout.addWidget(self.empty)
        layout.addWidget(splitter, 1)
        self.objective_box.apply_button.clicked.connect(self._on_apply_clicked)
        self.source.changed.connect(self.refresh)
        self.grid.unitDoubleClicked.connect(self._on_grid_unit_double_clicked)

    def set_result(self, result, report) -> None:
        # The objective box is an editor and never lags behind the run; the table, like the
        # grid, is filled when the tab is shown (in _redraw).
        if result is not None:
            self.objective_box.set_result(result)
        super().set_result(result, report)

    def _redraw(self) -> None:
        self.table.set_result(self.result)
        items = [] if self.result is None else arrays(self.result, grads=True)
        self.empty.setVisible(not items)
        self.source.chooser.set_items([(k, text) for k, text, _n, _a in items])
        self._follow_selection(self.source.chooser)
        current = [(n, a) for k, _t, n, a in items if k == self.source.key]
        if not current:
            self.grid.set_data(None)
            return
        name, array = current[0]
        self._show_skip_note(self.source.key)
        self.source.set_batches(batch_count(array))
        self.source.depth_slider.fit(depth_of(array))
        batch, depth = self.source.batch, self.source.depth
        words = ("batch", "feature") if array.ndim == 2 else ("batch", "channel")
        self.grid.set_data(batch_item(array, batch, depth), name,
                           (batch,) if array.ndim >= 2 else (), words, depth=depth)

    def _show_skip_note(self, key: int) -> None:
        """An output that a merge joins too (a skip connection) gets gradient along two
        paths, and its .grad is their sum: say so where it is shown."""
        source = None if key == -1 else key
        users = [lr.label for lr in self.result.layers if source in lr.sources]
        if users:
            name = "input" if source is None else f"{self.result.layers[source].label} output"
            self.skip_note.setText(self.tr(
                "{name} goes on to the next layer and to {merges} (a skip connection): its "
                ".grad is the sum of the gradients coming back along both paths.").format(
                    name=name, merges=", ".join(users)))
        self.skip_note.setVisible(bool(users))

    def _on_apply_clicked(self) -> None:
        objective = self.objective_box.objective()
        problems = check_objective(objective, self.report) if self.report is not None else []
        self.objective_box.show_problem(problems[0] if problems else None)
        if not problems:
            self.objectiveRequested.emit(objective)

    def _on_grid_unit_double_clicked(self, channel: int, position: tuple) -> None:
        items = arrays(self.result, grads=True)
        array = [a for k, _t, _n, a in items if k == self.source.key][0]
        if self.source.depth is not None:  # a unit of the slice shown: its depth first
            position = (self.source.depth, *position)
        objective = unit_objective(self.source.key, array, self.source.batch, channel,
                                   tuple(position))
        if objective is not None:
            self.objective_box.show_objective(objective)
            self.objectiveRequested.emit(objective)

    def slide(self, width: int):
        self.ensure_fresh()
        items = [] if self.result is None else arrays(self.result, grads=True)
        current = [(n, a) for k, _t, n, a in items if k == self.source.key]
        if not current:
            return None
        name, array = current[0]
        return grid_slide(self, self.grid, name, array.shape, width)

    def export_image(self, path) -> bool:
        self.ensure_fresh()
        return self.grid.export_image(path)

