"""One input channel drawn as a grid of cells, with the padding around it and the window of
the unit being computed marked on it: the picture of "A guide to convolution arithmetic",
with the run's own numbers in the cells where they fit."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .base import index_table
from .data import quantize

TAP = QColor(0, 200, 255)  # the window's taps
PAD_TAP = QColor(255, 170, 0)  # taps that read padding
WINNER = QColor(230, 30, 30)  # a max pool's winner
BEYOND = QColor(150, 150, 150)  # a ceil_mode window's overhang (not read)
NUMBERS_FROM = 30  # cell size in pixels from which the values are written in the cells
MAX_CELL = 56


class WindowMap(QWidget):
    """Paints ``plane`` (rows x columns of one input channel) inside its padding, the padding
    cells in grey with the value the padding mode gives them, and the marked cells."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(60)
        self.setMouseTracking(True)
        self.padded: np.ndarray | None = None  # values on the padded grid (padding included)
        self.is_pad: np.ndarray | None = None
        self.taps: list[tuple[int, int, bool]] = []  # (row, column, reads padding)
        self.beyond: list[tuple[int, int]] = []
        self.winner: tuple[int, int] | None = None
        self._image: QImage | None = None
        self._fmt = "{:.4f}"

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(320, 220)

    def clear(self) -> None:
        self.padded = None
        self.is_pad = None
        self.taps, self.beyond, self.winner = [], [], None
        self._image = None
        self.update()

    def set_plane(self, padded: np.ndarray, is_pad: np.ndarray, taps, beyond=(),
                  winner=None, cmap: str = "viridis") -> None:
        """``padded``: the channel with its padding (2-D; a 1-D map as one row), ``is_pad``
        which cells are padding; ``taps``: (row, column, reads padding) on that grid."""
        self.padded = np.asarray(padded, dtype=np.float64)
        self.is_pad = is_pad
        self.taps = list(taps)
        self.beyond = list(beyond)
        self.winner = winner
        finite = self.padded[np.isfinite(self.padded)]
        levels = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        q = quantize(self.padded, levels)
        h, w = q.shape
        q = np.ascontiguousarray(q)
        image = QImage(q.data, w, h, w, QImage.Format.Format_Indexed8)
        image.setColorTable(index_table(cmap))
        self._image = image.copy()
        # a short map (a 1-D signal) needs no more height than its cells: the rest goes to
        # the breakdown below it
        self.setMaximumHeight(h * MAX_CELL + 8 if h <= 4 else 16777215)
        self.update()

    def cell_geometry(self) -> tuple[float, float, float]:
        """(cell size, left, top) of the grid in the widget."""
        if self.padded is None:
            return 0.0, 0.0, 0.0
        h, w = self.padded.shape
        top_space = 2
        cell = min((self.width() - 4) / w, (self.height() - top_space - 4) / h, MAX_CELL)
        cell = max(cell, 0.5)
        left = (self.width() - cell * w) / 2
        return cell, left, top_space

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if self.padded is None or self._image is None:
            p.end()
            return
        cell, left, top = self.cell_geometry()
        h, w = self.padded.shape
        p.drawImage(QRectF(left, top, cell * w, cell * h), self._image)
        if self.is_pad is not None and self.is_pad.any():  # padding: greyed
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(128, 128, 128, 150))
            for r, c in zip(*np.nonzero(self.is_pad)):
                p.drawRect(QRectF(left + c * cell, top + r * cell, cell, cell))
        if cell >= 8:
            p.setPen(QPen(QColor(0, 0, 0, 90), 1))
            for r in range(h + 1):
                p.drawLine(int(left), int(top + r * cell), int(left + w * cell),
                           int(top + r * cell))
            for c in range(w + 1):
                p.drawLine(int(left + c * cell), int(top), int(left + c * cell),
                           int(top + h * cell))
        if cell >= NUMBERS_FROM:
            font = QFont(self.font())
            font.setPointSizeF(max(6.0, min(9.0, cell / 6.0)))
            p.setFont(font)
            for r in range(h):
                for c in range(w):
                    v = self.padded[r, c]
                    ink = QColor(255, 255, 255) if self._dark(r, c) else QColor(0, 0, 0)
                    p.setPen(ink)
                    p.drawText(QRectF(left + c * cell, top + r * cell, cell, cell),
                               Qt.AlignmentFlag.AlignCenter, self._fmt.format(v))
        p.setBrush(Qt.BrushStyle.NoBrush)
        width = max(1.5, min(3.0, cell / 10))
        for r, c in self.beyond:
            p.setPen(QPen(BEYOND, width, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(left + c * cell, top + r * cell, cell, cell))
        for r, c, pad in self.taps:
            p.setPen(QPen(PAD_TAP if pad else TAP, width))
            p.drawRect(QRectF(left + c * cell + width / 2, top + r * cell + width / 2,
                              cell - width, cell - width))
        if self.winner is not None:
            r, c = self.winner
            p.setPen(QPen(WINNER, width + 1))
            p.drawRect(QRectF(left + c * cell, top + r * cell, cell, cell))
        p.end()

    def _dark(self, r: int, c: int) -> bool:
        colour = QColor.fromRgba(self._image.pixel(c, r))
        return 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue() < 140

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, column) on the padded grid under a widget position."""
        if self.padded is None:
            return None
        cell, left, top = self.cell_geometry()
        r, c = int((y - top) // cell), int((x - left) // cell)
        h, w = self.padded.shape
        return (r, c) if 0 <= r < h and 0 <= c < w else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is None or self.padded is None:
            self.setToolTip("")
        else:
            value = self.padded[cell]
            pad = self.is_pad is not None and bool(self.is_pad[cell])
            text = "padding" if pad and not np.isfinite(value) else f"{value:.4f}"
            self.setToolTip(f"{text}{' (padding)' if pad and np.isfinite(value) else ''}")
        super().mouseMoveEvent(event)
