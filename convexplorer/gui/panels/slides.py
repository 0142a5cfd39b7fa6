"""Export for slides: what a panel shows, scaled up with nearest-neighbour (each value stays a
crisp square), with a title (the layer and its torch.Size), captions, channel numbers, the
numbers in the cells where they fit, and colour bars with their values, at a chosen width.

Panels describe what to draw (``Slide``: a title and figures); ``render`` paints it into a
QImage. The data-resolution export (``Panel.export_image``) stays as it is, for analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

from .base import lut
from .colour_scale import paint_bar
from .data import Mosaic, compose, to_rgb

BACKGROUND = QColor(255, 255, 255)
INK = QColor(30, 30, 30)
MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH = 320, 8000, 1920
MIN_NUMBER_PX = 7.0  # cell numbers smaller than this are left out


@dataclass
class MapFigure:
    """One map at data resolution (``rgb``, H x W x 3), with optional numbers in its cells
    (``texts``, H x W; "" for none; ``dark`` where they go black) and a colour bar."""

    rgb: np.ndarray
    caption: str = ""
    texts: np.ndarray | None = None
    dark: np.ndarray | None = None
    cmap: str | None = None
    levels: tuple[float, float] | None = None


@dataclass
class GridFigure:
    """A page of channels (``values``: C x H x W, already scaled to ``levels``) laid out as
    ``mosaic`` (its first channel numbered ``first_label``), with a colour bar."""

    values: np.ndarray
    mosaic: Mosaic
    cmap: str
    levels: tuple[float, float]
    first_label: int = 0
    caption: str = ""


@dataclass
class ImageFigure:
    """A picture already drawn at the slide's width (curves, bars, the Explain drawings)."""

    image: QImage
    caption: str = ""


@dataclass
class Slide:
    title: str
    figures: list = field(default_factory=list)
    # after ``render``: where each figure's data went, (left, top, pixels per value, band
    # rows above each map of a grid); for tests and whoever wants to point at a value
    placed: list = field(default_factory=list)


def _font(px: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, int(round(px))))
    font.setBold(bold)
    return font


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _data_width(fig) -> int:
    if isinstance(fig, MapFigure):
        return fig.rgb.shape[1]
    if isinstance(fig, GridFigure):
        return int(fig.mosaic.size[1])
    return 0


class _Layout:
    """Sizes in pixels for a slide ``width`` pixels wide."""

    def __init__(self, width: int):
        self.width = width
        self.base = max(12.0, width / 80)  # the caption's font size
        self.margin = self.base
        self.gap = self.base
        self.title_font = _font(self.base * 1.4, bold=True)
        self.caption_font = _font(self.base)
        self.small_font = _font(self.base * 0.8)
        self.bar_h = QFontMetricsF(self.small_font).height() + self.base * 0.8
        small = QFontMetricsF(self.small_font)
        self.side_bar_w = small.horizontalAdvance("-0.0000") + small.height() * 1.5 + \
            self.base * 1.2


def render(slide: Slide, width: int = DEFAULT_WIDTH) -> QImage:
    """The slide as an RGB image ``width`` pixels wide."""
    width = max(MIN_WIDTH, min(MAX_WIDTH, int(width)))
    lay = _Layout(width)
    figures = slide.figures
    side = sum(lay.side_bar_w for f in figures if isinstance(f, GridFigure))
    avail = width - 2 * lay.margin - lay.gap * max(len(figures) - 1, 0) - side
    data_w = sum(_data_width(f) for f in figures)
    images = sum(f.image.width() for f in figures if isinstance(f, ImageFigure))
    scale = (avail - images) / data_w if data_w else 1.0
    if scale >= 1:
        scale = float(math.floor(scale))  # whole screen pixels per value: crisp squares
    scale = max(scale, 0.05)
    planned = [_plan(f, scale, lay) for f in figures]
    title_h = QFontMetricsF(lay.title_font).height() * _lines(slide.title, lay, width)
    caption_h = QFontMetricsF(lay.caption_font).height() if any(f.caption for f in figures) \
        else 0.0
    body_h = max((p["height"] for p in planned), default=0.0)
    height = int(math.ceil(lay.margin * 2 + title_h + lay.gap + caption_h + body_h))
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setPen(INK)
    painter.setFont(lay.title_font)
    painter.drawText(QRectF(lay.margin, lay.margin, width - 2 * lay.margin, title_h),
                     Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft, slide.title)
    total = sum(p["width"] for p in planned) + lay.gap * max(len(planned) - 1, 0)
    x = max(lay.margin, (width - total) / 2)
    top = lay.margin + title_h + lay.gap
    slide.placed = []
    for fig, plan in zip(figures, planned):
        slide.placed.append((x, top + caption_h, scale, plan.get("band", 0)))
        if fig.caption:
            painter.setFont(lay.caption_font)
            painter.setPen(INK)
            metrics = QFontMetricsF(lay.caption_font)
            painter.drawText(QRectF(x, top, max(plan["width"], 1), caption_h),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(fig.caption, Qt.TextElideMode.ElideRight,
                                                max(plan["width"], 1)))
        plan["paint"](painter, x, top + caption_h)
        x += plan["width"] + lay.gap
    painter.end()
    return image.convertToFormat(QImage.Format.Format_RGB888)


def _lines(text: str, lay: _Layout, width: int) -> int:
    metrics = QFontMetricsF(lay.title_font)
    return max(1, math.ceil(metrics.horizontalAdvance(text) / (width - 2 * lay.margin)))


def _plan(fig, scale: float, lay: _Layout) -> dict:
    if isinstance(fig, ImageFigure):
        return {"width": fig.image.width(), "height": fig.image.height(),
                "paint": lambda p, x, y: p.drawImage(QPointF(x, y), fig.image)}
    if isinstance(fig, GridFigure):
        return _plan_grid(fig, scale, lay)
    return _plan_map(fig, scale, lay)


def _scaled(rgb: np.ndarray, scale: float) -> QImage:
    h, w = rgb.shape[:2]
    return _qimage(rgb).scaled(max(1, round(w * scale)), max(1, round(h * scale)),
                               Qt.AspectRatioMode.IgnoreAspectRatio,
                               Qt.TransformationMode.FastTransformation)


def _plan_map(fig: MapFigure, scale: float, lay: _Layout) -> dict:
    picture = _scaled(fig.rgb, scale)
    bar = fig.cmap is not None and fig.levels is not None
    height = picture.height() + (lay.bar_h if bar else 0)

    def paint(p: QPainter, x: float, y: float) -> None:
        p.drawImage(QPointF(x, y), picture)
        if fig.texts is not None:
            _cell_numbers(p, fig.texts, fig.dark, x, y, scale)
        if bar:
            p.setFont(lay.small_font)
            paint_bar(p, QRectF(x, y + picture.height() + lay.base * 0.3, picture.width(),
                                lay.bar_h - lay.base * 0.3), fig.cmap, fig.levels, INK)
    return {"width": picture.width(), "height": height, "paint": paint}


def _cell_numbers(p: QPainter, texts: np.ndarray, dark, x0: float, y0: float,
                  cell: float) -> None:
    """Each cell's text centred in it, in a font small enough to fit (none below
    MIN_NUMBER_PX)."""
    texts = np.asarray(texts, dtype=object)
    longest = max((len(str(t)) for t in texts.ravel()), default=0)
    if not longest:
        return
    px = min(cell * 0.45, cell * 0.9 / (0.62 * longest))
    if px < MIN_NUMBER_PX:
        return
    p.save()
    p.setFont(_font(px))
    for (r, c), text in np.ndenumerate(texts):
        if text:
            p.setPen(QColor(0, 0, 0) if dark is not None and dark[r, c] else QColor(255, 255,
                                                                                   255))
            p.drawText(QRectF(x0 + c * cell, y0 + r * cell, cell, cell),
                       Qt.AlignmentFlag.AlignCenter, str(text))
    p.restore()


def _plan_grid(fig: GridFigure, scale: float, lay: _Layout) -> dict:
    m = fig.mosaic
    label_h = QFontMetricsF(lay.small_font).height()
    band = math.ceil(label_h / scale) if m.count > 1 else 0  # data rows above each map
    full = Mosaic(m.first, m.count, m.rows, m.cols, m.h, m.w, 1, band)
    rgb = to_rgb(compose(fig.values, full), fig.levels, lut(fig.cmap), gap=(255, 255, 255))
    picture = _scaled(rgb, scale)
    bar_w = lay.side_bar_w
    width = picture.width() + bar_w

    def paint(p: QPainter, x: float, y: float) -> None:
        p.drawImage(QPointF(x, y), picture)
        if m.count > 1:
            p.setFont(lay.small_font)
            p.setPen(INK)
            for ch in range(m.first, m.first + m.count):
                oy, ox = full.origin(ch)
                p.drawText(QRectF(x + ox * scale, y + (oy - band) * scale, m.w * scale,
                                  band * scale),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                           str(ch + fig.first_label))
        p.setFont(lay.small_font)
        paint_bar(p, QRectF(x + picture.width() + lay.base * 0.6, y, bar_w - lay.base * 0.6,
                            min(picture.height(), max(lay.base * 12, picture.height() * 0.6))),
                  fig.cmap, fig.levels, INK, vertical=True, ticks=5)
    return {"width": width, "height": picture.height(), "paint": paint, "band": band}


def save(slide: Slide, path, width: int = DEFAULT_WIDTH) -> bool:
    return render(slide, width).save(str(path), "PNG")


def export_slide(panel, path, width: int = DEFAULT_WIDTH) -> bool:
    """Save what ``panel`` shows as a slide PNG ``width`` pixels wide. A panel without a
    ``slide()`` (or with nothing to show) is saved as drawn on screen, scaled to the width,
    under its title."""
    slide = panel.slide(width) if hasattr(panel, "slide") else None
    if slide is None:
        grabbed = panel.grab().toImage()
        lay = _Layout(max(MIN_WIDTH, min(MAX_WIDTH, int(width))))
        inner = int(lay.width - 2 * lay.margin)
        picture = grabbed.scaledToWidth(inner, Qt.TransformationMode.SmoothTransformation)
        slide = Slide(getattr(panel, "title", ""), [ImageFigure(picture)])
    return save(slide, path, width)


__all__ = ["DEFAULT_WIDTH", "GridFigure", "ImageFigure", "MapFigure", "Slide",
           "export_slide", "render", "save"]
