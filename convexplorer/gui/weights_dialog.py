"""File > Load Weights: which checkpoint keys go to which layer. Layers are matched by name
(a prefix such as ``module.`` is found and stripped; the box shows it and takes another); a
layer can be given any module of the file by hand, or left out. The report below says what
``load_state_dict(strict=False)`` would: the keys matched, missing and unexpected, and any
whose shapes differ, which keeps **Load** disabled: nothing is half-loaded."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..model.checkpoint_match import MatchReport, guess_prefix, match, modules_of

NOT_LOADED = "(not loaded)"


class WeightsDialog(QDialog):
    """The mapping of a checkpoint's keys to the stack's layers (see the module docstring).
    ``report`` is the match to apply once accepted."""

    def __init__(self, listing: dict, note: str, states: list, shown: str, stored: str,
                 parent=None):
        super().__init__(parent)
        self.setObjectName("weightsDialog")
        self.setWindowTitle(self.tr("Load Weights from {file}").format(file=shown))
        self.listing, self.states, self.stored = listing, states, stored
        self.mapping: dict[int, str | None] = {}
        self._filling = False
        intro = QLabel(self.tr(
            "{file} has {count} tensors{where}. Layers take the keys of their name (conv1 takes "
            "conv1.weight and conv1.bias); choose another module for a layer, or leave it out. "
            "Layers not loaded keep their weights.").format(
                file=shown, count=len(listing), where=f" ({note})" if note else ""))
        intro.setWordWrap(True)
        self.prefix = QLineEdit(guess_prefix(listing, states))
        self.prefix.setObjectName("weightsPrefix")
        self.prefix.setToolTip(self.tr("Stripped from the front of every key before matching: "
                                       "'module.' (DataParallel), 'features.', 'model.'..."))
        form = QFormLayout()
        form.addRow(self.tr("prefix to strip"), self.prefix)
        self.table = QTableWidget(len(states), 3)
        self.table.setObjectName("weightsMapping")
        self.table.setHorizontalHeaderLabels([self.tr("layer"), self.tr("checkpoint module"),
                                              self.tr("shapes")])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        modules = modules_of(listing)
        self.combos: list[QComboBox] = []
        for row, state in enumerate(states):
            item = QTableWidgetItem(state.label)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, 0, item)
            combo = QComboBox()
            combo.addItem(self.tr(NOT_LOADED), None)
            for module in modules:
                combo.addItem(module or self.tr("(bare keys)"), module)
            combo.currentIndexChanged.connect(lambda _i, s=state, c=combo: self._on_mapped(s, c))
            self.table.setCellWidget(row, 1, combo)
            self.combos.append(combo)
        self.report_text = QPlainTextEdit()
        self.report_text.setObjectName("weightsReport")
        self.report_text.setReadOnly(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = self.buttons.addButton(self.tr("Load"),
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setObjectName("loadWeights")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.table, 2)
        layout.addWidget(QLabel(self.tr("What load_state_dict(strict=False) would say:")))
        layout.addWidget(self.report_text, 1)
        layout.addWidget(self.buttons)
        self.resize(720, 460)
        self.prefix.textEdited.connect(lambda _t: self.refresh())
        self.report: MatchReport = match(listing, states, stored, self.prefix.text())
        self.refresh()

    def refresh(self) -> None:
        """Match again with the prefix and the hand-made choices, and show it."""
        self.report = match(self.listing, self.states, self.stored, self.prefix.text(),
                            self.mapping)
        self._filling = True
        try:
            for row, (state, combo) in enumerate(zip(self.states, self.combos)):
                where = self.report.assigned.get(state.index)
                at = combo.findData(where) if where is not None else 0
                combo.setCurrentIndex(max(at, 0))
                self.table.setItem(row, 2, self._status(state, where))
        finally:
            self._filling = False
        self.report_text.setPlainText("\n".join(
            self.report.lines() + [str(p) for p in self.report.problems]))
        self.load_button.setEnabled(self.report.ok)

    def _status(self, state, where) -> QTableWidgetItem:
        from ..model.shapes import fmt_shape

        bad = [m for m in self.report.mismatched if m[3] == state.index]
        if where is None:
            text, colour = self.tr("not loaded: keeps its weights"), "#777777"
        elif bad:
            key, found, wanted, _i, _p = bad[0]
            text = self.tr("{key} is {found}, the layer needs {wanted}").format(
                key=key, found=fmt_shape(found), wanted=fmt_shape(wanted))
            colour = "#c62828"
        else:
            text = ", ".join(f"{p} {fmt_shape(s)}" for p, s in state.expected.items()
                             if f"{where}.{p}" in self.listing or p in self.listing)
            colour = "#2e7d32"
        item = QTableWidgetItem(text)
        item.setForeground(QColor(colour))
        item.setToolTip(text)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        return item

    def _on_mapped(self, state, combo: QComboBox) -> None:
        if not self._filling:
            self.mapping[state.index] = combo.currentData()
            self.refresh()
