"""Numbers on a map or a plot, drawn only where they fit at the current zoom.

One graphics item paints them all, in screen pixels, so they keep their size at any zoom: the
cells of a 12 x 12 indices map hold their numbers once zoomed in, and hold none (rather than an
unreadable jumble) while they are smaller on screen than a number. Points of a curve or bars
work the same way, their number just above the point.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem

PAD = 2.0  # screen pixels kept free around a number
LIGHT, DARK = QColor(255, 255, 255), QColor(0, 0, 0)


class ValueLabels(QGraphicsItem):
    """Texts at points (view coordinates). ``spacing`` is the distance, in view units, between
    neighbouring points (1 x 1 for map cells): a number is drawn only while that distance on
    screen holds the widest number. ``above``: the number sits above its point, not on it."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._xs = np.zeros(0)
        self._ys = np.zeros(0)
        self._texts: list[str] = []
        self._dark = np.zeros(0, dtype=bool)
        self._spacing = (1.0, 1.0)
        self._above = False
        self._lines = 1.0
        self._export_scale = 1.0
        self._rect = QRectF()
        self._widest = ""
        self.colour = LIGHT
        self.painted = 0  # numbers painted at the last paint (tests)
        self.setZValue(6)

    def set_labels(self, xs, ys, texts: list[str], spacing=(1.0, 1.0), dark=None,
                   above: bool = False, lines: float = 1.0) -> None:
        """``dark``: per text, True to draw it black (on a light cell), else in ``colour``;
        ``lines``: how many text heights the vertical spacing must hold (a curve's points
        move within their band: their numbers need room to keep clear of the next band)."""
        self.prepareGeometryChange()
        self._xs = np.asarray(xs, dtype=float).ravel()
        self._ys = np.asarray(ys, dtype=float).ravel()
        self._texts = list(texts)
        self._dark = (np.zeros(len(self._texts), dtype=bool) if dark is None
                      else np.asarray(dark, dtype=bool).ravel())
        self._spacing = (float(spacing[0]), float(spacing[1]))
        self._above = above
        self._lines = float(lines)
        self._widest = max(self._texts, key=len) if self._texts else ""
        if len(self._xs):
            sx, sy = self._spacing
            self._rect = QRectF(self._xs.min() - sx, self._ys.min() - 2 * sy,
                                self._xs.max() - self._xs.min() + 2 * sx,
                                self._ys.max() - self._ys.min() + 4 * sy)
        else:
            self._rect = QRectF()
        self.update()

    def set_cells(self, texts: np.ndarray, dark: np.ndarray | None = None, y0: float = 0.0):
        """One text per cell of a map: ``texts[r, c]`` at the centre of cell (r, c), the map's
        first row at ``y0``. Empty texts are skipped."""
        texts = np.asarray(texts, dtype=object)
        rows, cols = np.nonzero(texts != "")
        self.set_labels(cols + 0.5, rows + 0.5 + y0, [str(t) for t in texts[rows, cols]],
                        dark=None if dark is None else np.asarray(dark)[rows, cols])

    def clear(self) -> None:
        self.set_labels([], [], [])

    def setExportMode(self, export: bool, opts=None) -> None:  # noqa: N802 - pyqtgraph's
        """pyqtgraph's exporters scale the picture: the numbers grow with it."""
        self._export_scale = float((opts or {}).get("resolutionScale", 1.0)) if export else 1.0

    def texts(self) -> list[str]:
        return list(self._texts)

    def fits(self, sx: float, sy: float, metrics: QFontMetricsF) -> bool:
        """Whether neighbouring numbers keep clear of each other at ``sx``, ``sy`` screen
        pixels per view unit."""
        if not self._texts:
            return False
        dx, dy = self._spacing
        return (dx * sx >= metrics.horizontalAdvance(self._widest) + 2 * PAD
                and dy * sy >= self._lines * metrics.height())

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        self.painted = 0
        if not self._texts:
            return
        t = painter.transform()
        sx, sy = abs(t.m11()) + abs(t.m21()), abs(t.m22()) + abs(t.m12())
        font = QFont(painter.font())
        if self._export_scale != 1.0 and font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * self._export_scale)
        metrics = QFontMetricsF(font)
        if not self.fits(sx, sy, metrics):
            return  # they would overlap, or hide what they label
        inverse, ok = t.inverted()
        keep = np.ones(len(self._texts), dtype=bool)
        if ok and widget is not None:  # only the points on screen
            seen = inverse.mapRect(QRectF(widget.rect()))
            keep = ((self._xs >= seen.left() - 1) & (self._xs <= seen.right() + 1)
                    & (self._ys >= seen.top() - 1) & (self._ys <= seen.bottom() + 1))
        height = metrics.height()
        painter.save()
        painter.resetTransform()
        painter.setFont(font)
        for i in np.flatnonzero(keep):
            text = self._texts[i]
            p = t.map(QPointF(self._xs[i], self._ys[i]))
            width = metrics.horizontalAdvance(text)
            top = p.y() - height - 3 if self._above else p.y() - height / 2
            painter.setPen(DARK if self._dark[i] else self.colour)
            painter.drawText(QPointF(p.x() - width / 2, top + metrics.ascent()), text)
            self.painted += 1
        painter.restore()
