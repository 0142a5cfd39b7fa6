"""The mosaic's image item: indices through a colour table, entry 0 transparent, painted into
its rectangle."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from convexplorer.gui.panels.base import index_lut, index_table
from convexplorer.gui.panels.indexed_image import IndexedImageItem


def test_the_colour_table_is_the_lut_with_a_transparent_first_entry(qtbot):
    lut = index_lut("viridis")
    table = index_table("viridis")
    assert len(table) == 256 and QColor.fromRgba(table[0]).alpha() == 0
    for k in (1, 128, 255):
        c = QColor.fromRgba(table[k])
        assert (c.red(), c.green(), c.blue(), c.alpha()) == tuple(int(v) for v in lut[k])


def test_it_paints_each_index_in_its_colour_into_its_rectangle(qtbot):
    lut = index_lut("viridis")
    item = IndexedImageItem()
    indices = np.array([[0, 1], [128, 255]], dtype=np.uint8)
    item.set_image(indices, index_table("viridis"))
    item.set_rect(QRectF(0, 0, 20, 20))  # 10 x 10 view units a cell
    assert item.boundingRect() == QRectF(0, 0, 20, 20) and item.shape_hw == (2, 2)
    out = QImage(20, 20, QImage.Format.Format_ARGB32)
    out.fill(QColor(Qt.GlobalColor.black))
    painter = QPainter(out)
    item.paint(painter, None)
    painter.end()
    assert out.pixelColor(5, 5) == QColor(Qt.GlobalColor.black)  # index 0: see-through
    for (y, x), k in (((5, 15), 1), ((15, 5), 128), ((15, 15), 255)):
        c = out.pixelColor(x, y)
        assert (c.red(), c.green(), c.blue()) == tuple(int(v) for v in lut[k][:3])
    item.clear()
    assert item.boundingRect().isNull() and item.shape_hw is None
