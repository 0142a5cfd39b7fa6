"""An 8-bit colour-table image for the channel grid's mosaic.

pyqtgraph's ImageItem re-examined the data and rebuilt the 256-entry colour table (256 Python
``qRgba`` calls) at every render, about 0.35 ms per grid and result, four grids a result. This
item wraps ``data.quantize``'s indices in a QImage once per new image, with the colour table
``base.index_table`` makes once per colour map, and paints it into a rectangle of view
coordinates.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem


class IndexedImageItem(QGraphicsItem):
    """``indices`` (H x W uint8) drawn through a colour table into ``rect`` (view units)."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._data: np.ndarray | None = None  # the QImage's memory: kept alive here
        self._qimage: QImage | None = None
        self._rect = QRectF()

    def set_image(self, indices: np.ndarray, table: list[int]) -> None:
        data = np.ascontiguousarray(indices, dtype=np.uint8)
        h, w = data.shape
        image = QImage(data.data, w, h, data.strides[0], QImage.Format.Format_Indexed8)
        image.setColorTable(table)
        self._data, self._qimage = data, image
        self.update()

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        self.update()

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._data = self._qimage = None
        self.update()

    @property
    def shape_hw(self) -> tuple[int, int] | None:
        """(height, width) of the image shown, or None."""
        return None if self._data is None else tuple(self._data.shape)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(self._rect) if self._qimage is not None else QRectF()

    def paint(self, painter, option, widget=None) -> None:
        if self._qimage is not None:
            painter.drawImage(self._rect, self._qimage)
