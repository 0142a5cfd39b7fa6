"""A plain results overview, shown while no result panels are installed: the objective and its
value, the input and the selected layer's output as channel grids, and per-layer statistics.

It follows the panel protocol of ``gui.panels`` so the window treats it like any panel.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.images import channel_grid
from ..model.shapes import fmt_shape

STAT_COLUMNS = ("Layer", "Output shape", "mean", "std", "min", "max", "\u2016grad\u2016")


def grid_image(array: np.ndarray) -> QImage:
    """All channels of batch item 0 of ``array`` as a viridis grid (one pixel per value)."""
    rgb = np.ascontiguousarray(channel_grid(array[0] if array.ndim > 1 else array))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageView(QWidget):
    """An image scaled to fit, without smoothing, so each value stays a crisp square."""

    def __init__(self, caption: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel(caption, self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image: QImage | None = None
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None, caption: str) -> None:
        self.image = image
        self.caption.setText(caption)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(260, 260)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.caption.setGeometry(0, 0, self.width(), self.caption.sizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        top = self.caption.sizeHint().height() + 4
        area = QRect(4, top, self.width() - 8, self.height() - top - 4)
        painter.fillRect(area, QColor("#202020"))
        if self.image is None or area.width() < 2 or area.height() < 2:
            return
        w, h = self.image.width(), self.image.height()
        scale = min(area.width() / w, area.height() / h)
        if scale >= 1:
            scale = max(1, int(scale))  # whole pixels per value
        tw, th = max(1, int(w * scale)), max(1, int(h * scale))
        target = QRect(area.left() + (area.width() - tw) // 2,
                       area.top() + (area.height() - th) // 2, tw, th)
        painter.drawImage(target, self.image)


class RunSummary(QWidget):
    """Objective, input, selected output and per-layer statistics of the last run."""

    title = "Summary"
    objectiveRequested = Signal(object)  # part of the panel protocol; this view picks none

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runSummary")
        self.result = None
        self.report = None
        self.selection: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.headline = QLabel("Waiting for the first run\u2026", self)
        self.headline.setObjectName("summaryHeadline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.headline)
        split = QSplitter(Qt.Orientation.Vertical, self)
        images = QWidget(split)
        row = QHBoxLayout(images)
        row.setContentsMargins(0, 0, 0, 0)
        self.input_view = ImageView("input", images)
        self.output_view = ImageView("output", images)
        row.addWidget(self.input_view)
        row.addWidget(self.output_view)
        self.stats = QTableWidget(0, len(STAT_COLUMNS), split)
        self.stats.setHorizontalHeaderLabels(list(STAT_COLUMNS))
        self.stats.verticalHeader().setVisible(False)
        self.stats.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.stats.setAlternatingRowColors(True)
        self.stats.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.stats.horizontalHeader().setStretchLastSection(True)
        self.stats.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        split.addWidget(images)
        split.addWidget(self.stats)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)

    # -- panel protocol ----------------------------------------------------------------------
    def set_result(self, result, report) -> None:
        self.result, self.report = result, report
        if result is None:
            self.headline.setText("No results yet.")
            self.input_view.set_image(None, "input")
            self.output_view.set_image(None, "output")
            self.stats.setRowCount(0)
            return
        last = result.layers[-1].output_shape if result.layers else result.input.shape
        self.headline.setText(
            f"<b>{html.escape(result.objective_label)}</b> = "
            f"<tt>{result.objective_value:.6g}</tt> &nbsp;\u00b7&nbsp; output "
            f"<tt>{fmt_shape(tuple(last))}</tt> &nbsp;\u00b7&nbsp; {html.escape(result.device)}"
            f" &nbsp;\u00b7&nbsp; forward {result.forward_ms:.1f} ms, backward "
            f"{result.backward_ms:.1f} ms")
        c = result.input.shape[1] if result.input.ndim > 1 else 1
        self.input_view.set_image(grid_image(result.input),
                                  f"input, {c} channel{'s' if c != 1 else ''}")
        self._fill_stats()
        self._show_selected()

    def set_selection(self, index: int | None) -> None:
        self.selection = index
        self._show_selected()

    def export_image(self, path) -> bool:
        return self.grab().save(str(path), "PNG")

    # -- drawing -----------------------------------------------------------------------------
    def _show_selected(self) -> None:
        if self.result is None or not self.result.layers:
            return
        layers = self.result.layers
        i = self.selection if self.selection is not None and self.selection < len(layers) else (
            len(layers) - 1)
        lr = layers[i]
        c = lr.output_shape[1] if len(lr.output_shape) > 1 else 1
        self.output_view.set_image(
            grid_image(lr.activation),
            f"{lr.label} output, {c} channel{'s' if c != 1 else ''}")
        if self.stats.rowCount() > i:
            self.stats.selectRow(i)

    def _fill_stats(self) -> None:
        layers = self.result.layers
        self.stats.setRowCount(len(layers))
        for r, lr in enumerate(layers):
            a = lr.activation.astype(np.float64, copy=False)
            g = lr.grad_output
            cells = (lr.label, fmt_shape(tuple(lr.output_shape)), f"{a.mean():.4g}",
                     f"{a.std():.4g}", f"{a.min():.4g}", f"{a.max():.4g}",
                     f"{float(np.linalg.norm(g)):.4g}" if g is not None else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.stats.setItem(r, c, item)
