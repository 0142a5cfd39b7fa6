"""The File menu: New, Open, Open Recent, Save, Save As, the unsaved-changes guard, autosave and
crash recovery; it hands Export and PyTorch code to ``export_actions`` and ``code_dialog``.

The window creates ``FileActions(window)`` once, calls ``populate(menu)`` while building its
File menu (the window itself appends the final separator and Quit), and asks
``confirm_close()`` in its closeEvent (False keeps the window open). It relies on the window's
``pipeline``, ``open_config(config, path)``, ``show_error(title, text, details="")`` and, for
export, ``last_result``, ``last_report`` and ``current_panel()``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..model.config_io import ConfigError, load_config, save_config
from ..model.files import STEM_CHARS, is_regular, safe_stem
from ..model.settings import Autosave, Autosaved, RecentFiles, orphaned_autosaves, rebase_input
from ..model.spec import Config
from .export_actions import ExportActions

AUTOSAVE_MS = 3000  # after the last edit: often enough to lose little, rare enough to go unseen
AUTOSAVE_MAX_MS = 10_000  # after the first unsaved edit, however steadily the editing goes on
RECENT_FAILED = "Could not update the Open Recent list ({reason}); the file itself is fine."
AUTOSAVE_FAILED = "Autosave failed ({reason}); save your work to keep it."
CONFIG_FILTER = "convexplorer configs (*.json);;All files (*)"


class FileActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.recent = RecentFiles()
        self.autosave = Autosave()
        self.restore_box: QMessageBox | None = None  # the crash-recovery question, while open
        self.restored: Autosaved | None = None  # kept until its work is saved or autosaved
        self._first_unsaved = 0.0  # when the edit that started the pending autosave came
        self._later_all = False  # the user chose to decide about crash autosaves next time
        self.export = ExportActions(window, self)
        self._subscribed = False
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self._on_autosave_timeout)
        self._subscribe()
        # after the window is up: offer work a crash left behind (a non-blocking question)
        QTimer.singleShot(0, self, self.offer_restore)

    @property
    def pipeline(self):
        return self.window.pipeline

    def _subscribe(self) -> None:
        if not self._subscribed and getattr(self.window, "pipeline", None) is not None:
            self.pipeline.subscribe(self._on_pipeline_event)
            self._subscribed = True

    # -- menu --------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def populate(self, menu: QMenu) -> None:
        """Add New/Open/Open Recent/Save/Save As, PyTorch code and Export actions to ``menu``."""
        self._subscribe()
        std = QKeySequence.StandardKey
        self.new_action = self._action("&New", self.new, std.New, "Start an empty stack")
        self.open_action = self._action("&Open\u2026", self.open, std.Open,
                                        "Open a config file (JSON)")
        self.save_action = self._action("&Save", self.save, std.Save, "Save the config")
        self.save_as_action = self._action("Save &As\u2026", self.save_as, "Ctrl+Shift+S",
                                           "Save the config to a new file")
        self.recent_menu = QMenu("Open &Recent", menu)
        self.recent_menu.aboutToShow.connect(self.rebuild_recent_menu)
        self.paste_code_action = self._action(
            "&Paste PyTorch Code\u2026", self.export.paste_code, "Ctrl+Shift+V",
            "Build the stack from print(model) output or nn.Sequential code")
        menu.addAction(self.new_action)
        menu.addAction(self.open_action)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        menu.addAction(self.save_action)
        menu.addAction(self.save_as_action)
        menu.addSeparator()
        menu.addAction(self.paste_code_action)
        menu.addAction(self.window.weight_actions.load_action)
        self.export.populate(menu)
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        """The Open Recent entries; files that are gone are dropped, with a note."""
        try:
            missing = self.recent.prune()
        except OSError as exc:
            missing = []
            self._status(RECENT_FAILED.format(reason=exc.strerror or exc))
        if missing:
            names = ", ".join(p.name for p in missing)
            self._status(f"Removed from Open Recent (no longer there): {names}")
        self.recent_menu.clear()
        paths = self.recent.paths()
        for i, path in enumerate(paths, 1):
            action = self.recent_menu.addAction(f"&{i % 10} {path.name}")
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.setData(str(path))
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if not paths:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("&Clear Menu", self._clear_recent)
        clear.setEnabled(bool(paths))

    def _clear_recent(self) -> None:
        self._remember(self.recent.clear)
        self.rebuild_recent_menu()

    def _remember(self, change, *args) -> bool:
        """Change the recent files list, best effort: a settings folder that cannot be written
        (full, read-only) is a note in the status bar, never an error about the file itself."""
        try:
            change(*args)
            return True
        except OSError as exc:
            self._status(RECENT_FAILED.format(reason=exc.strerror or exc))
            return False

    def _status(self, text: str, ms: int = 6000) -> None:
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(text, ms)

    def _error(self, title: str, text: str, details: str = "") -> None:
        self.window.show_error(title, text, details)

    # -- new / open --------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.maybe_save("starting a new stack"):
            return False
        self.window.open_config(Config(), None)
        self._forget_work()
        return True

    def open(self) -> bool:
        start = str(self.pipeline.path.parent) if self.pipeline.path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Config", start, CONFIG_FILTER)
        return self.open_path(path) if path else False

    def open_path(self, path) -> bool:
        """Open a config file. A damaged or newer-version file is refused with a message and
        the current work is left as it is; unsaved work is asked about first."""
        path = Path(path)
        try:
            config = load_config(path)
        except ConfigError as exc:
            if not is_regular(path):
                self._remember(self.recent.remove, path)
                self.rebuild_recent_menu()
            self._error("Cannot open config", f"{exc}\n\nThe current stack is unchanged.")
            return False
        if not self.maybe_save(f"opening {path.name}"):
            return False
        self.window.open_config(config, path)
        self._forget_work()
        self._status(f"Opened {path}")
        if self._remember(self.recent.add, path):
            self.rebuild_recent_menu()
        return True

    # -- save --------------------------------------------------------------------------------
    def save(self) -> bool:
        """Save to the current file (Save As if there is none). True when saved."""
        if self.pipeline.path is None:
            return self.save_as()
        return self.save_to(self.pipeline.path)

    def save_as(self) -> bool:
        current = self.pipeline.path
        start = str(current) if current else f"{_stem(self.pipeline.config.name)}.json"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Config As", start,
                                              CONFIG_FILTER)
        if not path:
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".json")
        return self.save_to(path)

    def save_to(self, path) -> bool:
        """Write the config atomically (a crash or a full disk leaves the old file intact)."""
        path = Path(path)
        config = rebase_input(self.pipeline.config, self.pipeline.base_dir, path.parent)
        if config.name in ("", "untitled"):
            config = replace(config, name=path.stem)
        try:
            save_config(config, path)
        except OSError as exc:
            self._error("Cannot save config", f"{path}: {exc.strerror or exc}\n\n"
                        "Nothing was changed on disk; your work is still open.")
            return False
        if config != self.pipeline.config:
            self.pipeline.set_config(config, "save as")
        self.pipeline.mark_saved(path)
        self._forget_work()
        self._status(f"Saved {path}")
        if self._remember(self.recent.add, path):
            self.rebuild_recent_menu()
        return True

    def _forget_work(self) -> None:
        """The current work is on disk (saved), or was left on purpose (New, Open): no
        autosave is needed any more, nor the one it was restored from."""
        self._autosave_timer.stop()
        self.autosave.clear()
        self._drop_restored()

    def _drop_restored(self) -> None:
        if self.restored is not None:
            self.restored.discard()
            self.restored = None

    # -- unsaved work ------------------------------------------------------------------------
    def maybe_save(self, doing: str = "closing") -> bool:
        """Ask Save / Discard / Cancel when there are unsaved changes. True: go ahead."""
        if not self.pipeline.dirty:
            return True
        name = self.pipeline.path.name if self.pipeline.path else "the untitled stack"
        answer = QMessageBox.question(
            self.window, "Unsaved changes",
            f"Save the changes to {name} before {doing}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def confirm_close(self) -> bool:
        """True when the window may close (no unsaved work, or the user agreed). A clean close
        removes the autosave; an export still running is cancelled."""
        if not self.maybe_save("closing"):
            return False
        self.export.shutdown()
        self._autosave_timer.stop()
        self.autosave.close()
        self._drop_restored()
        return True

    def _on_pipeline_event(self, event) -> None:
        if event.kind == "config":
            self._schedule_autosave()
        elif event.kind == "file" and not self.pipeline.dirty:
            self._autosave_timer.stop()
            self.autosave.clear()

    def _schedule_autosave(self) -> None:
        """Autosave AUTOSAVE_MS after the last edit, and at the latest AUTOSAVE_MAX_MS after
        the first unsaved one: steady editing (an edit a second) is autosaved too."""
        now = time.monotonic()
        if not self._autosave_timer.isActive():
            self._first_unsaved = now
        left_ms = int((self._first_unsaved - now) * 1000) + AUTOSAVE_MAX_MS
        self._autosave_timer.start(max(0, min(AUTOSAVE_MS, left_ms)))

    def _on_autosave_timeout(self) -> None:
        if not self.pipeline.dirty:
            self.autosave.clear()
            return
        try:
            self.autosave.write(self.pipeline.config, self.pipeline.path)
        except OSError as exc:
            self._status(AUTOSAVE_FAILED.format(reason=exc.strerror or exc))
            return
        self._drop_restored()  # the restored work is in this window's own autosave now

    def flush_autosave(self) -> None:
        """Write the autosave now if one is due (tests, and before risky operations)."""
        if self._autosave_timer.isActive():
            self._autosave_timer.stop()
            self._on_autosave_timeout()

    # -- crash recovery ----------------------------------------------------------------------
    def offer_restore(self) -> None:
        """Ask whether to restore work an earlier session left unsaved when it crashed. The
        question does not block (a window-modal box), so a headless --screenshot still runs."""
        if self.restore_box is not None or self._later_all:
            return
        found = orphaned_autosaves(self.autosave.folder)
        if not found:
            return
        item = found[0]
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                          "convexplorer did not close cleanly last time. Restore the unsaved "
                          f"work?\n\n{item.describe()}", parent=self.window)
        box.setObjectName("restoreBox")
        restore = box.addButton("&Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
        later = box.addButton("&Later", QMessageBox.ButtonRole.RejectRole)
        later.setToolTip("Keep the autosaved work and ask again at the next start")
        box.setDefaultButton(restore)
        # Esc, the title bar's close button and quitting the app answer "Later": without an
        # escape button a QMessageBox refuses to close, and QApplication.quit() with it.
        box.setEscapeButton(later)
        self.restore_box = box

        def answered(_result: int) -> None:
            self.restore_box = None
            clicked = box.clickedButton()
            box.deleteLater()
            if clicked is restore:
                # work restored a moment ago (another autosave) is unsaved: ask first
                if not self.maybe_save("restoring other autosaved work"):
                    self._later_all = True
                    return
                self.restore(item)
            elif clicked is discard:
                item.discard()
            else:  # Later, Esc, closed (also by quitting): keep them all for the next start
                self._later_all = True
                return
            QTimer.singleShot(0, self, self.offer_restore)  # the next one, if any

        box.finished.connect(answered)
        box.open()

    def restore(self, item: Autosaved) -> None:
        """Put autosaved work back as unsaved changes (on top of its file, when it has one,
        so Undo goes back to the saved version)."""
        source = item.source
        base = None
        if source is not None and is_regular(source):
            try:
                base = load_config(source)
            except ConfigError:
                base = None
        if base is not None:
            self.window.open_config(base, source)
        else:
            self.window.open_config(Config(name=item.config.name), None)
        self.pipeline.set_config(item.config, "restore autosave")
        # The autosave stays (locked by this window) until the restored work is saved or
        # autosaved again: a crash in between offers it once more.
        self._drop_restored()  # the work restored before this one was saved or discarded
        item.claim()
        self.restored = item
        self._schedule_autosave()
        self._status(f"Restored {item.describe()}")


def _stem(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip()
    return safe if len(safe) <= STEM_CHARS else safe_stem(name)
