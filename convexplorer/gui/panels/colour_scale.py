"""A colour scale with its values: a thin bar of the colour map between the low and the high
value (and 0 marked on a diverging scale). Small enough for the picked channel's maps, where a
pyqtgraph ColorBarItem per map cost more than the map; also painted into exported slides."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .base import lut


def fmt_level(value: float) -> str:
    return f"{value:.3g}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values between ``lo`` and ``hi`` (multiples of 1, 2 or 5 times a
    power of ten; 0 among them where the range spans it), and the ends themselves."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = np.ceil(lo / step) * step
    values = [0.0 if abs(v) < step * 1e-9 else float(v)
              for v in np.arange(first, hi + step * 1e-9, step)]
    ends = [e for e in (lo, hi) if all(abs(e - v) > 0.4 * step for v in values)]
    return sorted(values + ends)  # the ends too, unless a round value sits next to them


def bar_image(cmap: str, vertical: bool = False) -> QImage:
    """The colour map as a 256 x 1 image (1 x 256 when vertical, high values at the top)."""
    table = np.ascontiguousarray(lut(cmap)[:, :3])
    if vertical:
        table = np.ascontiguousarray(table[::-1].reshape(256, 1, 3))
        return QImage(table.data, 1, 256, 3, QImage.Format.Format_RGB888).copy()
    return QImage(table.data, 256, 1, 3 * 256, QImage.Format.Format_RGB888).copy()


def paint_bar(painter: QPainter, rect: QRectF, cmap: str, levels: tuple[float, float],
              text: QColor, vertical: bool = False, ticks: int = 2) -> None:
    """A colour bar in ``rect`` with its values: horizontal, the low and the high value under
    its ends; vertical, about ``ticks`` round values on its right. 0 is marked where the scale
    spans it."""
    lo, hi = levels
    metrics = QFontMetrics(painter.font())
    painter.save()
    painter.setPen(text)
    if vertical:
        values = nice_ticks(lo, hi, max(ticks, 2))
        label_w = max(metrics.horizontalAdvance(fmt_level(v)) for v in values) + 8
        bar = QRectF(rect.left(), rect.top() + metrics.height() / 2,
                     min(max(rect.width() - label_w, 4), metrics.height() * 1.5),
                     rect.height() - metrics.height())
        painter.drawImage(bar, bar_image(cmap, vertical=True))
        for v in values:
            y = bar.top() + (hi - v) / ((hi - lo) or 1.0) * bar.height()
            painter.drawLine(int(bar.right()), int(y), int(bar.right()) + 3, int(y))
            painter.drawText(QRectF(bar.right() + 5, y - metrics.height() / 2, label_w,
                                    metrics.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             fmt_level(float(v)))
    else:  # the bar across the whole width, the values under its ends (and 0 where it is)
        bar = QRectF(rect.left(), rect.top(), rect.width(), max(rect.height() -
                                                                 metrics.height(), 4))
        painter.drawImage(bar, bar_image(cmap))
        below = QRectF(rect.left(), bar.bottom(), rect.width(), metrics.height())
        top = Qt.AlignmentFlag.AlignTop
        painter.drawText(below, top | Qt.AlignmentFlag.AlignLeft, fmt_level(lo))
        painter.drawText(below, top | Qt.AlignmentFlag.AlignRight, fmt_level(hi))
        if lo < 0 < hi:
            x = bar.left() + (0 - lo) / (hi - lo) * bar.width()
            painter.setPen(QPen(text, 1))
            painter.drawLine(int(x), int(bar.top()), int(x), int(bar.bottom()) + 2)
            zero = QRectF(x - 20, bar.bottom(), 40, metrics.height())
            ends = (metrics.horizontalAdvance(fmt_level(lo)), metrics.horizontalAdvance(
                fmt_level(hi)))
            if zero.left() > rect.left() + ends[0] + 4 and zero.right() < rect.right() - \
                    ends[1] - 4:
                painter.drawText(zero, top | Qt.AlignmentFlag.AlignHCenter, "0")
    painter.restore()


class ColourScale(QWidget):
    """A colour scale: a thin bar of the colour map with its low and high values under its
    ends (and 0 under its place, on a scale that spans it)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.cmap = "viridis"
        self.levels: tuple[float, float] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scale(self, cmap: str, levels: tuple[float, float] | None) -> None:
        self.cmap, self.levels = cmap, None if levels is None else tuple(levels)
        self.setToolTip("" if levels is None else self.tr("colours from {low} to {high}")
                        .format(low=fmt_level(levels[0]), high=fmt_level(levels[1])))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(120, self.fontMetrics().height() + 8)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.levels is None:
            return
        painter = QPainter(self)
        paint_bar(painter, QRectF(self.rect()), self.cmap, self.levels,
                  self.palette().windowText().color())
