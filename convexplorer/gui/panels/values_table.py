"""A 2-D slice of a tensor as a table of numbers: each cell prints its value the way torch
prints that tensor, tinted by a colour map, with the tensor's indices as headers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


class SliceModel(QAbstractTableModel):
    """The table's data: a 2-D numpy slice, the tensor's element format and a colour table.
    While ``editable`` (a weight being edited), a typed value is reported by ``valueTyped``
    (row, column, text); the model itself never changes the numbers: the new run does."""

    valueTyped = Signal(int, int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.editable = False
        self.values = np.zeros((0, 0), np.float32)
        self.fmt: Callable[[float], str] = str
        self._shade = np.zeros((0, 0), np.uint8)
        self._colours: list[QColor] = []
        self._ink: list[QColor] = []

    def set_slice(self, values: np.ndarray, fmt: Callable[[float], str], levels, lut) -> None:
        """Show ``values`` (2-D), each cell as ``fmt`` writes it, tinted by ``lut`` (256 x 4)
        over ``levels`` (lo, hi)."""
        self.beginResetModel()
        self.values = values
        self.fmt = fmt
        lo, hi = levels
        span = (hi - lo) or 1.0
        with np.errstate(invalid="ignore"):
            t = (np.asarray(values, dtype=np.float64) - lo) / span
        t = np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0)
        self._shade = np.clip(t * 255, 0, 255).astype(np.uint8)
        if not self._colours or self._lut_id != id(lut):
            self._lut_id = id(lut)
            self._colours = [QColor(int(r), int(g), int(b)) for r, g, b, _a in lut]
            # dark text on light cells, light text on dark ones (relative luminance)
            self._ink = [QColor(Qt.GlobalColor.black) if 0.299 * r + 0.587 * g + 0.114 * b > 140
                         else QColor(Qt.GlobalColor.white) for r, g, b, _a in lut]
        self.endResetModel()

    def rowCount(self, parent=None) -> int:  # noqa: N802 - Qt override
        return 0 if parent is not None and parent.isValid() else self.values.shape[0]

    def columnCount(self, parent=None) -> int:  # noqa: N802 - Qt override
        return 0 if parent is not None and parent.isValid() else self.values.shape[1]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.fmt(self.values[r, c].item())
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._colours[self._shade[r, c]]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._ink[self._shade[r, c]]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(self.values[r, c])  # the digits that give back the float32
        if role == Qt.ItemDataRole.EditRole:
            return str(self.values[r, c])
        return None

    def flags(self, index: QModelIndex):
        flags = super().flags(index)
        if self.editable and index.isValid():
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not (self.editable and index.isValid() and role == Qt.ItemDataRole.EditRole):
            return False
        self.valueTyped.emit(index.row(), index.column(), str(value))
        return True

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section)
        return None

    def widest_text(self) -> str:
        """The longest cell text. torch gives every value of a tensor the same number of
        decimals (or the same exponent form), so the widest is the largest or the smallest
        value, or a non-finite one."""
        flat = self.values.reshape(-1)
        if flat.size == 0:
            return ""
        picks = [flat.min(), flat.max()]
        if flat.dtype.kind == "f":
            finite = np.isfinite(flat)
            if not finite.all():
                picks += [v for v in (np.nan, np.inf, -np.inf) if (flat == v).any() or
                          (v != v and np.isnan(flat).any())]
            if finite.any():
                picks += [flat[finite].min(), flat[finite].max()]
        return max((self.fmt(v) for v in np.array(picks, dtype=flat.dtype).tolist()), key=len)


class ValuesTable(QTableView):
    """The table view: fixed-size cells (fast for a 1024 x 1024 slice), one cell selected at a
    time; ``cellPicked(row, column)`` when the user selects a cell, ``cellHovered`` on hover."""

    cellPicked = Signal(int, int)
    cellHovered = Signal(int, int)
    cellTyped = Signal(int, int, str)  # a value typed into an editable cell (row, column, text)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slice_model = SliceModel(self)
        self.setModel(self.slice_model)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setWordWrap(False)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setHighlightSections(True)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.selectionModel().currentChanged.connect(self._on_current_changed)
        # queued: the edit re-runs the stack and redraws the table, which must wait until the
        # view has closed its editor (a model reset under an open editor orphans it)
        self.slice_model.valueTyped.connect(self.cellTyped, Qt.ConnectionType.QueuedConnection)
        self.entered.connect(lambda index: self.cellHovered.emit(index.row(), index.column()))
        self._quiet = False

    def set_slice(self, values: np.ndarray, fmt, levels, lut) -> None:
        self._quiet = True
        self.slice_model.set_slice(values, fmt, levels, lut)
        width = self.fontMetrics().horizontalAdvance(self.slice_model.widest_text() or "0") + 14
        self.horizontalHeader().setDefaultSectionSize(max(width, 36))
        self._quiet = False

    def set_editable(self, editable: bool) -> None:
        """Let the user type into the cells (a weight being edited): double-click, F2 or just
        typing starts an edit, Enter commits it."""
        self.slice_model.editable = editable
        triggers = QAbstractItemView.EditTrigger
        self.setEditTriggers(triggers.DoubleClicked | triggers.EditKeyPressed
                             | triggers.AnyKeyPressed if editable else triggers.NoEditTriggers)

    def select_cell(self, row: int, column: int) -> None:
        """Select a cell (without emitting ``cellPicked``) and scroll it into view."""
        model = self.slice_model
        if not (0 <= row < model.rowCount() and 0 <= column < model.columnCount()):
            self.clearSelection()
            return
        self._quiet = True
        index = model.index(row, column)
        self.setCurrentIndex(index)
        self.scrollTo(index)
        self._quiet = False

    def selected_cell(self) -> tuple[int, int] | None:
        index = self.currentIndex()
        return (index.row(), index.column()) if index.isValid() else None

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._quiet:
            self.cellPicked.emit(current.row(), current.column())
