"""Errors nobody planned for: an exception that escapes a slot, an event handler or a worker
thread is shown in a dialog with the traceback to copy, and the app goes on.

``ErrorReporter(window)`` shows them; ``install()`` makes it ``sys.excepthook`` and
``threading.excepthook`` (``gui.app.main`` does, tests may). An exception raised in another
thread is forwarded to the GUI thread through a queued signal. The same error repeating (a
paint handler failing on every frame) bumps a counter on its open dialog instead of opening
another one.
"""

from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

MAX_OPEN = 3  # more dialogs than this at once help nobody: the rest go to stderr only
MAX_PRINTED = 3  # tracebacks of one error printed to stderr; repeats are only counted
OUT_OF_MEMORY_TITLE = "Out of memory"
OUT_OF_MEMORY = ("convexplorer ran out of memory: make the input smaller, use fewer channels or "
                 "a larger stride. Your work is still open.")
ISSUE_HINT = ("This is a bug in convexplorer. Your work is still open; saving it now is a good "
              "idea. Copy the details into a bug report.")


def format_exception(exc_type, exc, tb: TracebackType | None) -> str:
    return "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()


def exception_summary(exc_type, exc) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc_type.__name__}: {text}" if text else exc_type.__name__


class ErrorDialog(QDialog):
    """A non-modal window: what went wrong in one line, the details (selectable, with a Copy
    button) and how often it happened."""

    def __init__(self, title: str, message: str, details: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("errorDialog")
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.details = details
        self.count = 1
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(32, 32))
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        self.message = QLabel(message, self)
        self.message.setObjectName("errorMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.message, 1)
        layout.addLayout(top)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("errorCount")
        self.count_label.setVisible(False)
        layout.addWidget(self.count_label)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("errorDetails")
        self.text.setReadOnly(True)
        self.text.setPlainText(details)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setMinimumSize(560, 220)
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(self)
        self.copy_button = QPushButton("&Copy details", self)
        self.copy_button.setObjectName("copyDetails")
        self.copy_button.clicked.connect(self.copy_details)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.close)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(f"{self.message.text()}\n\n{self.details}")
        self.copy_button.setText("Copied")

    def repeated(self) -> None:
        self.count += 1
        self.count_label.setText(f"This happened {self.count} times.")
        self.count_label.setVisible(True)


class ErrorReporter(QObject):
    """Shows unexpected exceptions in ErrorDialogs parented to ``parent`` (the main window)."""

    dialogShown = Signal(object)  # the ErrorDialog, when a new one opens
    # any thread -> GUI thread (queued): title, message, details
    _forwarded = Signal(str, str, str)

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.window = parent
        self.dialogs: dict[tuple[str, str], ErrorDialog] = {}
        self.reported = 0
        self._printed: dict[str, int] = {}
        self._installed = False
        self._previous_hooks = (None, None)
        self._showing = False
        self._forwarded.connect(self.report, Qt.ConnectionType.QueuedConnection)

    # -- hooks -------------------------------------------------------------------------------
    def install(self) -> None:
        """Become ``sys.excepthook`` and ``threading.excepthook`` (``uninstall`` undoes it)."""
        if self._installed:
            return
        self._previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous_hooks[0]
        if threading.excepthook == self.thread_excepthook:
            threading.excepthook = self._previous_hooks[1]
        self._installed = False

    @property
    def installed(self) -> bool:
        return self._installed

    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.report_exception(exc_type, exc, tb)

    def thread_excepthook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a worker thread"
        self.report_exception(args.exc_type, args.exc_value, args.exc_traceback,
                              where=f"in thread {name}")

    # -- reporting ---------------------------------------------------------------------------
    def report_exception(self, exc_type, exc, tb, where: str = "") -> None:
        """Show an exception (from any thread) in a dialog; also printed to stderr. Running out
        of memory is no bug: it gets its own short message."""
        details = format_exception(exc_type, exc, tb)
        if issubclass(exc_type, MemoryError):
            print(f"convexplorer: {OUT_OF_MEMORY}", file=sys.stderr)
            if threading.current_thread() is threading.main_thread():
                self.report(OUT_OF_MEMORY_TITLE, OUT_OF_MEMORY, details)
            else:
                self._forwarded.emit(OUT_OF_MEMORY_TITLE, OUT_OF_MEMORY, details)
            return
        summary = exception_summary(exc_type, exc)
        seen = self._printed.get(summary, 0)
        self._printed[summary] = seen + 1
        if seen < MAX_PRINTED:  # an error in a paint handler repeats every frame
            print(f"convexplorer: unexpected error{' ' + where if where else ''}:\n{details}",
                  file=sys.stderr)
        message = (f"Something went wrong{' ' + where if where else ''}: {summary}"
                   f"\n\n{ISSUE_HINT}")
        if threading.current_thread() is threading.main_thread():
            self.report("Unexpected error", message, details)
        else:
            self._forwarded.emit("Unexpected error", message, details)

    def report(self, title: str, message: str, details: str) -> ErrorDialog | None:
        """Show ``message`` with ``details`` (GUI thread only). Returns the dialog, or None
        when too many are open already."""
        self.reported += 1
        key = (title, message)
        dialog = self.dialogs.get(key)
        if dialog is not None:
            dialog.repeated()
            return dialog
        if len(self.dialogs) >= MAX_OPEN or self._showing:
            self._status(f"{title}: {message.splitlines()[0]}")
            return None
        self._showing = True  # an error while building the dialog must not recurse
        try:
            dialog = ErrorDialog(title, message, details, self.window)
            dialog.finished.connect(lambda _r, k=key: self.dialogs.pop(k, None))
            dialog.destroyed.connect(lambda _o=None, k=key: self.dialogs.pop(k, None))
            self.dialogs[key] = dialog
            dialog.show()
            self._status(f"{title}: {message.splitlines()[0]}")
        finally:
            self._showing = False
        self.dialogShown.emit(dialog)
        return dialog

    def _status(self, text: str) -> None:
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 15000)

    def close_all(self) -> None:
        for dialog in list(self.dialogs.values()):
            dialog.close()
        self.dialogs.clear()
