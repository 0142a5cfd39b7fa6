"""Edits must not move the window around: a new channel count changes the text of the
layer choosers and the channel grid's captions, and none of that may resize the docks (it
did: every edit re-laid out the whole window, and the docks slid by 25 pixels)."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget

from .window_helpers import click_row, type_into_spin


def _geometries(window) -> dict[str, tuple]:
    out = {d.objectName(): d.geometry().getRect() for d in window.findChildren(QDockWidget)
           if d.isVisible()}
    out["central"] = window.centralWidget().geometry().getRect()
    return out


def test_editing_out_channels_keeps_every_dock_in_place(qtbot, window):
    window.resize(1400, 880)
    qtbot.waitUntil(lambda: window.width() == 1400)
    click_row(qtbot, window, 3)  # conv2: nothing after it pins its channel count
    spin = window.form.editor("out_channels").spins[0]
    type_into_spin(qtbot, spin, "64")  # settle on a size first: the grid's first page
    qtbot.waitUntil(lambda: window.last_result.layers[3].output_shape[1] == 64)
    before = _geometries(window)
    for text in ("128", "7", "100", "65"):  # one page, two pages, longer and shorter texts
        type_into_spin(qtbot, spin, text)
        qtbot.waitUntil(lambda t=text: window.last_result.layers[3].output_shape[1] == int(t))
        qtbot.wait(50)  # let any relayout (and its dock animation) happen
        assert _geometries(window) == before, f"out_channels={text} moved the docks"


def test_docks_keep_their_default_widths_and_no_panel_squeezes_them(window):
    """Every result panel fits beside the docks at the default 1400x880: a panel asking for
    more (a row of buttons) squeezed the stack list to 'con...' and clipped the form."""
    assert window.docks["layers"].width() >= 310
    assert window.docks["form"].width() >= 380
    room = window.centralWidget().width()  # what the docks leave the results
    for panel in window.panels:
        assert panel.minimumSizeHint().width() <= room, type(panel).__name__


def test_a_3d_layer_form_fits_its_dock(qtbot):
    """Three boxes per size (D, H, W) and the padding mode fit the form at the default size
    (they were cut off at the right edge)."""
    from convexplorer.model.config_io import load_config
    from convexplorer.resources_path import example_path

    from .window_helpers import open_window

    window = open_window(qtbot, load_config(example_path("volume_conv3d.json")), sync=True)
    form = window.form
    assert form.scroll.widget().minimumSizeHint().width() <= form.scroll.viewport().width()
    window.close()
