"""The Weights section of the layer form: where the selected layer's weights come from (torch's
init, preset kernels, edited numbers, a checkpoint), the preset kernels and the channels they
sit on, and buttons to edit the numbers (in the Values tab) or load a checkpoint.

It shows the spec and reports edits (``weightsEdited``) and requests
(``editRequested``, ``loadRequested``); the window turns them into pipeline edits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..model.kernels import KERNELS, gabor_defaults, kernels_for
from ..model.spec import LayerSpec
from ..model.weight_checks import fmt_params, param_shapes
from ..model.weights import INIT, SOURCES, PresetKernel, WeightSpec

ALL = -1  # the spin boxes' "all" (None in the spec)


class WeightsEditor(QGroupBox):
    """The weight source of one layer (see the module docstring)."""

    weightsEdited = Signal(int, object)  # layer index, WeightSpec
    # layer index, whether to keep its numbers as they are now as edited numbers: edit them in
    # the Values tab
    editRequested = Signal(int, bool)
    loadRequested = Signal()  # File > Load Weights

    def __init__(self, parent: QWidget | None = None):
        super().__init__(self.tr("Weights"), parent)
        self.setObjectName("weightsEditor")
        self.index: int | None = None
        self.spec: LayerSpec | None = None
        self.info = None
        self._quiet = False
        self._want_row: int | None = None  # the kernel to select once the list is refilled
        self.source_box = QComboBox()
        self.source_box.setObjectName("weightsSource")
        texts = {"init": self.tr("torch's init (seed + layer index)"),
                 "preset": self.tr("preset kernels"), "edited": self.tr("edited numbers"),
                 "checkpoint": self.tr("checkpoint file")}
        for source in SOURCES:
            self.source_box.addItem(texts[source], source)
        self.source_box.setToolTip(self.tr(
            "Where this layer's weights come from: torch's initialisation (layer i is made "
            "right after torch.manual_seed(seed + i)), classic kernels (convolutions), numbers "
            "you typed, or a state_dict file. A layer keeps its weights while you edit other "
            "layers or the input."))
        self.kernel_list = QListWidget()
        self.kernel_list.setObjectName("presetKernels")
        self.kernel_list.setMaximumHeight(4 * self.fontMetrics().height() + 12)
        self.add_button = QPushButton(self.tr("Add kernel"))
        self.remove_button = QPushButton(self.tr("Remove kernel"))
        self.kernel_box = QComboBox()
        self.kernel_box.setObjectName("presetKernel")
        self.out_spin, self.in_spin = self._channel_spin("out"), self._channel_spin("in")
        self.sigma_spin = self._width_spin(self.tr("sigma of the Gaussian envelope (Gaussian, "
                                                   "Gabor)"))
        self.wavelength_spin = self._width_spin(self.tr("wavelength of the Gabor stripes, in "
                                                        "taps"))
        self.kernel_help = QLabel()
        self.kernel_help.setObjectName("kernelHelp")
        self.kernel_help.setWordWrap(True)
        self.kernel_help.setTextFormat(Qt.TextFormat.PlainText)
        self.preset = QWidget()
        form = QFormLayout(self.preset)
        form.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        form.addRow(self.kernel_list)
        form.addRow(buttons)
        form.addRow(self.tr("kernel"), self.kernel_box)
        channels = QHBoxLayout()
        channels.addWidget(self.out_spin)
        channels.addWidget(self.in_spin)
        form.addRow(self.tr("on weight[out, in]"), channels)
        form.addRow(self.tr("sigma"), self.sigma_spin)
        form.addRow(self.tr("wavelength"), self.wavelength_spin)
        form.addRow(self.kernel_help)
        self.note = QLabel()
        self.note.setObjectName("weightsNote")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.edit_button = QPushButton(self.tr("Edit Weights\u2026"))
        self.edit_button.setObjectName("editWeights")
        self.edit_button.setToolTip(self.tr("Type numbers into the kernels in the Values tab, "
                                            "one weight[out, in] slice at a time."))
        self.load_button = QPushButton(self.tr("Load Weights\u2026"))
        self.load_button.setToolTip(self.tr("Load a checkpoint (.pt, .safetensors, .npz) for "
                                            "the whole stack, matched by layer names."))
        actions = QHBoxLayout()
        actions.addWidget(self.edit_button)
        actions.addWidget(self.load_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_box)
        layout.addWidget(self.preset)
        layout.addWidget(self.note)
        layout.addLayout(actions)

        self.source_box.currentIndexChanged.connect(self._on_source_changed)
        self.kernel_list.currentRowChanged.connect(lambda _r: self._show_entry())
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.kernel_box.currentIndexChanged.connect(lambda _i: self._on_entry_edited())
        for spin in (self.out_spin, self.in_spin, self.sigma_spin, self.wavelength_spin):
            spin.valueChanged.connect(lambda _v: self._on_entry_edited())
        self.edit_button.clicked.connect(lambda: self._request_edit(False))
        self.load_button.clicked.connect(self.loadRequested.emit)

    def _channel_spin(self, which: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(f"preset_{which}")
        spin.setMinimum(ALL)
        spin.setSpecialValueText(self.tr("all"))
        spin.setPrefix(f"{which} ")
        spin.setToolTip(self.tr("The {which} channel of the weight this kernel is placed on, or "
                                "all of them. Pairs without a kernel are 0.").format(which=which))
        return spin

    def _width_spin(self, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 1000.0)
        spin.setDecimals(2)
        spin.setSingleStep(0.25)
        spin.setSpecialValueText(self.tr("default"))
        spin.setToolTip(tip)
        return spin

    # -- showing a layer ---------------------------------------------------------------------
    @property
    def weights(self) -> WeightSpec:
        return self.spec.weights if self.spec is not None else INIT

    def set_layer(self, index: int | None, spec: LayerSpec | None, info) -> None:
        """Show layer ``index``'s weight source; hidden for a layer without parameters."""
        self.index, self.spec, self.info = index, spec, info
        shapes = param_shapes(spec.type, info.kwargs) if spec is not None and info is not None \
            else None
        has = spec is not None and (bool(shapes) or (info is not None and info.params > 0)
                                    or not spec.weights.is_init)
        self.setVisible(has)
        if not has:
            return
        self._quiet = True
        try:
            weights = spec.weights
            self.source_box.setCurrentIndex(SOURCES.index(weights.source))
            conv = spec.type.startswith("Conv")
            item = self.source_box.model().item(SOURCES.index("preset"))
            item.setEnabled(conv or weights.source == "preset")
            item.setToolTip("" if conv else self.tr("Preset kernels are for convolution "
                                                    "layers."))
            self.preset.setVisible(weights.source == "preset")
            if weights.source == "preset":
                self._fill_preset(shapes)
        finally:
            self._quiet = False
        self.note.setText(self._note(shapes))

    def _note(self, shapes) -> str:
        weights = self.weights
        parts = []
        if shapes:
            parts.append(self.tr("Parameters: {params}.").format(params=fmt_params(shapes)))
        if weights.source == "init":
            parts.append(self.tr("Made right after torch.manual_seed(seed + {index}); a change "
                                 "of this layer's shape makes them anew.").format(
                                     index=self.index))
        elif weights.source == "preset":
            parts.append(self.tr("The bias is 0. A change of kernel_size makes the kernels "
                                 "again at the new size."))
        elif weights.source == "edited":
            parts.append(self.tr("{count} numbers you typed (or kept), saved with the "
                                 "config.").format(count=weights.size))
        else:
            parts.append(self.tr("From {file}, keys {key}*.").format(
                file=weights.file, key=f"{weights.key}." if weights.key else ""))
        problems = [p.short for p in (self.info.problems if self.info else [])
                    if p.field == "weights"]
        notes = [n.short for n in (self.info.notes if self.info else [])
                 if "weights" in n.message]
        return " ".join(parts + problems + notes)

    def _fill_preset(self, shapes) -> None:
        dims = len(shapes["weight"]) - 2 if shapes else 2
        row = self._want_row if self._want_row is not None else max(
            self.kernel_list.currentRow(), 0)
        self._want_row = None
        self.kernel_list.clear()
        for k in self.weights.kernels:
            self.kernel_list.addItem(k.describe())
        self.kernel_box.clear()
        for kernel in kernels_for(dims):
            self.kernel_box.addItem(kernel.label, kernel.name)
        if shapes:
            w = shapes["weight"]
            transpose = self.spec.type.startswith("ConvTranspose")
            n_out, n_in = (w[1], w[0]) if transpose else (w[0], w[1])
            self.out_spin.setMaximum(n_out - 1)
            self.in_spin.setMaximum(n_in - 1)
        self.kernel_list.setCurrentRow(min(row, self.kernel_list.count() - 1))
        self.remove_button.setEnabled(self.kernel_list.count() > 1)
        self._show_entry()

    def _show_entry(self) -> None:
        """The selected kernel entry in the editors under the list."""
        kernels = self.weights.kernels
        row = self.kernel_list.currentRow()
        if not 0 <= row < len(kernels):
            return
        k = kernels[row]
        quiet, self._quiet = self._quiet, True
        try:
            at = self.kernel_box.findData(k.kernel)
            if at < 0:  # a kernel of another rank, as the config has it: shown, flagged
                self.kernel_box.addItem(k.kernel, k.kernel)
                at = self.kernel_box.count() - 1
            self.kernel_box.setCurrentIndex(at)
            self.out_spin.setValue(ALL if k.out is None else k.out)
            self.in_spin.setValue(ALL if k.in_ is None else k.in_)
            self.sigma_spin.setValue(k.sigma or 0.0)
            self.wavelength_spin.setValue(k.wavelength or 0.0)
            kernel = KERNELS.get(k.kernel)
            self.sigma_spin.setEnabled(kernel is not None and "sigma" in kernel.params)
            self.wavelength_spin.setEnabled(kernel is not None and "wavelength" in kernel.params)
            self.kernel_help.setText(kernel.help if kernel else "")
            if kernel is not None and kernel.name == "gabor" and self.spec is not None:
                sigma, wavelength = gabor_defaults(self._kernel_size())
                self.sigma_spin.setSpecialValueText(self.tr("default ({value:g})").format(
                    value=sigma))
                self.wavelength_spin.setSpecialValueText(self.tr("default ({value:g})").format(
                    value=wavelength))
            else:
                self.sigma_spin.setSpecialValueText(self.tr("default (1)"))
                self.wavelength_spin.setSpecialValueText(self.tr("default"))
        finally:
            self._quiet = quiet

    def _kernel_size(self) -> tuple[int, ...]:
        shapes = param_shapes(self.spec.type, self.info.kwargs) if self.info else None
        return tuple(shapes["weight"][2:]) if shapes else (3, 3)

    # -- edits -------------------------------------------------------------------------------
    def _emit(self, weights: WeightSpec) -> None:
        if self.index is not None and weights != self.weights:
            self.weightsEdited.emit(self.index, weights)

    def _request_edit(self, keep: bool) -> None:
        if self.index is not None:
            self.editRequested.emit(self.index, keep)

    def _on_source_changed(self, _i: int) -> None:
        if self._quiet or self.index is None:
            return
        source = self.source_box.currentData()
        if source == "init":
            self._emit(INIT)
        elif source == "preset":
            self._emit(WeightSpec("preset", kernels=(PresetKernel("identity"),)))
        elif source == "edited":
            self._request_edit(True)  # the window keeps the numbers the layer has now
        elif source == "checkpoint":
            self.loadRequested.emit()
        if source in ("edited", "checkpoint"):  # shown once the window has made the change
            self._quiet = True
            self.source_box.setCurrentIndex(SOURCES.index(self.weights.source))
            self._quiet = False

    def _entry(self) -> PresetKernel:
        def channel(spin: QSpinBox) -> int | None:
            return None if spin.value() == ALL else spin.value()

        def width(spin: QDoubleSpinBox) -> float | None:
            return spin.value() if spin.isEnabled() and spin.value() > 0 else None

        return PresetKernel(self.kernel_box.currentData() or "identity", channel(self.out_spin),
                            channel(self.in_spin), width(self.sigma_spin),
                            width(self.wavelength_spin))

    def _on_entry_edited(self) -> None:
        row = self.kernel_list.currentRow()
        kernels = list(self.weights.kernels)
        if self._quiet or self.weights.source != "preset" or not 0 <= row < len(kernels):
            return
        name = self.kernel_box.currentData()
        kernel = KERNELS.get(name)
        self.sigma_spin.setEnabled(kernel is not None and "sigma" in kernel.params)
        self.wavelength_spin.setEnabled(kernel is not None and "wavelength" in kernel.params)
        kernels[row] = self._entry()
        self._emit(WeightSpec("preset", kernels=tuple(kernels)))

    def _on_add_clicked(self) -> None:
        kernels = list(self.weights.kernels)
        n = len(kernels)
        # the next output channel gets the next kernel: a bank, one kind per channel
        nxt = PresetKernel("identity", out=n if n <= self.out_spin.maximum() else None)
        self._want_row = n
        self._emit(WeightSpec("preset", kernels=tuple(kernels + [nxt])))

    def _on_remove_clicked(self) -> None:
        kernels = list(self.weights.kernels)
        row = self.kernel_list.currentRow()
        if len(kernels) > 1 and 0 <= row < len(kernels):
            del kernels[row]
            self._emit(WeightSpec("preset", kernels=tuple(kernels)))
