"""The window's actions and menus (File, Edit, Layer, View, Help), kept apart from the window's
wiring so each file reads in one sitting."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QMenu, QStyle

from .layer_list import build_palette_menu


def tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


def make_actions(window) -> dict[str, QAction]:
    """The QActions the window's menus and buttons share, keyed by name."""
    style = window.style()

    def action(key, text, slot, shortcut=None, tip="", icon=None):
        a = QAction(text, window)
        a.setObjectName(f"action_{key}")
        if shortcut is not None:
            if isinstance(shortcut, list | tuple):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        if icon is not None:
            a.setIcon(style.standardIcon(icon))
        a.triggered.connect(slot)
        return a

    sp = QStyle.StandardPixmap
    actions = {
        "undo": action("undo", "&Undo", window.pipeline.undo,
                       QKeySequence.StandardKey.Undo),
        "redo": action("redo", "&Redo", window.pipeline.redo,
                       [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]),
        "duplicate": action("duplicate", "&Duplicate", window.duplicate_layer, "Ctrl+D",
                            "Duplicate the selected layer (Ctrl+D)", sp.SP_FileDialogNewFolder),
        "remove": action("remove", "&Remove", window.remove_layer,
                         QKeySequence.StandardKey.Delete,
                         "Remove the selected layer (Delete)", sp.SP_DialogDiscardButton),
        "move_up": action("move_up", "Move &Up", lambda: window.move_layer(-1), "Alt+Up",
                          "Move the selected layer up (Alt+Up)", sp.SP_ArrowUp),
        "move_down": action("move_down", "Move Do&wn", lambda: window.move_layer(1),
                            "Alt+Down", "Move the selected layer down (Alt+Down)",
                            sp.SP_ArrowDown),
        "rename": action("rename", "Re&name\u2026", window.rename_layer, "F2",
                         "Name the selected layer (F2)"),
        "insert_flatten": action(
            "insert_flatten", tr("Insert &Flatten Before"), lambda: window.insert_flatten_before(),
            tip=tr("Insert a Flatten before the selected layer: a Linear after a conv map then "
                   "sees every value of a batch item")),
        "run": action("run", "Run &Now", window.run_now, "F5",
                      "Run the stack again now (it also runs after every edit)",
                      sp.SP_MediaPlay),
        "stop": action("stop", "&Stop Run", window.stop_run, "Esc",
                       "Cancel the run in progress (Esc); the panels keep the last result",
                       sp.SP_MediaStop),
        "quit": action("quit", "&Quit", window.close, QKeySequence("Ctrl+Q")),
        "concepts": action("concepts", "What Do the &Parameters Do?", window.show_concepts,
                           QKeySequence.StandardKey.HelpContents),
        "about": action("about", "&About convexplorer", window.show_about),
    }
    actions["stop"].setEnabled(False)  # while a run waits or runs; Esc is free otherwise
    # Delete must not steal the key from text fields: only while the stack has focus.
    actions["remove"].setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    return actions


def build_menus(window) -> dict[str, QMenu]:
    """The menu bar; returns the menus by key ("file", "edit", "layer", "view", "help")."""
    bar = window.menuBar()
    a = window.window_actions
    menus = {
        "file": bar.addMenu("&File"),
        "edit": bar.addMenu("&Edit"),
        "layer": bar.addMenu("&Layer"),
        "view": bar.addMenu("&View"),
        "help": bar.addMenu("&Help"),
    }
    window.file_actions.populate(menus["file"])
    menus["file"].addSeparator()
    menus["file"].addAction(a["quit"])

    menus["edit"].addAction(a["undo"])
    menus["edit"].addAction(a["redo"])

    layer = menus["layer"]
    add = layer.addMenu("&Add")
    add.setObjectName("menu_add_layer")
    build_palette_menu(add, window.add_layer)
    layer.addSeparator()
    for key in ("duplicate", "remove", "move_up", "move_down", "rename", "insert_flatten"):
        layer.addAction(a[key])
    layer.addSeparator()
    layer.addAction(a["run"])
    layer.addAction(a["stop"])

    view = menus["view"]
    for dock in window.docks.values():
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    reset = view.addAction("&Reset Layout")
    reset.triggered.connect(window.reset_layout)

    menus["help"].addAction(a["concepts"])
    menus["help"].addSeparator()
    menus["help"].addAction(a["about"])
    return menus


class FieldUndo(QObject):
    """Ctrl+Z / Ctrl+Y / Ctrl+Shift+Z in a field of ``window`` mean the pipeline's undo and redo
    (fields commit every keystroke to the pipeline), not the field's own: the field is told to
    let the shortcut through. Each field is watched from when it first gets the focus (a
    shortcut is offered to the focus widget first) -- not with an application-wide event
    filter, which is a Python call for every event of every widget and made drawing a result
    take 2 to 3 times as long."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._app = QApplication.instance()
        if self._app is not None:
            self._app.focusChanged.connect(self._on_focus_changed)

    def stop(self) -> None:
        if self._app is not None:
            self._app.focusChanged.disconnect(self._on_focus_changed)
            self._app = None

    def _on_focus_changed(self, _old, new) -> None:
        if isinstance(new, QLineEdit | QAbstractSpinBox) and self.window.isAncestorOf(new):
            new.installEventFilter(self)  # installing twice keeps one filter

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (event.type() == QEvent.Type.ShortcutOverride
                and (event.matches(QKeySequence.StandardKey.Undo)
                     or event.matches(QKeySequence.StandardKey.Redo)
                     or event.keyCombination().toCombined()
                     == QKeySequence("Ctrl+Shift+Z")[0].toCombined())):
            event.ignore()
            return True
        return False
