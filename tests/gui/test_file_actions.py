"""The File menu in the real window: save/open/recent, the unsaved-changes guard, autosave and
crash recovery, export (panel PNG, run folder with progress and cancel, PyTorch code) and the
paste-PyTorch-code dialog. Dialogs are answered by patching QFileDialog / QMessageBox."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton

from convexplorer.engine.images import channel_grid
from convexplorer.gui import export_actions, file_actions
from convexplorer.gui.main_window import MainWindow
from convexplorer.model.config_io import load_config, save_config
from convexplorer.model.pytorch_export import to_code
from convexplorer.model.settings import RecentFiles, orphaned_autosaves, read_autosave
from convexplorer.model.spec import Config, LayerSpec

from ..hostile import crashed_autosave

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO / "resources" / "examples" / "mnist_convnet.json"
SB = QMessageBox.StandardButton
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def settings_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "settings"
    monkeypatch.setenv("CONVEXPLORER_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def make_window(qtbot, settings_dir):
    """Windows on a config (with a synchronous runner), shown with their first result."""
    windows: list[MainWindow] = []

    def make(config=None, path=None) -> MainWindow:
        window = MainWindow(config or load_config(MNIST), path, sync=True)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.runner.resultShown, timeout=60_000):
            window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.file_actions.export.shutdown()
        window.close()
    assert not [t for t in threading.enumerate() if t.name == "convexplorer-export"]


@pytest.fixture
def window(make_window):
    return make_window()


def answer(monkeypatch, button) -> list:
    """Answer the unsaved-changes question with ``button``; returns the questions asked."""
    asked: list = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def save_dialog(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))


def edit(window) -> None:
    window.pipeline.append_layer(LayerSpec.make("ReLU", "extra"))


def test_file_menu_has_the_actions_and_shortcuts(window):
    fa = window.file_actions
    texts = [a.text().replace("&", "") for a in window.menus["file"].actions()]
    for text in ("New", "Open\u2026", "Open Recent", "Save", "Save As\u2026",
                 "Paste PyTorch Code\u2026", "Export"):
        assert text in texts
    assert fa.new_action.shortcut() == QKeySequence(QKeySequence.StandardKey.New)
    assert fa.open_action.shortcut().toString() == "Ctrl+O"
    assert fa.save_action.shortcut().toString() == "Ctrl+S"
    assert fa.save_as_action.shortcut().toString() == "Ctrl+Shift+S"


def test_save_as_writes_the_whole_setup_and_clears_the_unsaved_mark(window, tmp_path,
                                                                   monkeypatch):
    edit(window)
    assert window.pipeline.dirty and "*" in window.windowTitle()
    target = tmp_path / "mine"
    save_dialog(monkeypatch, target)
    window.file_actions.save_action.trigger()  # no file yet: Save asks where
    saved = tmp_path / "mine.json"
    assert load_config(saved) == window.pipeline.config
    assert window.pipeline.path == saved and not window.pipeline.dirty
    assert "*" not in window.windowTitle()
    assert RecentFiles().paths()[0] == saved.resolve()
    edit(window)
    window.file_actions.save_action.trigger()  # Ctrl+S on a file: no dialog, same file
    assert len(load_config(saved).layers) == len(load_config(MNIST).layers) + 2


def test_save_failure_keeps_work_and_old_file(window, tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    save_config(load_config(MNIST), path)
    window.file_actions.open_path(path)
    edit(window)

    def fail(config, p):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("convexplorer.gui.file_actions.save_config", fail)
    assert not window.file_actions.save()
    assert window.pipeline.dirty and load_config(path) == load_config(MNIST)
    assert "No space left" in window.statusBar().currentMessage()


@pytest.mark.parametrize("text", ['{"version": 7, "layers": []}', "{ damaged"],
                         ids=["newer", "damaged"])
def test_newer_or_damaged_file_is_refused_and_work_untouched(window, tmp_path, monkeypatch,
                                                             text):
    edit(window)
    before = window.pipeline.config
    asked = answer(monkeypatch, SB.Discard)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(bad), "")))
    window.file_actions.open_action.trigger()
    assert window.pipeline.config == before and window.pipeline.dirty
    assert not asked  # nothing to decide: the file was refused before anything changed
    msg = window.statusBar().currentMessage()
    assert "Cannot open config" in msg and str(bad) in msg


@pytest.mark.parametrize("button, opened", [(SB.Cancel, False), (SB.Discard, True)],
                         ids=["cancel", "discard"])
def test_opening_with_unsaved_changes_asks_first(window, tmp_path, monkeypatch, button, opened):
    other = tmp_path / "other.json"
    save_config(Config(name="other", layers=(LayerSpec.make("Tanh"),)), other)
    edit(window)
    asked = answer(monkeypatch, button)
    assert window.file_actions.open_path(other) is opened
    assert asked and "Save the changes" in asked[0]
    assert (window.pipeline.config.name == "other") is opened
    assert window.pipeline.dirty is not opened


def test_save_answer_saves_before_opening(window, tmp_path, monkeypatch):
    other = tmp_path / "other.json"
    save_config(Config(name="other"), other)
    edit(window)
    work = window.pipeline.config
    answer(monkeypatch, SB.Save)
    save_dialog(monkeypatch, tmp_path / "work.json")
    assert window.file_actions.open_path(other)
    assert load_config(tmp_path / "work.json").layers == work.layers
    assert window.pipeline.path == other


def test_close_with_unsaved_changes(window, monkeypatch, qtbot):
    edit(window)
    fa = window.file_actions
    fa._autosave_timer.setInterval(10)
    fa._autosave_timer.start()
    qtbot.waitUntil(lambda: fa.autosave.exists)
    answer(monkeypatch, SB.Cancel)
    assert not window.close()
    assert window.isVisible() and fa.autosave.exists
    answer(monkeypatch, SB.Discard)
    assert window.close()
    assert not fa.autosave.exists  # a clean close leaves no autosave to offer


def test_new_starts_empty_after_asking(window, monkeypatch):
    edit(window)
    answer(monkeypatch, SB.Discard)
    window.file_actions.new_action.trigger()
    assert window.pipeline.config.layers == () and window.pipeline.path is None
    assert not window.pipeline.dirty


def test_open_recent_survives_a_restart_and_drops_missing_files(make_window, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_config(Config(name="a"), a)
    save_config(Config(name="b"), b)
    first = make_window()
    first.file_actions.open_path(a)
    first.file_actions.open_path(b)
    second = make_window()  # a new session reads the same list
    menu = second.file_actions.recent_menu
    menu.aboutToShow.emit()
    entries = [act for act in menu.actions() if act.data()]
    assert [Path(act.data()) for act in entries] == [b.resolve(), a.resolve()]
    entries[1].trigger()
    assert second.pipeline.config.name == "a"
    b.unlink()
    menu.aboutToShow.emit()
    assert [Path(act.data()) for act in menu.actions() if act.data()] == [a.resolve()]
    assert "no longer there" in second.statusBar().currentMessage()


# -- autosave and crash recovery ---------------------------------------------------------------


def test_autosave_follows_edits_and_goes_on_save(window, qtbot, tmp_path, monkeypatch):
    fa = window.file_actions
    fa._autosave_timer.setInterval(20)
    edit(window)
    qtbot.waitUntil(lambda: fa.autosave.exists)
    data = json.loads(fa.autosave.file.read_text())
    assert data["config"]["layers"][-1] == {"type": "ReLU", "name": "extra"}
    save_dialog(monkeypatch, tmp_path / "s.json")
    fa.save()
    assert not fa.autosave.exists


def test_autosave_is_offered_after_a_crash_and_restored(make_window, settings_dir, tmp_path,
                                                        qtbot):
    saved = tmp_path / "net.json"
    save_config(load_config(MNIST), saved)
    unsaved = load_config(MNIST).with_layers(load_config(MNIST).layers[:3])
    orphan = crashed_autosave(settings_dir, unsaved, saved)
    window = make_window()
    fa = window.file_actions
    qtbot.waitUntil(lambda: fa.restore_box is not None)
    box = fa.restore_box
    assert "did not close cleanly" in box.text() and "net.json (3 layers" in box.text()
    restore = next(b for b in box.buttons() if b.text() == "&Restore")
    qtbot.mouseClick(restore, LEFT)
    qtbot.waitUntil(lambda: window.pipeline.config == unsaved)
    assert window.pipeline.path == saved and window.pipeline.dirty
    assert orphan.exists  # kept until the restored work is saved or autosaved (issue 16)
    window.pipeline.undo()  # back to the file as it was saved
    assert window.pipeline.config == load_config(saved)


def test_autosave_offer_declined_discards_it(make_window, settings_dir, qtbot):
    crashed_autosave(settings_dir, Config(name="lost"))
    window = make_window()
    fa = window.file_actions
    qtbot.waitUntil(lambda: fa.restore_box is not None)
    discard = next(b for b in fa.restore_box.buttons() if b.text() == "&Discard")
    discard.click()
    qtbot.waitUntil(lambda: fa.restore_box is None)
    assert window.pipeline.config.name != "lost"
    assert not list(settings_dir.glob("autosave-*"))


def test_autosave_offer_escape_keeps_them_for_the_next_start(make_window, settings_dir, qtbot):
    first = crashed_autosave(settings_dir, Config(name="lost"))
    second = crashed_autosave(settings_dir, Config(name="also lost"))
    window = make_window()
    fa = window.file_actions
    qtbot.waitUntil(lambda: fa.restore_box is not None)
    box = fa.restore_box
    assert box.escapeButton() is next(b for b in box.buttons() if b.text() == "&Later")
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc: decide later, about both
    qtbot.waitUntil(lambda: fa.restore_box is None)
    fa.offer_restore()  # the other one is not offered in this session either
    assert fa.restore_box is None
    assert first.exists and second.exists  # still there for the next start
    assert window.pipeline.config.name not in ("lost", "also lost")


def test_autosave_offer_closes_so_the_app_can_quit(make_window, settings_dir, qtbot):
    orphan = crashed_autosave(settings_dir, Config(name="lost"))
    window = make_window()
    fa = window.file_actions
    qtbot.waitUntil(lambda: fa.restore_box is not None)
    # QApplication.quit() closes every window; without an escape button the box refused
    assert fa.restore_box.close()
    qtbot.waitUntil(lambda: fa.restore_box is None)
    assert orphan.exists and window.pipeline.config.name != "lost"


def _restore_first_offer(window, qtbot) -> None:
    fa = window.file_actions
    qtbot.waitUntil(lambda: fa.restore_box is not None)
    restore = next(b for b in fa.restore_box.buttons() if b.text() == "&Restore")
    qtbot.mouseClick(restore, LEFT)
    qtbot.waitUntil(lambda: fa.restore_box is None)


def test_restored_work_keeps_its_autosave_until_autosaved_again(make_window, settings_dir,
                                                                qtbot):
    """Issue 16, item 13: the autosave went the moment Restore was clicked, so a second crash
    in the next seconds lost the restored work."""
    lost = Config(name="lost", layers=(LayerSpec.make("ReLU", "r"),))
    orphan = crashed_autosave(settings_dir, lost)
    window = make_window()
    fa = window.file_actions
    _restore_first_offer(window, qtbot)
    assert window.pipeline.config == lost and window.pipeline.dirty
    assert orphan.exists
    assert orphaned_autosaves(settings_dir) == []  # this window holds it: not offered twice
    # a second crash now (the window's locks go, its files stay): the work is offered again
    os.close(fa.restored._claim.pop())
    assert [a.config for a in orphaned_autosaves(settings_dir)] == [lost]
    assert fa.restored.claim()  # (the window is still here in this test: it takes it back)
    fa.flush_autosave()  # the restored work is autosaved by this window: the old file goes
    assert fa.autosave.exists and not orphan.exists
    assert read_autosave(fa.autosave.file).config == lost and fa.restored is None


def test_restored_work_saved_removes_its_autosave(make_window, settings_dir, qtbot, tmp_path,
                                                 monkeypatch):
    orphan = crashed_autosave(settings_dir, Config(name="lost"))
    window = make_window()
    _restore_first_offer(window, qtbot)
    assert orphan.exists
    save_dialog(monkeypatch, tmp_path / "kept.json")
    assert window.file_actions.save()
    assert not orphan.exists and not list(settings_dir.glob("autosave-*.json"))


def test_steady_editing_is_autosaved_within_the_maximum_delay(window, qtbot, monkeypatch):
    """Issue 16, item 14: every edit restarted the timer, so an edit a second never saved."""
    monkeypatch.setattr(file_actions, "AUTOSAVE_MS", 300)
    monkeypatch.setattr(file_actions, "AUTOSAVE_MAX_MS", 900)
    fa = window.file_actions
    seed, t0 = 0, time.monotonic()
    while not fa.autosave.exists and time.monotonic() - t0 < 3.0:
        seed += 1
        window.pipeline.set_seed(seed)  # an edit every 100 ms, never a pause of 300 ms
        qtbot.wait(100)
    assert fa.autosave.exists and time.monotonic() - t0 < 1.5
    assert read_autosave(fa.autosave.file).config.seed >= 8


def test_a_full_settings_folder_does_not_fail_save_or_open(window, tmp_path, monkeypatch):
    """Issue 16, item 16: the recent files list could not be written (ENOSPC) and Save and
    Open showed "Unexpected error" although the save itself had worked."""
    def full(self, paths):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RecentFiles, "_write", full)
    edit(window)
    path = tmp_path / "c.json"
    save_dialog(monkeypatch, path)
    window.file_actions.save_action.trigger()  # a slot: an exception would fail the test
    assert load_config(path) == window.pipeline.config and not window.pipeline.dirty
    note = window.statusBar().currentMessage()
    assert note == ("Could not update the Open Recent list (No space left on device); the "
                    "file itself is fine.")
    assert window.file_actions.open_path(path)
    window.file_actions.recent_menu.aboutToShow.emit()
    window.file_actions._clear_recent()
    assert not [w for w in window.findChildren(QMessageBox) if w.isVisible()]


# -- export ------------------------------------------------------------------------------------


def test_export_panel_png_at_data_resolution(window, tmp_path, monkeypatch):
    panel = window.current_panel()
    save_dialog(monkeypatch, tmp_path / "panel")
    window.file_actions.export.png_action.trigger()
    image = QImage(str(tmp_path / "panel.png"))
    assert not image.isNull()
    rgb = panel.export_rgb() if hasattr(panel, "export_rgb") else None
    if rgb is not None:
        assert (image.width(), image.height()) == (rgb.shape[1], rgb.shape[0])
        assert image.pixelColor(0, 0).getRgb()[:3] == tuple(int(v) for v in rgb[0, 0])


def test_export_without_a_result_says_so(window, monkeypatch):
    window.last_result = None
    called = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: called.append(1) or ""))
    assert window.file_actions.export.export_run() is None
    assert not called and "Nothing to export" in window.statusBar().currentMessage()


@pytest.mark.parametrize("channel_pngs", [False, True])
def test_export_run_folder_in_a_worker(window, tmp_path, monkeypatch, qtbot, channel_pngs):
    out = tmp_path / "run"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    ex = window.file_actions.export
    action = ex.run_channels_action if channel_pngs else ex.run_action
    action.trigger()
    assert ex.job is not None and ex.progress is not None
    qtbot.waitUntil(lambda: ex.job is None, timeout=60_000)  # finished, thread joined
    summary = json.loads((out / "summary.json").read_text())
    result = window.last_result
    assert [entry["name"] for entry in summary["layers"]] == [lr.name for lr in result.layers]
    first = result.layers[0]
    png = QImage(str(out / summary["layers"][0]["files"]["activation_png"]))
    grid = channel_grid(first.activation[0])
    assert (png.width(), png.height()) == (grid.shape[1], grid.shape[0])
    assert np.array_equal(np.load(out / summary["layers"][0]["files"]["activation"]),
                          first.activation)
    channels = out / "00_conv1_channels"
    assert channels.is_dir() is channel_pngs
    if channel_pngs:
        files = sorted(channels.glob("*.png"))
        assert len(files) == first.activation.shape[1]
        img = QImage(str(files[0]))
        assert (img.width(), img.height()) == first.activation.shape[3:1:-1]
    assert "Exported" in window.statusBar().currentMessage()
    assert ex.job is None and ex.progress is None


def test_out_of_memory_in_an_export_is_said_as_such(window, tmp_path, monkeypatch, qtbot):
    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(export_actions, "write_run", no_memory)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(tmp_path / "out")))
    window.file_actions.export.export_run()
    qtbot.waitUntil(lambda: window.file_actions.export.job is None, timeout=10_000)
    [box] = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert box.windowTitle() == "Export failed"
    assert box.text() == (f"{tmp_path / 'out'}: out of memory while writing the images; "
                          "export without a PNG per channel, or make the run smaller")


def test_cancel_in_the_progress_dialog_stops_the_export(window, tmp_path, monkeypatch, qtbot):
    gate = threading.Event()

    def slow_write_run(result, out_dir, *, channel_pngs=False, progress=None):
        Path(out_dir, "summary.json").write_text("{}")
        for i in range(len(result.layers)):
            if i == 1:
                gate.wait(30)  # the user clicks Cancel while layer 1 is written
            if progress(i + 1, len(result.layers)) is False:
                break
        return Path(out_dir, "summary.json")

    monkeypatch.setattr(export_actions, "write_run", slow_write_run)
    ex = window.file_actions.export
    job = ex.start_run_export(window.last_result, tmp_path)
    qtbot.waitUntil(lambda: job.done == 1)
    with qtbot.waitSignal(job.finished, timeout=30_000) as blocker:
        ex.progress.findChild(QPushButton).click()  # the dialog's Cancel button
        assert job.cancelled
        gate.set()
    assert blocker.args[1].startswith(f"Export cancelled after 2 of {job.total} layers")
    assert not job.running


def test_copy_and_save_as_pytorch_code(window, tmp_path, monkeypatch):
    ex = window.file_actions.export
    ex.copy_code_action.trigger()
    expected = to_code(window.pipeline.config, (1, 1, 28, 28))
    assert QGuiApplication.clipboard().text() == expected
    save_dialog(monkeypatch, tmp_path / "net")
    ex.save_code_action.trigger()
    assert (tmp_path / "net.py").read_text() == expected


def test_code_export_error_is_shown(window):
    window.pipeline.set_config(Config(layers=(LayerSpec.make("Conv2d", out_channels=2,
                                                             kernel_size=99),
                                              LayerSpec.make("BatchNorm2d"))))
    assert not window.file_actions.export.copy_code()
    assert "Cannot write PyTorch code" in window.statusBar().currentMessage()


# -- paste PyTorch code ------------------------------------------------------------------------

PASTED = """MNISTConvNet(
  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))
  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (conv2): Conv2d(10, 20, kernel_size=(5, 5), stride=(1, 1))
  (conv2_drop): FeatureAlphaDropout(p=0.5, inplace=False)
  (pool2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (fc1): Linear(in_features=320, out_features=50, bias=True)
)"""


def test_paste_dialog_offers_the_missing_flatten_and_is_one_undo_step(window, qtbot):
    before = window.pipeline.config
    window.file_actions.paste_code_action.trigger()
    dialog = window.file_actions.export.code_dialog
    assert dialog is not None and dialog.isVisible()
    QGuiApplication.clipboard().setText(PASTED)
    dialog.editor.setFocus()
    dialog.editor.paste()
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=5000)
    notes = dialog.notes_view.toPlainText()
    assert "FeatureAlphaDropout" in notes and "320 features" in notes
    items = [dialog.preview.item(i).text() for i in range(dialog.preview.count())]
    assert "\u26a0" in items[-1]  # fc1 does not chain yet
    assert dialog.fix_button.isEnabled() and dialog.fix_button.text() == "Insert Flatten"
    qtbot.mouseClick(dialog.fix_button, LEFT)
    items = [dialog.preview.item(i).text() for i in range(dialog.preview.count())]
    assert any("flatten (Flatten)  torch.Size([1, 320])" in t for t in items)
    assert "torch.Size([1, 50])" in items[-1]
    assert not dialog.input_check.isChecked()  # the current input (1x1x28x28) fits
    qtbot.mouseClick(dialog.ok_button, LEFT)
    layers = window.pipeline.config.layers
    assert [s.name for s in layers] == ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1"]
    assert window.pipeline.config.input == before.input
    window.pipeline.undo()
    assert window.pipeline.config == before


def test_paste_dialog_shows_errors_and_sets_the_input_when_needed(window, qtbot):
    dialog = window.file_actions.export.paste_code()
    dialog.editor.setPlainText("nn.Sequential(nn.Conv2d(3, 8, 3")
    dialog.parse_now()
    assert "line 1" in dialog.notes_view.toPlainText() and not dialog.ok_button.isEnabled()
    dialog.editor.setPlainText("nn.Sequential(nn.Conv1d(2, 8, 3), nn.ReLU())")
    qtbot.keyClicks(dialog.shape_edit, "1, 2, 100")
    dialog.parse_now()
    assert dialog.input_check.isChecked()  # a 1-D stack does not fit the digit image
    dialog.accept()
    config = window.pipeline.config
    assert [s.type for s in config.layers] == ["Conv1d", "ReLU"]
    assert config.input.source == "signal" and config.input.shape == (1, 2, 100)


def test_save_as_runnable_script_runs_and_prints_the_apps_numbers(window, tmp_path,
                                                                 monkeypatch):
    import subprocess
    import sys

    from convexplorer.engine.printing import tensor_ref
    from convexplorer.engine.script import split_printed

    ex = window.file_actions.export
    save_dialog(monkeypatch, tmp_path / "mnist")
    ex.script_action.trigger()
    assert (tmp_path / "mnist.py").is_file() and (tmp_path / "digit7.png").is_file()
    assert "Saved" in window.statusBar().currentMessage()
    done = subprocess.run([sys.executable, str(tmp_path / "mnist.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = split_printed(done.stdout)
    result = window.last_result
    last = result.layers[-1]
    assert printed[f"{last.label} output"] == tensor_ref(result, last.index).text()
    assert printed["input"] == tensor_ref(result, None).text()
