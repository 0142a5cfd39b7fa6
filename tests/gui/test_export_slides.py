"""File > Export > Current Panel for Slides: a small dialog asks the width, then the file."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from convexplorer.gui.export_actions import SlideWidthDialog


def test_export_for_slides_from_the_menu(qtbot, window, tmp_path, monkeypatch):
    exports = window.file_actions.export
    texts = [a.text() for a in exports.menu.actions()]
    assert "Current Panel for &Slides\u2026" in texts
    target = tmp_path / "act_slide"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "PNG images (*.png)")))

    def answer() -> None:  # the user types a width and presses Save
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, SlideWidthDialog) and w.isVisible())
        dialog.width_box.selectAll()
        qtbot.keyClicks(dialog.width_box, "1280")
        dialog.accept()

    QTimer.singleShot(100, answer)
    exports.slide_action.trigger()
    image = QImage(str(target) + ".png")
    assert not image.isNull() and image.width() == 1280
    assert exports.slide_width == 1280  # remembered for the next export
    # from code: no dialog
    assert exports.export_slide(tmp_path / "grad.png", 900)
    assert QImage(str(tmp_path / "grad.png")).width() == 900
