"""A live summary like torchinfo's: per layer the output shape, parameters, multiply-accumulates,
receptive field and run time, with the output-size formula (the user's numbers put in) as a
tooltip and totals at the bottom. Filled from ``model.shapes`` on every edit; run times come
from the last run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..model.shapes import ShapeReport, fmt_shape

COLUMNS = ("Layer", "Output shape", "Params", "Mult-adds", "Receptive field", "Time (ms)")
ERROR = QColor("#c62828")


def fmt_count(n: int) -> str:
    return f"{n:,}"


def fmt_macs(n: int) -> str:
    """Mult-adds with a unit, as torchinfo prints them (e.g. 1.23 M)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


class ShapesTable(QTableWidget):
    """Rows: the input, one per layer, then the totals."""

    layerClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("shapesTable")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(max(self.font().pointSizeF() - 1, 6))
        self._mono = mono
        self._filling = False
        self._shown: dict[tuple[int, int], tuple] = {}  # (row, column) -> what the cell shows
        self.itemSelectionChanged.connect(self._on_selection)

    @staticmethod
    def _joined(report, source) -> str:
        if source is None:
            return f"input {fmt_shape(report.input_shape)}"
        info = report.layers[source]
        return f"{info.label} {fmt_shape(info.output_shape)}"

    def set_report(self, report: ShapeReport | None, result=None,
                   selection: int | None = None) -> None:
        """Fill from ``report``; run times from ``result`` (a RunResult) where its layers are
        the same as the report's."""
        self._filling = True
        try:
            self._fill(report, result)
            self.select_layer(selection)
        finally:
            self._filling = False

    def _fill(self, report: ShapeReport | None, result) -> None:
        if report is None:
            self.setRowCount(0)
            self._shown.clear()
            return
        times = {}
        if result is not None:
            specs = result.config.layers
            for lr in result.layers:
                i = lr.index
                if i < len(report.layers) and i < len(specs) and specs[i] == report.layers[i].spec \
                        and tuple(lr.output_shape) == report.layers[i].output_shape:
                    times[i] = lr.time_ms
        rows = [("input", fmt_shape(report.input_shape) if not report.input_problems else "?",
                 "", "", "", "", "\n".join(p.short for p in report.input_problems),
                 bool(report.input_problems))]
        for info in report.layers:
            tip_lines = [f"{info.label}"]
            if info.input_shape is not None:
                tip_lines.append(f"input  {fmt_shape(info.input_shape)}")
            merge = info.spec.layer_type is not None and info.spec.layer_type.is_merge
            if info.sources:  # a merge: what it joins, then its shape rule
                joined = [self._joined(report, s) for s in info.sources]
                tip_lines.append(self.tr("joins the previous output with {sources}").format(
                    sources=", ".join(joined)))
            if info.formula and merge:
                tip_lines += [f"  {line}" for line in info.formula]
            elif info.formula:
                names = ("L",) if len(info.formula) == 1 else ("H", "W", "D")
                tip_lines.append("output size:")
                tip_lines += [f"  {n}: {line}" for n, line in zip(names, info.formula)]
            tip_lines += [f"\u26a0 {p.short}" for p in info.problems]
            tip_lines += [f"\u26a0 {n.short}" for n in info.notes]
            rows.append((
                info.label,
                fmt_shape(info.output_shape),
                fmt_count(info.params) if info.output_shape is not None else "",
                fmt_macs(info.macs) if info.output_shape is not None else "",
                str(info.receptive_field) if info.receptive_field else "",
                f"{times[info.index]:.2f}" if info.index in times else "",
                "\n".join(tip_lines),
                bool(info.problems),
            ))
        total_time = sum(times.values())
        rows.append(("total", fmt_shape(report.output_shape) if report.ok else "",
                     fmt_count(report.total_params), fmt_macs(report.total_macs), "",
                     f"{total_time:.2f}" if times else "",
                     f"{report.total_macs:,} multiply-accumulates in all", False))
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
        bold = QFont(self.font())
        bold.setBold(True)
        changed = []
        model = self.model()
        # Each change of a cell tells the view, and with columns sized to their contents the
        # view re-measures the column every time (~0.3 ms a cell): change only the cells that
        # differ, with the model quiet, then tell the view once.
        model.blockSignals(True)
        try:
            for r, (*cells, tip, bad) in enumerate(rows):
                last = r == len(rows) - 1
                for c, text in enumerate(cells):
                    key = (text, tip, bad, last)
                    item = self.item(r, c)
                    if item is not None and self._shown.get((r, c)) == key:
                        continue
                    self._shown[(r, c)] = key
                    changed.append((r, c))
                    if item is None:
                        item = QTableWidgetItem()
                        if c in (2, 3, 5):
                            item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                                  | Qt.AlignmentFlag.AlignVCenter)
                        self.setItem(r, c, item)
                    item.setText(text)
                    item.setToolTip(tip)
                    if c == 1:
                        item.setFont(self._mono)
                    else:
                        item.setFont(bold if last else self.font())
                    item.setForeground(QBrush(ERROR) if bad else QBrush())
        finally:
            model.blockSignals(False)
        if changed:
            rows_changed = [r for r, _c in changed]
            cols_changed = [c for _r, c in changed]
            model.dataChanged.emit(model.index(min(rows_changed), min(cols_changed)),
                                   model.index(max(rows_changed), max(cols_changed)))

    def layer_row(self, index: int) -> int:
        """The table row of layer ``index`` (row 0 is the input)."""
        return index + 1

    def select_layer(self, index: int | None) -> None:
        was = self._filling
        self._filling = True
        try:
            if index is None or self.layer_row(index) >= self.rowCount() - 1:
                self.clearSelection()
            else:
                self.selectRow(self.layer_row(index))
        finally:
            self._filling = was

    def _on_selection(self) -> None:
        if self._filling:
            return
        rows = {i.row() for i in self.selectedIndexes()}
        if len(rows) == 1:
            row = rows.pop()
            if 1 <= row < self.rowCount() - 1:
                self.layerClicked.emit(row - 1)

    def cell_text(self, row: int, column: str) -> str:
        item = self.item(row, COLUMNS.index(column))
        return item.text() if item else ""
