"""Small grids of numbers painted side by side: per input channel, the window, the kernel and
their products (``window ⊙ kernel = products``), or a pool's window with its winner. Painted,
not laid out as rich text: a 3x3 kernel over 8 channels draws in about a millisecond."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ...model.compute.text import num

PLAIN, PADDING, WINNER = 0, 1, 2
_FILL = {PLAIN: QColor(255, 255, 255), PADDING: QColor(205, 205, 205),
         WINNER: QColor(230, 60, 60)}
_INK = {PLAIN: QColor(0, 0, 0), PADDING: QColor(85, 85, 85), WINNER: QColor(255, 255, 255)}


@dataclass
class Grid:
    """A 2-D array of numbers (a 1-D one is one row) and a style per cell."""

    values: np.ndarray
    styles: np.ndarray | None = None  # PLAIN / PADDING / WINNER per cell

    def __post_init__(self) -> None:
        self.values = np.atleast_2d(np.asarray(self.values, dtype=np.float64))
        if self.styles is None:
            self.styles = np.zeros(self.values.shape, np.int8)
        self.styles = np.asarray(self.styles).reshape(self.values.shape)


class TermGrids(QWidget):
    """Rows of (title, items); an item is a ``Grid`` or an operator string (⊙, =)."""

    GAP = 10  # pixels between items
    TITLE_GAP = 4

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, list]] = []
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.setFont(font)
        fm = self.fontMetrics()
        self.cell_w = fm.horizontalAdvance("-0.0000") + 10
        self.cell_h = fm.height() + 4
        self.title_h = fm.height() + self.TITLE_GAP

    def set_rows(self, rows: list[tuple[str, list]]) -> None:
        self.rows = rows
        self.setMinimumSize(self.sizeHint())
        self.resize(self.sizeHint())
        self.update()

    def clear(self) -> None:
        self.set_rows([])

    def _item_width(self, item) -> int:
        if isinstance(item, Grid):
            return item.values.shape[1] * self.cell_w
        return self.fontMetrics().horizontalAdvance(item) + 4

    def _row_height(self, items) -> int:
        grids = [i.values.shape[0] for i in items if isinstance(i, Grid)]
        return self.title_h + max(grids, default=0) * self.cell_h

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        width = 0
        height = 4
        for title, items in self.rows:
            row = sum(self._item_width(i) + self.GAP for i in items)
            width = max(width, row, self.fontMetrics().horizontalAdvance(title))
            height += self._row_height(items) + self.GAP
        return QSize(width + 8, height)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        bold = QFont(self.font())
        bold.setBold(True)
        exposed = event.rect()  # in a scroll area only a few rows show: paint those
        y = 4
        for title, items in self.rows:
            height = self._row_height(items)
            if y > exposed.bottom() or y + height < exposed.top():
                y += height + self.GAP
                continue
            p.setFont(bold)
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(4, y, self.width(), self.title_h), Qt.AlignmentFlag.AlignLeft,
                       title)
            p.setFont(self.font())
            top = y + self.title_h
            x = 4
            tallest = max((i.values.shape[0] for i in items if isinstance(i, Grid)), default=1)
            for item in items:
                if isinstance(item, Grid):
                    self._paint_grid(p, item, x, top)
                else:
                    p.setPen(self.palette().text().color())
                    p.drawText(QRectF(x, top, self._item_width(item), tallest * self.cell_h),
                               Qt.AlignmentFlag.AlignCenter, item)
                x += self._item_width(item) + self.GAP
            y += height + self.GAP
        p.end()

    def _paint_grid(self, p: QPainter, grid: Grid, x0: float, y0: float) -> None:
        rows, cols = grid.values.shape
        frame = QPen(QColor(150, 150, 150), 1)
        for r in range(rows):
            for c in range(cols):
                style = int(grid.styles[r, c])
                rect = QRectF(x0 + c * self.cell_w, y0 + r * self.cell_h, self.cell_w,
                              self.cell_h)
                p.setPen(frame)
                p.setBrush(_FILL[style])
                p.drawRect(rect)
                p.setPen(_INK[style])
                text = num(float(grid.values[r, c]))
                p.drawText(rect.adjusted(2, 0, -3, 0),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
