"""What the window does with weights: a source chosen in the layer form, a number typed into a
weight in the Values tab, kernels picked in the Activations tab for editing, File > Load
Weights (the file is read on the runner's worker, never on this thread; the mapping dialog
decides which keys go where), the eval-mode switch, and a status-bar note when a layer's
weights are made again because its own shape changed.

The window creates ``WeightActions(window)`` once its views exist and calls ``connect()``;
it relies on the window's ``pipeline``, ``runner``, ``form``, ``input_panel``, ``panels``,
``tabs``, ``report``, ``last_result`` and ``show_error``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from ..model.shapes import ShapeReport, fmt_shape
from ..model.weight_checks import param_shapes
from ..model.weights import WeightSpec, with_value

CHECKPOINT_FILTER = ("Checkpoints (*.pt *.pth *.safetensors *.npz);;PyTorch state_dict "
                     "(*.pt *.pth);;safetensors (*.safetensors);;NumPy (*.npz);;All files (*)")


def _read_for_matching(path: str, shown: str, report: ShapeReport):
    """On the worker: the checkpoint's keys and shapes and the stack's layer shapes."""
    from ..engine.weights import read_for_matching  # imports torch: worker thread only

    return read_for_matching(path, shown, report)


class WeightActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.dialog = None  # the mapping dialog, while open
        self._job: tuple[int, str, object] | None = None  # (job number, file, layers)
        self.load_action = QAction(self.tr("Load &Weights\u2026"), window)
        self.load_action.setStatusTip(self.tr("Load a checkpoint (.pt, .pth, .safetensors, "
                                              ".npz) into the layers, matched by name"))
        self.load_action.triggered.connect(lambda _c=False: self.load_weights())

    @property
    def pipeline(self):
        return self.window.pipeline

    def connect(self) -> None:
        w = self.window
        editor = w.form.weights_editor
        editor.weightsEdited.connect(self.set_weights)
        editor.editRequested.connect(self.edit_weights)
        editor.loadRequested.connect(lambda: self.load_weights())
        w.input_panel.modeChosen.connect(self.set_mode)
        w.runner.jobDone.connect(self._on_job_done)
        for panel in w.panels:
            if hasattr(panel, "weightEdited"):
                panel.weightEdited.connect(self.set_value)
            if hasattr(panel, "editWeightsRequested"):
                panel.editWeightsRequested.connect(self.show_weights)

    def _status(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- sources and numbers -----------------------------------------------------------------
    def set_weights(self, index: int, weights: WeightSpec) -> None:
        layers = self.pipeline.config.layers
        if 0 <= index < len(layers):
            self.pipeline.replace_layer(index, layers[index].with_weights(weights),
                                        "set weights", merge=("weights", index))

    def set_mode(self, mode: str) -> None:
        self.pipeline.set_config(replace(self.pipeline.config, mode=mode), f"{mode} mode")

    def _numbers_now(self, index: int) -> dict | None:
        """Layer ``index``'s parameters (and buffers) as the run made them, or as its edited
        numbers hold them; None when the last run is of other layers (one is still to
        come)."""
        config = self.pipeline.config
        spec = config.layers[index]
        if spec.weights.source == "edited":
            info = self.window.report.layers[index] if self.window.report else None
            shapes = param_shapes(spec.type, info.kwargs) if info is not None else None
            numbers = {k: n.array() for k, n in spec.weights.arrays}
            if shapes is not None and all(k in numbers and numbers[k].shape == tuple(s)
                                          for k, s in shapes.items()):
                return numbers
        result = self.window.last_result
        if result is None or result.config.layers != config.layers or \
                result.config.seed != config.seed or index >= len(result.layers):
            return None
        lr = result.layers[index]
        return {**lr.params, **lr.buffers}

    def edit_weights(self, index: int, keep: bool = False) -> None:
        """Show layer ``index``'s weight in the Values tab, ready to edit; ``keep``: make its
        numbers as they are now its edited numbers first (the source becomes "edited")."""
        if keep:
            numbers = self._numbers_now(index)
            if numbers is None:
                self._status(self.tr("The run is not finished yet; choose edited numbers again "
                                     "once the results show."))
                return
            from ..model.weights import edited

            self.set_weights(index, edited(numbers))
        self.show_weights(index, (0, 0))

    def show_weights(self, index: int, lead) -> None:
        """The Values tab on layer ``index``'s weight, slice ``lead``, in edit mode."""
        from .panels.values import ValuesPanel

        for panel in self.window.panels:
            if isinstance(panel, ValuesPanel):
                self.window.tabs.setCurrentWidget(panel)
                panel.show_weights(index, tuple(lead)[:2])
                return

    def set_value(self, index: int, param: str, at: tuple, value: float) -> None:
        """A number typed into ``param[at]`` of layer ``index``: the layer's weights become
        edited numbers, exactly that one changed (one undo step)."""
        layers = self.pipeline.config.layers
        if not 0 <= index < len(layers):
            return
        numbers = self._numbers_now(index)
        if numbers is None or param not in numbers:
            self._status(self.tr("The run is not finished yet; type the number again once the "
                                 "results show."))
            return
        spec = layers[index]
        self.pipeline.replace_layer(index, spec.with_weights(with_value(numbers, param, at,
                                                                        value)),
                                    "edit weight")

    # -- checkpoints -------------------------------------------------------------------------
    def load_weights(self, path: str | None = None) -> bool:
        """Read a checkpoint on the worker, then ask which keys go where (the dialog)."""
        report = self.window.report
        if report is None or not report.layers or report.problems:
            self.window.show_error(self.tr("Cannot load weights"), self.tr(
                "The stack needs to work before weights can be matched to it; fix the layer "
                "marked in the stack first."))
            return False
        if path is None:
            base = self.pipeline.base_dir
            path, _ = QFileDialog.getOpenFileName(self.window, self.tr("Load Weights"),
                                                  str(base or ""), CHECKPOINT_FILTER)
            if not path:
                return False
        shown = Path(path).name
        self._job = (None, str(path), self.pipeline.config.layers)
        number = self.window.runner.call(_read_for_matching, str(path), shown, report)
        if self._job is not None:  # not answered yet (a sync runner answers at once)
            self._job = (number, *self._job[1:])
        return True

    def _on_job_done(self, number: int, result, error) -> None:
        job, self._job = self._job, None
        if job is None or job[0] not in (None, number):  # another job's, or a stale one
            self._job = job
            return
        _number, path, layers = job
        if error is not None:
            self.window.show_error(self.tr("Cannot load weights"), str(error))
            return
        if layers != self.pipeline.config.layers:
            self._status(self.tr("The stack changed while the file was read; load it again."))
            return
        listing, note, states = result
        from .weights_dialog import WeightsDialog

        self.dialog = WeightsDialog(listing, note, states, Path(path).name,
                                    self._stored(path), self.window)
        dialog = self.dialog
        dialog.accepted.connect(lambda: self._on_dialog_accepted(dialog))
        self.dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog.open()

    def _stored(self, path: str) -> str:
        """The path the config keeps: relative to the config's folder when it has one."""
        base = self.pipeline.base_dir
        if base is None:
            return str(Path(path).resolve())
        try:
            return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()
        except ValueError:  # another drive on Windows
            return str(Path(path).resolve())

    def _on_dialog_accepted(self, dialog) -> None:
        report = getattr(dialog, "report", None)
        if report is not None and report.ok:
            self.apply(report)

    def apply(self, report) -> None:
        """Every matched layer reads its weights from the checkpoint: one undo step."""
        weights = report.weights()
        layers = list(self.pipeline.config.layers)
        for index, spec in weights.items():
            layers[index] = layers[index].with_weights(spec)
        self.pipeline.set_config(self.pipeline.config.with_layers(layers), "load weights")
        self._status(self.tr("Loaded {count} layers' weights from {file} ({matched} keys "
                             "matched, {missing} missing, {unexpected} unexpected).").format(
            count=len(weights), file=Path(report.file).name, matched=len(report.matched),
            missing=len(report.missing), unexpected=len(report.unexpected)))

    # -- notes -------------------------------------------------------------------------------
    def note_remade(self, old: ShapeReport | None, new: ShapeReport) -> None:
        """Say so in the status bar when an edit changed a layer's own weight shape and its
        weights were made again from their source (torch's init or preset kernels)."""
        if old is None or len(old.layers) != len(new.layers):
            return
        for a, b in zip(old.layers, new.layers):
            if a.spec.type != b.spec.type or a.spec.weights != b.spec.weights or \
                    b.spec.weights.source not in ("init", "preset"):
                continue
            before = param_shapes(a.spec.type, a.kwargs) if a.output_shape else None
            after = param_shapes(b.spec.type, b.kwargs) if b.output_shape else None
            if not before or not after or before.get("weight") == after.get("weight"):
                continue
            shape = fmt_shape(tuple(after["weight"]))
            if b.spec.weights.source == "preset":
                text = self.tr("{layer}: its weight is now {shape}, so its preset kernels were "
                               "made again at that size.")
            else:
                text = self.tr("{layer}: its weight is now {shape}, so torch made it anew from "
                               "the layer's seed (seed + {index}); the other layers keep "
                               "theirs.")
            self._status(text.format(layer=b.label, shape=shape, index=b.index))
            return
