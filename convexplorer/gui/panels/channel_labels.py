"""The channel numbers on a mosaic: one graphics item paints them all.

One pyqtgraph ``TextItem`` per channel cost about 1 ms each to create and place, on every
change of the number or size of the channels (that is, on most shape edits: 64 of them were
most of a large redraw). This item keeps a list of (x, y, text) and paints the numbers in
screen pixels in the empty band the mosaic leaves above each map (``data.Mosaic.top``), so they
stay readable at any zoom and never cover a value; while the band is too small on screen to
hold a number, it paints none.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFontMetricsF, QStaticText, QTransform
from PySide6.QtWidgets import QGraphicsItem

TEXT = QColor(230, 230, 230)
PAD = 2.0  # pixels either side of a number


class ChannelLabels(QGraphicsItem):
    """Channel numbers in the band above each map of a mosaic (view coordinates in, screen
    pixels out)."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._labels: list[tuple[float, float, str]] = []
        self._rect = QRectF()
        self._cell = 0.0
        self._band = 0.0
        self._font = ""
        self._texts: dict[str, tuple[QStaticText, float]] = {}  # laid-out numbers, widths
        self.painted = 0  # numbers painted at the last paint (for tests)
        self.setZValue(5)  # above the image, below the hover mark

    def set_labels(self, labels: list[tuple[float, float, str]], rect: QRectF,
                   cell: float, band: float = 0.0) -> None:
        """``labels``: (x, y, text) of each map's top-left corner, in view coordinates;
        ``rect``: the mosaic; ``cell``: a map's width; ``band``: the height of the empty band
        above each map, in view units (0: no room, no numbers)."""
        self.prepareGeometryChange()
        self._labels, self._rect, self._cell = list(labels), QRectF(rect), float(cell)
        self._band = float(band)
        self.update()

    def labels(self) -> list[str]:
        """The numbers this item has to paint (tests, and whoever wants to read them)."""
        return [text for _x, _y, text in self._labels]

    def fits(self, scale: float, metrics: QFontMetricsF) -> bool:
        """Whether the band above a map, ``scale`` screen pixels per view unit, holds the
        widest number."""
        if not self._labels or self._band <= 0:
            return False
        widest = max(self._labels, key=lambda label: len(label[2]))[2]
        return (self._cell * scale >= metrics.horizontalAdvance(widest) + 2 * PAD
                and self._band * scale >= metrics.height() - 2)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        if not self._labels:
            return
        t = painter.transform()
        metrics = QFontMetricsF(painter.font())
        self.painted = 0
        if not self.fits(min(abs(t.m11()), abs(t.m22())), metrics):
            return  # a band too small for a number: none rather than numbers on the data
        painter.save()
        painter.resetTransform()  # paint in screen pixels: numbers do not grow with zoom
        painter.setPen(TEXT)
        height = metrics.height()
        font = painter.font().key()
        if font != self._font:  # laid-out numbers, kept while the font is the same
            self._font, self._texts = font, {}
        for x, y, text in self._labels:
            laid = self._texts.get(text)
            if laid is None:
                static = QStaticText(text)
                static.prepare(QTransform(), painter.font())
                laid = self._texts[text] = (static, metrics.horizontalAdvance(text))
            p = t.map(QPointF(x, y))  # the map's corner: the band ends there
            painter.drawStaticText(QPointF(p.x() + PAD, p.y() - height), laid[0])
            self.painted += 1
        painter.restore()
