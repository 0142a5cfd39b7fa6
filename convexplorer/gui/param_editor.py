"""One editor per catalogue parameter kind: spin boxes with the catalogue's bounds, paired boxes
with a lock for per-dimension sizes (or per side, for the padding layers), check boxes, combo
boxes, a line of numbers for tuples of any length (LayerNorm's normalized_shape, Upsample's
size and scale_factor), an "auto" toggle for parameters that follow the previous layer, a
"None" toggle for nullable ones, and a chooser of earlier layers for a merge's ``from`` (one,
or a checkable list for Concat).

An editor shows a value and reports the user's edits (``valueEdited``); it never writes to the
pipeline itself. Programmatic updates (``set_value``) emit nothing.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QToolButton,
    QWidget,
)

from ..model.catalogue import BOOL, CHOICE, FLOAT, FLOATS, INT, INTS, LAYERS, PADDING, Param
from ..model.spec import UNSET

DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
# The sides of a padding layer, as short prefixes of its boxes (their tooltips say the word).
SIDE_MARKS = {"left": "\u2190", "right": "\u2192", "top": "\u2191", "bottom": "\u2193"}
NUMBER = "number"  # padding given as numbers, as opposed to 'same' / 'valid'


def _fits(spin: QSpinBox | QDoubleSpinBox, value: Any) -> bool:
    """Whether ``spin`` can show ``value`` as it is (Qt raises OverflowError beyond int32)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(spin, QSpinBox) and not isinstance(value, int):
        return False
    return spin.minimum() <= value <= spin.maximum()  # False for nan as well


def parse_numbers(text: str, ints: bool, tuple_only: bool = False):
    """'2, 3' -> (2, 3); '2' -> 2 (or (2,) when ``tuple_only``); '(4, -1)' -> (4, -1).
    ValueError for anything else."""
    body = text.strip().strip("()[]").replace(";", ",")
    parts = [p for p in body.replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError(text)
    items = tuple(int(p) if ints else float(p) for p in parts)
    if ints is False and any(v != v or v in (float("inf"), float("-inf")) for v in items):
        raise ValueError(text)
    if len(items) == 1 and not tuple_only and not text.strip().startswith(("(", "[")):
        return items[0]
    return items


def numbers_text(value) -> str:
    """A value of a numbers field as the user types it: 2 or 2, 3."""
    if isinstance(value, tuple):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


class FloatSpinBox(QDoubleSpinBox):
    """A double spin box that shows 1e-05 and 0.01 as such, not as 0.000010 / 0.010000."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            partial = text.strip().lower()
            if partial in ("", "-", ".", "-.") or partial.endswith(("e", "e-", "e+")):
                return QValidator.State.Intermediate, text, pos
            return QValidator.State.Invalid, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


class ParamEditor(QFrame):
    """The editor of one parameter ``param`` of a layer with ``dims`` spatial dimensions."""

    valueEdited = Signal(str, object)  # parameter name, new value (UNSET: follow / default)
    focused = Signal(str)  # parameter name, when one of its widgets gets focus

    def __init__(self, param: Param, dims: int | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.dims = dims or 1
        self.setObjectName("paramField")
        self.setProperty("invalid", False)
        self.problem: str | None = None
        self.toggle: QCheckBox | None = None
        self.spins: list[QSpinBox | QDoubleSpinBox] = []
        self.check: QCheckBox | None = None
        self.combo: QComboBox | None = None
        self.mode: QComboBox | None = None
        self.lock: QToolButton | None = None
        self.line: QLineEdit | None = None
        self.typing_problem: str | None = None  # the line's text is no list of numbers
        self._base_side_tips: dict[QWidget, str] = {}  # a padding box -> its side
        self.refs: QComboBox | None = None  # LAYERS, one reference
        self.ref_button: QToolButton | None = None  # LAYERS, several: a checkable menu
        self._choices: list[tuple[Any, str]] = []  # (reference, text) of the earlier layers
        self._ref_value: tuple = ()  # what ref_button shows
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 1, 2, 1)
        layout.setSpacing(4)
        self._build(layout)
        self.icon = QLabel(self)
        self.icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(16, 16))
        self.icon.setVisible(False)
        layout.addWidget(self.icon)
        self._base_tips = {w: w.toolTip() for w in (self.lock, self.toggle, self.mode)
                           if w is not None}
        for spin, side in self._base_side_tips.items():  # the padding of one side
            self._base_tips[spin] = html.escape(f"{side}: {param.help}", quote=False)
        for w in self.findChildren(QWidget):
            w.installEventFilter(self)
        self._update_tooltip()

    # -- building ----------------------------------------------------------------------------
    def _build(self, layout: QHBoxLayout) -> None:
        p = self.param
        if p.kind == BOOL:
            self.check = QCheckBox(self)
            self.check.toggled.connect(self._emit)
            layout.addWidget(self.check)
            layout.addStretch(1)
            if p.nullable:  # Upsample's align_corners: True, False or None
                self._add_toggle(layout)
            return
        if p.kind in (INTS, FLOATS):
            self.line = QLineEdit(self)
            self.line.setPlaceholderText("e.g. 2, 3" if p.kind == INTS else "e.g. 2 or 1.5, 2")
            self.line.textEdited.connect(self._on_line)
            layout.addWidget(self.line, 1)
            if p.auto or p.nullable:
                self._add_toggle(layout)
            return
        if p.kind == CHOICE:
            self.combo = QComboBox(self)
            self.combo.addItems(list(p.choices))
            self.combo.currentTextChanged.connect(self._emit)
            layout.addWidget(self.combo, 1)
            return
        if p.kind == LAYERS:
            self._build_refs(layout)
            return
        if p.kind == PADDING:
            self.mode = QComboBox(self)
            self.mode.addItems([NUMBER] + [repr(c) for c in p.choices])
            self.mode.setToolTip("numbers, 'same' or 'valid'")
            # wide enough to read "number" (it was cut to "numbe"); no wider, so that a 3-D
            # padding row (the box and three numbers) still fits the dock
            self.mode.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.mode.setMinimumWidth(self.mode.fontMetrics().horizontalAdvance(NUMBER) + 34)
            self.mode.currentIndexChanged.connect(self._on_mode)
            layout.addWidget(self.mode)
        count = (p.count or self.dims) if p.is_size else 1
        names = p.item_names if p.count else DIM_NAMES.get(self.dims, ())
        for j in range(count):
            spin = FloatSpinBox(self) if p.kind == FLOAT else QSpinBox(self)
            # the catalogue's bounds (every number has a maximum a spin box holds)
            hi = p.maximum
            lo = p.minimum if p.minimum is not None else -hi
            if p.item_nullable:
                lo -= 1  # one below the minimum stands for None
                spin.setSpecialValueText("None")
            if p.kind == FLOAT:
                spin.setRange(float(lo), float(hi))
            else:
                spin.setRange(int(lo), int(hi))
            spin.setKeyboardTracking(True)
            spin.setMinimumWidth(46)  # the default fits 2**31 and is wider than a dock
            spin.setAccelerated(True)
            if p.is_size and count > 1 and j < len(names):
                spin.setPrefix(f"{SIDE_MARKS.get(names[j], names[j])} ")
                if names[j] in SIDE_MARKS:
                    self._base_side_tips[spin] = names[j]
            spin.valueChanged.connect(lambda _v, j=j: self._on_spin(j))
            self.spins.append(spin)
            layout.addWidget(spin, 1)
        if p.is_size and count > 1:
            self.lock = QToolButton(self)
            self.lock.setCheckable(True)
            self.lock.setChecked(True)
            self.lock.setAutoRaise(True)
            self.lock.setText("=")
            self.lock.setToolTip("Keep all dimensions equal (one int instead of a tuple)"
                                 if not p.count else "Keep all sides equal (one int instead "
                                                     "of a tuple)")
            self.lock.toggled.connect(self._on_lock)
            layout.addWidget(self.lock)
        if p.auto or p.nullable:
            self._add_toggle(layout)

    def _add_toggle(self, layout: QHBoxLayout) -> None:
        p = self.param
        self.toggle = QCheckBox("auto" if p.auto else "None", self)
        self.toggle.setToolTip(
            "Follow the previous layer's output (uncheck to pin a value)" if p.auto
            else f"{p.name}=None" + (" (the default)" if p.default is None else ""))
        self.toggle.toggled.connect(self._on_toggle)
        layout.addWidget(self.toggle)

    def _build_refs(self, layout: QHBoxLayout) -> None:
        if self.param.multiple:
            self.ref_button = QToolButton(self)
            self.ref_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            self.ref_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.ref_button.setSizePolicy(QSizePolicy.Policy.Expanding,
                                          QSizePolicy.Policy.Fixed)
            self.ref_button.setMenu(QMenu(self.ref_button))
            layout.addWidget(self.ref_button, 1)
        else:
            self.refs = QComboBox(self)
            self.refs.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.refs.setMinimumContentsLength(8)
            self.refs.activated.connect(self._emit)
            layout.addWidget(self.refs, 1)

    def set_choices(self, choices: list[tuple[Any, str]]) -> None:
        """The layers a reference may name: (reference, text), the input and every earlier
        layer (``model.merges.reference_choices``)."""
        self._choices = list(choices)

    def widgets(self) -> list[QWidget]:
        """The input widgets (for focus handling and tests)."""
        out: list[QWidget] = [w for w in (self.mode, self.check, self.combo, self.line,
                                          self.refs, self.ref_button) if w is not None]
        return out + list(self.spins) + [w for w in (self.lock, self.toggle) if w is not None]

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FocusIn:
            self.focused.emit(self.param.name)
        return False

    # -- showing a value ---------------------------------------------------------------------
    def set_value(self, value: Any, explicit: bool, followed: Any = None) -> None:
        """Show ``value`` (explicit or the default). ``followed``: the value an auto parameter
        follows, or what a None stands for (a pool's stride: its kernel_size)."""
        for w in self.widgets():
            w.blockSignals(True)
        try:
            self._show(value, explicit, followed)
        finally:
            for w in self.widgets():
                w.blockSignals(False)
        self._update_enabled()

    def _show(self, value: Any, explicit: bool, followed: Any) -> None:
        p = self.param
        if p.kind == LAYERS:
            self._show_refs(value)
            return
        if self.check is not None:
            if self.toggle is not None:
                self.toggle.setChecked(value is None)
            self.check.setChecked(bool(value))
            return
        if self.line is not None:
            if self.toggle is not None:
                is_auto = p.auto and not explicit
                self.toggle.setChecked(is_auto or (p.nullable and value is None))
                if is_auto or value is None:
                    value = followed
            self.typing_problem = None
            try:  # what the user is typing stays as typed while it means the value ("1.")
                typed = parse_numbers(self.line.text(), p.kind == INTS, p.tuple_only)
            except ValueError:
                typed = UNSET
            if not (self.line.hasFocus() and typed == value):
                self.line.setText("" if value is None else numbers_text(value))
            return
        if self.combo is not None:
            if isinstance(value, str):
                self.combo.setCurrentText(value)
            return
        if self.toggle is not None:
            is_auto = p.auto and not explicit
            self.toggle.setChecked(is_auto or (p.nullable and value is None))
            if is_auto or value is None:
                value = followed
        if self.mode is not None:
            if isinstance(value, str):
                self.mode.setCurrentText(repr(value))
                return
            self.mode.setCurrentIndex(0)
        if value is None and not p.item_nullable:
            return
        items = value if isinstance(value, tuple) else (value,) * len(self.spins)
        if len(items) != len(self.spins):
            return  # a wrong-length tuple from a file: flagged by validation, shown as is
        for spin, item in zip(self.spins, items):
            if item is None:
                spin.setValue(spin.minimum())
            elif _fits(spin, item):
                spin.setValue(item)
            # else a value from a file the box cannot hold (10**400, nan, 2.5 for an int):
            # validation flags the field; the box keeps what it showed
        if self.lock is not None:
            self.lock.setChecked(len(set(items)) == 1)

    def _choice_of(self, ref: Any) -> int:
        """Which choice ``ref`` names (-1: none): the same reference, or the same layer by
        index (a config may name a layer by index where the chooser uses its name)."""
        for i, (value, _text) in enumerate(self._choices):
            if type(value) is type(ref) and value == ref:  # True is not 1 here
                return i
        if (isinstance(ref, int) and not isinstance(ref, bool)) or (
                isinstance(ref, str) and ref.isascii() and ref.isdigit()):
            prefix = f"{int(ref)} "
            for i, (_value, text) in enumerate(self._choices):
                if text.startswith(prefix):
                    return i
        return -1

    def _text_of(self, ref: Any) -> str:
        at = self._choice_of(ref)
        if at >= 0:
            return self._choices[at][1]
        return self.tr("{ref} (not an earlier layer)").format(
            ref=repr(ref) if isinstance(ref, str) else ref)

    def _show_refs(self, value: Any) -> None:
        items = tuple(value) if isinstance(value, tuple) else (() if value is None else (value,))
        if self.refs is not None:
            self.refs.clear()
            for ref, text in self._choices:
                self.refs.addItem(text, ref)
            current = items[0] if items else None
            at = -1 if current is None else self._choice_of(current)
            if at < 0 and current is not None:  # a reference that names no earlier layer
                self.refs.addItem(self._text_of(current), current)
                at = self.refs.count() - 1
            self.refs.setCurrentIndex(at)
            return
        self._ref_value = items
        menu = self.ref_button.menu()
        menu.clear()
        chosen = {self._choice_of(r) for r in items}
        entries = [(ref, text, i in chosen) for i, (ref, text) in enumerate(self._choices)]
        entries += [(r, self._text_of(r), True) for r in items if self._choice_of(r) < 0]
        for ref, text, checked in entries:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(checked)
            action.setData(ref)
            action.triggered.connect(lambda _checked, a=action: self._on_ref_toggled(a))
        self._show_ref_text()

    def _show_ref_text(self) -> None:
        self.ref_button.setText(", ".join(str(r) for r in self._ref_value)
                                or self.tr("(choose layers)"))

    def _on_ref_toggled(self, action) -> None:
        ref = action.data()
        if action.isChecked():
            self._ref_value = self._ref_value + (ref,)
        else:  # every reference to that layer, however it was written
            at = self._choice_of(ref)
            self._ref_value = tuple(r for r in self._ref_value if not (
                (type(r) is type(ref) and r == ref) or (at >= 0 and self._choice_of(r) == at)))
        self._show_ref_text()
        self._emit()

    def _update_enabled(self) -> None:
        off = self.toggle is not None and self.toggle.isChecked()
        for w in (self.check, self.line):
            if w is not None and self.toggle is not None:
                w.setEnabled(not off)
        numbers = self.mode is None or self.mode.currentIndex() == 0
        for spin in self.spins:
            spin.setEnabled(not off and numbers)
        if self.lock is not None:
            self.lock.setEnabled(not off and numbers)

    def set_problem(self, problem: str | None) -> None:
        """Mark the field invalid with ``problem`` (None clears it)."""
        self.problem = problem
        self.setProperty("invalid", bool(problem))
        self.icon.setVisible(bool(problem))
        self.style().unpolish(self)
        self.style().polish(self)
        self._update_tooltip()

    @property
    def invalid(self) -> bool:
        return bool(self.problem)

    def _update_tooltip(self) -> None:
        prefix = ""
        if self.problem:
            prefix = (f"<b style='color:#c62828'>{html.escape(self.problem, quote=False)}</b>"
                      "<br><br>")
        for w in [self, self.icon, *self.widgets()]:
            w.setToolTip(prefix + self._base_tips.get(w, html.escape(self.param.help,
                                                                     quote=False)))

    # -- reading the value -------------------------------------------------------------------
    def value(self) -> Any:
        """The value the widgets show now (UNSET: auto)."""
        p = self.param
        if self.refs is not None:
            return self.refs.currentData()
        if self.ref_button is not None:
            return self._ref_value
        if self.toggle is not None and self.toggle.isChecked():
            return UNSET if p.auto else None
        if self.check is not None:
            return self.check.isChecked()
        if self.combo is not None:
            return self.combo.currentText()
        if self.line is not None:
            return parse_numbers(self.line.text(), p.kind == INTS, p.tuple_only)
        if self.mode is not None and self.mode.currentIndex() > 0:
            return p.choices[self.mode.currentIndex() - 1]
        vals = [None if (p.item_nullable and s.value() == s.minimum()) else s.value()
                for s in self.spins]
        if p.kind == FLOAT:
            return float(vals[0])
        if p.kind == INT or len(vals) == 1:
            return vals[0]
        if self.lock is not None and self.lock.isChecked() and vals[0] is not None:
            return vals[0]
        return tuple(vals)

    def _emit(self, *_args) -> None:
        try:
            value = self.value()
        except ValueError:  # a numbers line that does not read (yet): said on the field
            self._on_line(self.line.text() if self.line is not None else "")
            return
        self.valueEdited.emit(self.param.name, value)

    def _on_line(self, text: str) -> None:
        """A numbers line edited: emit what it reads, or mark it until it reads."""
        p = self.param
        try:
            value = parse_numbers(text, p.kind == INTS, p.tuple_only)
        except ValueError:
            self.typing_problem = (self.tr("Type whole numbers separated by commas, such as "
                                           "2, 3.") if p.kind == INTS else
                                   self.tr("Type numbers separated by commas, such as 1.5, 2."))
            self.set_problem(self.typing_problem)
            return
        if self.typing_problem is not None:
            self.typing_problem = None
            self.set_problem(None)
        self.valueEdited.emit(p.name, value)

    def _on_spin(self, j: int) -> None:
        if self.lock is not None and self.lock.isChecked():
            for k, spin in enumerate(self.spins):
                if k != j:
                    spin.blockSignals(True)
                    spin.setValue(self.spins[j].value())
                    spin.blockSignals(False)
        self._emit()

    def _on_lock(self, locked: bool) -> None:
        if locked:
            self._on_spin(0)

    def _on_toggle(self, _checked: bool) -> None:
        self._update_enabled()
        self._emit()

    def _on_mode(self, _index: int) -> None:
        self._update_enabled()
        self._emit()

