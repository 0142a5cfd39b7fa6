"""Export for slides: scaled up with nearest-neighbour, a title with the layer and its
torch.Size, channel numbers, numbers in the cells, colour bars, at a chosen width."""

from __future__ import annotations

import numpy as np

from convexplorer.gui.panels.activations import ActivationPanel
from convexplorer.gui.panels.base import lut
from convexplorer.gui.panels.pooling import PoolingPanel
from convexplorer.gui.panels.slides import GridFigure, MapFigure, export_slide, render

from .helpers import load_png, pixel, show


def test_activations_slide_is_scaled_up_titled_and_numbered(qtbot, mnist_result, tmp_path):
    panel = show(qtbot, ActivationPanel())
    panel.set_result(mnist_result, None)
    panel.set_selection(0)  # conv1: 10 maps of 24 x 24
    panel.grid.cmap_box.setCurrentText("gray")
    slide = panel.slide(1600)
    assert slide.title == "conv1 (Conv2d) output, batch 0: torch.Size([1, 10, 24, 24])"
    (figure,) = slide.figures
    assert isinstance(figure, GridFigure) and figure.first_label == 0
    image = render(slide, 1600)
    assert image.width() == 1600
    left, top, scale, band = slide.placed[0]
    assert scale >= 10 and scale == int(scale)  # whole pixels per value: crisp squares
    assert band >= 1  # rows above each map for its number
    act = mnist_result.layers[0].activation[0]
    c, y, x = (int(v) for v in np.unravel_index(np.argmax(act), act.shape))
    r, q = divmod(c, 4)
    m = figure.mosaic
    oy = r * (m.h + 1 + band) + band
    ox = q * (m.w + 1)
    for dy in (0.1, 0.5, 0.9):  # the whole square of that value is white
        for dx in (0.1, 0.5, 0.9):
            px = (int(left + (ox + x + dx) * scale), int(top + (oy + y + dy) * scale))
            assert pixel(image, *px) == (255, 255, 255), px
    # its channel number is written in the band above its map: dark ink on white
    band_box = [(int(left + ox * scale) + i, int(top + (oy - band) * scale) + j)
                for i in range(int(scale * 3)) for j in range(int(band * scale))]
    assert min(sum(pixel(image, *p)) for p in band_box) < 200
    # a colour bar right of the grid, from black (bottom) to white (top)
    assert export_slide(panel, tmp_path / "slide.png", 1200)
    saved = load_png(tmp_path / "slide.png")
    assert saved.width() == 1200 and saved.height() > 600


def test_pooling_slide_keeps_the_numbers(qtbot, mnist_result, tmp_path):
    panel = show(qtbot, PoolingPanel())
    panel.set_result(mnist_result, None)
    panel.set_selection(2)  # pool1: 12 x 12 indices
    slide = panel.slide(1600)
    assert slide.title == ("pool1 (MaxPool2d), batch 0, channel 0: indices "
                           "torch.Size([1, 10, 12, 12])")
    figures = slide.figures
    assert [type(f) for f in figures] == [MapFigure] * 3  # input, indices, input.grad
    indices = mnist_result.layers[2].indices[0, 0]
    assert figures[1].caption == "pool1 (MaxPool2d) indices[0, 0]"
    assert figures[1].texts[0, 0] == str(int(indices[0, 0]))
    image = render(slide, 1600)
    left, top, scale, _band = slide.placed[1]
    # the first cell holds its number: the cell is not one flat colour
    colour = tuple(int(v) for v in lut("viridis")[int(round(indices[0, 0] / 575 * 255))][:3])
    cell = {pixel(image, int(left + i), int(top + j)) for i in range(1, int(scale) - 1)
            for j in range(1, int(scale) - 1)}
    assert colour in cell or any(sum(abs(a - b) for a, b in zip(colour, c)) < 12 for c in cell)
    assert len(cell) > 3  # text drawn on it
    assert export_slide(panel, tmp_path / "pool.png", 1600)
    assert load_png(tmp_path / "pool.png").width() == 1600
