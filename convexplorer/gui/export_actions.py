"""File > Export: the current panel as PNG, the whole run as a folder (in a worker thread, with
a progress dialog and cancel), and the stack as PyTorch code (clipboard or .py); and File >
Paste PyTorch Code. The run folder has the layout of ``python main.py run`` (engine.export).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
)

from ..engine.export import write_run
from ..engine.inputs import InputError, input_shape
from ..model.config_io import atomic_write_text
from ..model.files import safe_stem
from ..model.pytorch_export import CodeExportError, to_code

EXPORT_OUT_OF_MEMORY = ("{folder}: out of memory while writing the images; export without a "
                        "PNG per channel, or make the run smaller")


class RunExport(QObject):
    """Writes a RunResult to a folder in a worker thread. ``start()`` runs it; ``cancel()``
    stops it after the layer being written (summary.json is still written)."""

    progressed = Signal(int, int)  # layers done, layers in all (queued to the GUI thread)
    finished = Signal(object, str)  # summary.json path (None: failed), message

    def __init__(self, result, folder, channel_pngs: bool = False, parent=None):
        super().__init__(parent)
        self.result, self.folder, self.channel_pngs = result, Path(folder), channel_pngs
        self.done = 0
        self.total = len(result.layers)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="convexplorer-export",
                                        daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _progress(self, done: int, total: int) -> bool:
        self.done = done
        self.progressed.emit(done, total)
        return not self._cancel.is_set()

    def _work(self) -> None:
        try:
            summary = write_run(self.result, self.folder, channel_pngs=self.channel_pngs,
                                progress=self._progress)
        except OSError as exc:
            self.finished.emit(None, f"{self.folder}: cannot write ({exc.strerror or exc})")
            return
        except MemoryError:
            self.finished.emit(None, EXPORT_OUT_OF_MEMORY.format(folder=self.folder))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the user, the app goes on
            self.finished.emit(None, f"{self.folder}: export failed ({exc})")
            return
        if self._cancel.is_set() and self.done < self.total:
            msg = (f"Export cancelled after {self.done} of {self.total} layers; "
                   f"{self.folder} holds what was written")
        else:
            msg = f"Exported {self.total} layers to {self.folder}"
        self.finished.emit(summary, msg)


class SlideWidthDialog(QDialog):
    """File > Export > Current Panel for Slides: how wide the picture should be."""

    def __init__(self, parent, width: int):
        from .panels.slides import MAX_WIDTH, MIN_WIDTH

        super().__init__(parent)
        self.setWindowTitle(self.tr("Export for Slides"))
        self.width_box = QSpinBox(self)
        self.width_box.setRange(MIN_WIDTH, MAX_WIDTH)
        self.width_box.setSingleStep(160)
        self.width_box.setSuffix(self.tr(" px"))
        self.width_box.setValue(width)
        self.width_box.setToolTip(self.tr("1920 fills a full-HD slide; the values are scaled "
                                          "up in whole pixels, so each stays a sharp square"))
        form = QFormLayout(self)
        note = QLabel(self.tr("A picture of the panel for slides: scaled up without blurring, "
                              "with a title, channel numbers and a colour bar with its "
                              "values."))
        note.setWordWrap(True)
        form.addRow(note)
        form.addRow(self.tr("Width:"), self.width_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel, parent=self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class ExportActions(QObject):
    def __init__(self, window, files):
        super().__init__(window)
        self.window = window
        self.files = files
        self.slide_width = 1920
        self.job: RunExport | None = None
        self.progress: QProgressDialog | None = None
        self.code_dialog = None

    def _action(self, text, slot, tip="", shortcut=None) -> QAction:
        return self.files._action(text, slot, shortcut, tip)

    def populate(self, menu: QMenu) -> None:
        self.menu = QMenu("&Export", menu)
        self.png_action = self._action("Current Panel as &PNG\u2026", self.export_panel,
                                       "Save what the result panel shows, at the data's "
                                       "resolution", "Ctrl+E")
        self.slide_action = self._action(
            self.tr("Current Panel for &Slides\u2026"), lambda: self.export_slide(),
            self.tr("Save what the result panel shows as a PNG for slides: scaled up, with a "
                    "title, channel numbers and a colour bar with its values, at a width you "
                    "choose"), "Ctrl+Shift+E")
        self.run_action = self._action("Run as &Folder\u2026", self.export_run,
                                       "Arrays (.npy), channel grids (PNG) and summary.json "
                                       "for every layer, as `python main.py run` writes them")
        self.run_channels_action = self._action(
            "Run as Folder, with a PNG per &Channel\u2026",
            lambda: self.export_run(channel_pngs=True),
            "The run folder plus one PNG for each channel of each layer")
        self.copy_code_action = self._action("&Copy as PyTorch Code", self.copy_code,
                                             "Copy an nn.Sequential (with skip connections, "
                                             "an nn.Module class) that rebuilds this stack")
        self.save_code_action = self._action("Save as PyTorch Code (.&py)\u2026",
                                             self.save_code,
                                             "Save an nn.Sequential (with skip connections, "
                                             "an nn.Module class) that rebuilds this stack")
        self.script_action = self._action(
            self.tr("Save as Runnable &Script (.py)\u2026"), lambda: self.save_script(),
            self.tr("A plain PyTorch script with the same weights and input that prints what "
                    "the Values tab shows: x, print(model), every output, the objective and "
                    "each parameter's .grad size and norm"))
        for a in (self.png_action, self.slide_action, self.run_action,
                  self.run_channels_action):
            self.menu.addAction(a)
        self.menu.addSeparator()
        self.menu.addAction(self.copy_code_action)
        self.menu.addAction(self.save_code_action)
        self.menu.addAction(self.script_action)
        menu.addMenu(self.menu)

    def _default_name(self, suffix: str) -> str:
        name = safe_stem(self.window.pipeline.config.name, "convexplorer")
        folder = self.window.pipeline.base_dir
        file = name + suffix
        return str(folder / file) if folder else file

    # -- panel -------------------------------------------------------------------------------
    def export_panel(self) -> bool:
        panel = self.window.current_panel()
        if panel is None or getattr(self.window, "last_result", None) is None:
            self.files._error("Nothing to export", "No result is shown yet: wait for the run "
                              "to finish, or fix the problems the stack shows.")
            return False
        title = getattr(panel, "title", "panel")
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export Panel as PNG", self._default_name(f"_{title}.png"),
            "PNG images (*.png)")
        if not path:
            return False
        if not path.lower().endswith(".png"):
            path += ".png"
        if not panel.export_image(path):
            self.files._error("Cannot export the panel", f"{path}: could not write the PNG")
            return False
        self.files._status(f"Saved {path}")
        return True

    def export_slide(self, path: str | None = None, width: int | None = None) -> bool:
        """Save the visible panel for slides (``panels.slides``): asks for the width and the
        file unless given (code and tests pass both)."""
        from .panels.slides import export_slide

        panel = self.window.current_panel()
        if panel is None or getattr(self.window, "last_result", None) is None:
            self.files._error("Nothing to export", "No result is shown yet: wait for the run "
                              "to finish, or fix the problems the stack shows.")
            return False
        if width is None:
            dialog = SlideWidthDialog(self.window, self.slide_width)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            width = self.slide_width = dialog.width_box.value()
        if path is None:
            title = getattr(panel, "title", "panel")
            path, _ = QFileDialog.getSaveFileName(
                self.window, self.tr("Export Panel for Slides"),
                self._default_name(f"_{title}_slide.png"), "PNG images (*.png)")
            if not path:
                return False
        path = str(path)
        if not path.lower().endswith(".png"):
            path += ".png"
        if not export_slide(panel, path, width):
            self.files._error("Cannot export the panel", f"{path}: could not write the PNG")
            return False
        self.files._status(f"Saved {path}")
        return True

    # -- run folder --------------------------------------------------------------------------
    def export_run(self, channel_pngs: bool = False) -> RunExport | None:
        result = getattr(self.window, "last_result", None)
        if result is None:
            self.files._error("Nothing to export", "There is no run to export yet: wait for "
                              "the run to finish, or fix the problems the stack shows.")
            return None
        if self.job is not None and self.job.running:
            self.files._error("Export running", "An export is still running; wait for it "
                              "or cancel it first.")
            return None
        folder = QFileDialog.getExistingDirectory(self.window, "Export Run to Folder",
                                                  str(self.window.pipeline.base_dir or ""))
        if not folder:
            return None
        folder = Path(folder)
        if folder.is_dir() and any(folder.iterdir()):
            answer = QMessageBox.question(
                self.window, "Folder not empty",
                f"{folder} is not empty. Files with the same names will be replaced.",
                QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Ok:
                return None
        return self.start_run_export(result, folder, channel_pngs)

    def start_run_export(self, result, folder, channel_pngs: bool = False) -> RunExport:
        """Export ``result`` to ``folder`` in a worker thread, with a progress dialog."""
        job = RunExport(result, folder, channel_pngs, self)
        dialog = QProgressDialog(f"Exporting {len(result.layers)} layers to {folder}\u2026",
                                 "Cancel", 0, max(1, job.total), self.window)
        dialog.setWindowTitle("Export Run")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)
        dialog.canceled.connect(job.cancel)
        # emitted in the worker thread: queued, so the slots run on the GUI thread
        job.progressed.connect(self._on_job_progress, Qt.ConnectionType.QueuedConnection)
        job.finished.connect(self._on_job_finished, Qt.ConnectionType.QueuedConnection)
        self.job, self.progress = job, dialog
        job.start()
        return job

    def _on_job_progress(self, done: int, _total: int) -> None:
        if self.progress is not None:
            self.progress.setValue(done)

    def _on_job_finished(self, summary, message: str) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.wait()
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        if summary is None:
            self.files._error("Export failed", message)
        else:
            self.files._status(message, 10000)

    def shutdown(self) -> None:
        """Cancel a running export and wait for its thread (window closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()

    # -- PyTorch code ------------------------------------------------------------------------
    def _input_shape(self):
        pipeline = self.window.pipeline
        try:
            return input_shape(pipeline.config.input, pipeline.base_dir)
        except InputError:
            report = getattr(self.window, "last_report", None)
            return report.input_shape if report is not None else None

    def code(self) -> str | None:
        """The stack as PyTorch code, or None (after a message) if it cannot be written."""
        try:
            return to_code(self.window.pipeline.config, self._input_shape())
        except CodeExportError as exc:
            self.files._error("Cannot write PyTorch code", f"{exc}\n\nFix that layer first.")
            return None

    def copy_code(self) -> bool:
        code = self.code()
        if code is None:
            return False
        QGuiApplication.clipboard().setText(code)
        self.files._status("Copied the stack as PyTorch code")
        return True

    def save_code(self) -> bool:
        code = self.code()
        if code is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self.window, "Save as PyTorch Code",
                                              self._default_name(".py"), "Python (*.py)")
        if not path:
            return False
        if not Path(path).suffix:
            path += ".py"
        try:
            atomic_write_text(path, code)
        except OSError as exc:
            self.files._error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.files._status(f"Saved {path}")
        return True

    def save_script(self, path: str | None = None) -> bool:
        """Save the runnable script (and a bundled sample image beside it)."""
        from ..engine.script import ScriptError, make_script, weights_from_result, write_script

        pipeline = self.window.pipeline
        shape = self._input_shape()
        try:
            if shape is None:
                raise ScriptError(self.tr("The input cannot be read, so the script cannot "
                                          "make it; fix the input first."))
            weights = None
            if not all(spec.weights.is_init for spec in pipeline.config.layers):
                # the numbers the last run used (the window never builds modules itself)
                weights = weights_from_result(self.window.last_result, pipeline.config)
                if weights is None:
                    raise ScriptError(self.tr("The run with these weights is not finished "
                                              "yet; save the script once the results show."))
            script = make_script(pipeline.config, tuple(shape), pipeline.base_dir, weights)
        except ScriptError as exc:
            self.files._error(self.tr("Cannot write the script"), str(exc))
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self.window, self.tr("Save as Runnable Script"), self._default_name(".py"),
                "Python (*.py)")
            if not path:
                return False
            if not Path(path).suffix:
                path += ".py"
        try:
            written = write_script(script, path)
        except OSError as exc:
            self.files._error(self.tr("Cannot save"), f"{path}: {exc.strerror or exc}")
            return False
        self.files._status(self.tr("Saved {files}; run it with python {script}").format(
            files=", ".join(str(w) for w in written), script=written[0]))
        return True

    def paste_code(self):
        """Open the paste dialog (non-blocking); accepting it replaces the stack (one undo
        step)."""
        from .code_dialog import CodeDialog

        if self.code_dialog is not None:
            self.code_dialog.raise_()
            return self.code_dialog
        dialog = CodeDialog(self.window, self.window.pipeline.config, self._input_shape())
        self.code_dialog = dialog

        def done(result: int) -> None:
            self.code_dialog = None
            if result == CodeDialog.DialogCode.Accepted:
                config = dialog.result_config()
                if config is not None:
                    self.window.pipeline.set_config(config, "paste PyTorch code")
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()
        return dialog
