"""Weights in the window, driven as a person does: a source chosen in the layer form (preset
kernels on chosen channels), numbers typed into a weight in the Values tab (exactly that slice
changes, and it survives save and open, sidecar included), kernels picked in the Activations
tab, File > Load Weights (read on the worker, the mapping dialog, the report, a misfit refused
with the stack untouched, a hostile pickle refused without running), the eval-mode switch, and
a note when a layer's own shape makes its weights anew. Outputs are checked against torch."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit
from torch import nn

from convexplorer.model.kernels import make_kernel
from convexplorer.model.spec import Config, InputSpec, LayerSpec
from convexplorer.model.weights import PresetKernel, WeightSpec

from .window_helpers import click_row, open_window

L = LayerSpec.make


def small_window(qtbot, layers, shape=(1, 1, 8, 8), **kw):
    config = Config(layers=tuple(layers), input=InputSpec(shape=shape, seed=2), **kw)
    return open_window(qtbot, config, sync=True)


@pytest.fixture
def two_convs(qtbot):
    w = small_window(qtbot, [L("Conv2d", "conv1", out_channels=2, kernel_size=3),
                             L("ReLU", "relu1"),
                             L("Conv2d", "conv2", out_channels=3, kernel_size=3)])
    yield w
    w.close()


def choose(combo, data) -> None:
    """Pick the item holding ``data`` as a user does (the combo's activated index)."""
    combo.setCurrentIndex(combo.findData(data))


def test_preset_kernels_from_the_form(qtbot, two_convs):
    w = two_convs
    click_row(qtbot, w, 0)
    editor = w.form.weights_editor
    assert editor.isVisible() and editor.source_box.currentData() == "init"
    choose(editor.source_box, "preset")
    spec = w.pipeline.config.layers[0]
    assert spec.weights == WeightSpec("preset", kernels=(PresetKernel("identity"),))
    choose(editor.kernel_box, "sobel_x")
    assert w.pipeline.config.layers[0].weights.kernels[0].kernel == "sobel_x"
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)  # a second kernel, on out 1
    assert editor.kernel_list.currentRow() == 1
    choose(editor.kernel_box, "gaussian")
    editor.sigma_spin.setValue(1.5)
    kernels = w.pipeline.config.layers[0].weights.kernels
    assert kernels[1] == PresetKernel("gaussian", out=1, sigma=1.5)
    editor.kernel_list.setCurrentRow(0)
    editor.out_spin.setValue(0)
    assert w.pipeline.config.layers[0].weights.kernels[0].out == 0
    assert "Sobel x" in editor.kernel_list.item(0).text()
    assert "x needs 2 or more" in editor.kernel_help.text()
    result = w.last_result
    weight = np.stack([make_kernel("sobel_x", (3, 3)), make_kernel("gaussian", (3, 3),
                                                                   {"sigma": 1.5})])[:, None]
    np.testing.assert_array_equal(result.layers[0].params["weight"], weight.astype(np.float32))
    x = torch.from_numpy(result.input)
    np.testing.assert_allclose(result.layers[0].activation, F.conv2d(
        x, torch.from_numpy(weight.astype(np.float32))).numpy(), rtol=1e-5, atol=1e-6)
    # pipeline -> widget: undo all the way back shows init again
    while w.pipeline.can_undo:
        w.pipeline.undo()
    assert editor.source_box.currentData() == "init"


def test_a_kernel_that_does_not_fit_is_flagged_on_the_layer(qtbot, two_convs):
    w = two_convs
    click_row(qtbot, w, 0)
    editor = w.form.weights_editor
    choose(editor.source_box, "preset")
    choose(editor.kernel_box, "laplacian")
    w.form.editor("kernel_size").set_value((2, 2), True, None)
    w._on_param_edited(0, "kernel_size", 2)
    assert "laplacian needs a kernel of at least 3" in w.form.problems_label.text()
    assert "laplacian needs a kernel of at least 3" in editor.note.text()
    assert w.status.state == "invalid" or "Not run" in w.banner.text()


def edit_cell(qtbot, table, row: int, column: int, text: str) -> None:
    """Double-click a cell, type, press Enter."""
    index = table.model().index(row, column)
    rect = table.visualRect(index)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    # the view commits a Return after the editor has seen it, and the table hands the value
    # on once the editor is closed (queued calls)
    with qtbot.waitSignal(table.cellTyped):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert table.state() != QAbstractItemView.State.EditingState


def values_panel(w):
    from convexplorer.gui.panels.values import ValuesPanel

    return next(p for p in w.panels if isinstance(p, ValuesPanel))


def test_an_edited_number_changes_exactly_that_slice_and_survives_save(qtbot, window, tmp_path):
    w = window  # MNISTConvNet: conv2 has 5000 weights, more than the JSON keeps inline
    values = values_panel(w)
    before = {k: v.copy() for k, v in w.last_result.layers[3].params.items()}
    conv1_before = w.last_result.layers[0].params["weight"].copy()
    w.weight_actions.show_weights(3, (4, 7))
    assert w.tabs.currentWidget() is values and values.edit_button.isChecked()
    assert values.edit_button.isVisible() and values.ref.expression == "model.conv2.weight"
    assert values.lead == (4, 7) and "Editing" in values.caption.text()
    edit_cell(qtbot, values.table, 2, 3, "0.75")
    spec = w.pipeline.config.layers[3]
    assert spec.weights.source == "edited"
    after = w.last_result.layers[3].params
    assert after["weight"][4, 7, 2, 3] == np.float32(0.75)
    changed = after["weight"] != before["weight"]
    assert changed.sum() == 1 and changed[4, 7, 2, 3]
    np.testing.assert_array_equal(after["bias"], before["bias"])
    np.testing.assert_array_equal(w.last_result.layers[0].params["weight"], conv1_before)
    # the run used it: conv2's output is torch's conv of pool1's output with these weights
    x = torch.from_numpy(w.last_result.layers[2].activation)
    expected = F.conv2d(x, torch.from_numpy(after["weight"]), torch.from_numpy(after["bias"]))
    np.testing.assert_allclose(w.last_result.layers[3].activation, expected.numpy(), rtol=1e-5,
                               atol=1e-5)
    # a second edit, then Undo takes exactly it back
    edit_cell(qtbot, values.table, 0, 0, "-2")
    assert w.last_result.layers[3].params["weight"][4, 7, 0, 0] == -2
    w.pipeline.undo()
    assert w.pipeline.config.layers[3] == spec
    # not a number: said under the table, nothing changes
    edit_cell(qtbot, values.table, 1, 1, "abc")
    assert "'abc' is not a weight" in values.readout.text()
    assert w.pipeline.config.layers[3] == spec
    # save and open again: the numbers come back from the sidecar
    path = tmp_path / "mnist.json"
    assert w.file_actions.save_to(path)
    assert (tmp_path / "mnist.weights.npz").is_file()
    w.pipeline.load(Config())
    assert w.file_actions.open_path(path)
    assert w.pipeline.config.layers[3] == spec
    np.testing.assert_array_equal(w.last_result.layers[3].params["weight"], after["weight"])


def test_bias_and_a_small_layer_stay_inline(qtbot, two_convs, tmp_path):
    import json

    w = two_convs
    values = values_panel(w)
    w.weight_actions.show_weights(0, (0, 0))
    choose(values.what_box, "bias")
    assert values.edit_button.isVisible()
    values.edit_button.setChecked(True)
    edit_cell(qtbot, values.table, 0, 1, "3")
    np.testing.assert_array_equal(w.last_result.layers[0].params["bias"][1], 3)
    w.file_actions.save_to(tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["layers"][0]["weights"]["bias"][1] == 3.0
    assert not (tmp_path / "s.weights.npz").exists()


def test_edit_these_kernels_from_the_activations_tab(qtbot, two_convs):
    from convexplorer.gui.panels.activations import ActivationPanel

    w = two_convs
    acts = next(p for p in w.panels if isinstance(p, ActivationPanel))
    w.tabs.setCurrentWidget(acts)
    acts.source.chooser.select_key(2)
    acts._on_grid_unit_clicked(1, ())
    assert acts.detail.edit_kernels.isVisible()
    qtbot.mouseClick(acts.detail.edit_kernels, Qt.MouseButton.LeftButton)
    values = values_panel(w)
    assert w.tabs.currentWidget() is values
    assert values.layer == 2 and values.what == "weight" and values.lead == (1, 0)
    assert values.edit_button.isChecked()


def test_choosing_edited_numbers_keeps_the_numbers_and_freezes_them(qtbot, two_convs):
    w = two_convs
    click_row(qtbot, w, 2)
    before = w.last_result.layers[2].params["weight"].copy()
    conv1 = w.last_result.layers[0].params["weight"].copy()
    choose(w.form.weights_editor.source_box, "edited")
    spec = w.pipeline.config.layers[2]
    assert spec.weights.source == "edited"
    np.testing.assert_array_equal(spec.weights.numbers()["weight"].array(), before)
    w.pipeline.set_seed(42)  # another seed: init layers change, the edited one does not
    np.testing.assert_array_equal(w.last_result.layers[2].params["weight"], before)
    assert not np.array_equal(w.last_result.layers[0].params["weight"], conv1)


def trained(tmp_path, prefix="module."):
    torch.manual_seed(6)
    model = nn.Sequential(OrderedDict([("conv1", nn.Conv2d(1, 2, 3)), ("bn", nn.BatchNorm2d(2)),
                                       ("relu1", nn.ReLU()),
                                       ("conv2", nn.Conv2d(2, 3, 3))]))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
        model.bn.running_mean.copy_(torch.tensor([0.5, -0.5]))
        model.bn.running_var.copy_(torch.tensor([2.0, 0.25]))
    path = tmp_path / "trained.pt"
    torch.save({prefix + k: v for k, v in model.state_dict().items()}, path)
    return model, path


@pytest.fixture
def bn_window(qtbot):
    w = small_window(qtbot, [L("Conv2d", "conv1", out_channels=2, kernel_size=3),
                             L("BatchNorm2d", "bn"), L("ReLU", "relu1"),
                             L("Conv2d", "conv2", out_channels=3, kernel_size=3)],
                     shape=(2, 1, 8, 8))
    yield w
    w.close()


def test_load_weights_maps_them_and_reproduces_the_model_in_eval_mode(qtbot, bn_window,
                                                                        tmp_path):
    w = bn_window
    model, path = trained(tmp_path)
    assert w.weight_actions.load_weights(str(path))
    dialog = w.weight_actions.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.prefix.text() == "module."
    assert dialog.load_button.isEnabled()
    report = dialog.report_text.toPlainText()
    assert "matched 9 keys after stripping the prefix 'module.'" in report
    qtbot.mouseClick(dialog.load_button, Qt.MouseButton.LeftButton)
    assert w.weight_actions.dialog is None
    assert w.statusBar().currentMessage() == (
        "Loaded 3 layers' weights from trained.pt (9 keys matched, 0 missing, 0 unexpected).")
    specs = w.pipeline.config.layers
    assert specs[0].weights == WeightSpec("checkpoint", file=str(path), key="module.conv1")
    assert specs[2].weights.is_init  # ReLU: nothing to load
    qtbot.mouseClick(w.input_panel.eval_box, Qt.MouseButton.LeftButton)
    assert w.pipeline.config.mode == "eval"
    model.eval()
    x = torch.from_numpy(w.last_result.input)
    with torch.no_grad():
        h = x
        for layer, lr in zip(model, w.last_result.layers):
            h = layer(h)
            np.testing.assert_allclose(lr.activation, h.numpy(), rtol=1e-5, atol=1e-5)
    w.pipeline.undo()  # eval mode off
    assert w.pipeline.config.mode == "train" and not w.input_panel.eval_box.isChecked()
    w.pipeline.undo()  # the load: one step
    assert all(s.weights.is_init for s in w.pipeline.config.layers)


def test_map_a_layer_by_hand_and_leave_one_out(qtbot, bn_window, tmp_path):
    w = bn_window
    model, path = trained(tmp_path, prefix="")
    w.weight_actions.load_weights(str(path))
    dialog = w.weight_actions.dialog
    rows = {s.index: r for r, s in enumerate(dialog.states)}
    choose(dialog.combos[rows[3]], None)  # conv2: not loaded
    assert "missing keys (the layers keep their init values): conv2.weight, conv2.bias" in \
        dialog.report_text.toPlainText()
    assert "unexpected keys (no layer takes them): conv2.weight, conv2.bias" in \
        dialog.report_text.toPlainText()
    choose(dialog.combos[rows[0]], "conv2")  # conv1 given conv2's keys: shapes differ
    assert not dialog.load_button.isEnabled()
    assert "size mismatch for conv2.weight" in dialog.report_text.toPlainText()
    assert "torch.Size([3, 2, 3, 3])" in dialog.table.item(rows[0], 2).text()
    choose(dialog.combos[rows[0]], "conv1")
    assert dialog.load_button.isEnabled()
    dialog.accept()
    assert w.pipeline.config.layers[3].weights.is_init
    assert w.pipeline.config.layers[0].weights.source == "checkpoint"


def test_a_checkpoint_that_does_not_fit_leaves_the_stack_untouched(qtbot, bn_window, tmp_path):
    w = bn_window
    model, _ = trained(tmp_path)
    state = model.state_dict()
    state["conv2.weight"] = torch.zeros(3, 2, 5, 5)
    torch.save(state, tmp_path / "bad.pt")
    before = w.pipeline.config
    w.weight_actions.load_weights(str(tmp_path / "bad.pt"))
    dialog = w.weight_actions.dialog
    assert not dialog.load_button.isEnabled()
    text = dialog.report_text.toPlainText()
    assert "conv2 (Conv2d) weights: checkpoint key conv2.weight is torch.Size([3, 2, 5, 5]) " \
           "but the layer's weight is torch.Size([3, 2, 3, 3]); nothing was loaded" in text
    dialog.reject()
    assert w.pipeline.config is before


class Payload:
    target = ""

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_hostile_pickle_is_refused_in_the_window_without_running(qtbot, bn_window, tmp_path):
    w = bn_window
    proof = tmp_path / "ran"
    Payload.target = str(proof)
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"conv1.weight": Payload()}))
    before = w.pipeline.config
    errors = []
    w.show_error = lambda title, text, details="": errors.append((title, text))
    w.weight_actions.load_weights(str(tmp_path / "evil.pt"))
    assert not proof.exists() and w.weight_actions.dialog is None
    (title, text), = errors
    assert title == "Cannot load weights" and "evil.pt: refused" in text
    assert w.pipeline.config is before


def test_the_worker_reads_the_checkpoint(qtbot, tmp_path):
    w = open_window(qtbot, Config(layers=(L("Conv2d", "conv1", out_channels=2, kernel_size=3),),
                                  input=InputSpec(shape=(1, 1, 6, 6))), sync=False)
    try:
        model = nn.Sequential(OrderedDict([("conv1", nn.Conv2d(1, 2, 3))]))
        torch.save(model.state_dict(), tmp_path / "m.pt")
        import threading

        seen = []
        import convexplorer.gui.weight_actions as wa

        original = wa._read_for_matching

        def spy(*args):
            seen.append(threading.current_thread().name)
            return original(*args)

        wa._read_for_matching = spy
        try:
            with qtbot.waitSignal(w.runner.jobDone, timeout=30_000):
                w.weight_actions.load_weights(str(tmp_path / "m.pt"))
        finally:
            wa._read_for_matching = original
        assert seen and seen[0].startswith("convexplorer-runner")
        qtbot.waitUntil(lambda: w.weight_actions.dialog is not None)
        w.weight_actions.dialog.accept()
        assert w.pipeline.config.layers[0].weights.source == "checkpoint"
    finally:
        w.close()


def test_a_new_kernel_size_remakes_the_weights_and_says_so(qtbot, two_convs):
    w = two_convs
    click_row(qtbot, w, 0)
    choose(w.form.weights_editor.source_box, "preset")
    choose(w.form.weights_editor.kernel_box, "gaussian")
    w._on_param_edited(0, "kernel_size", 5)
    assert "its preset kernels were made again at that size" in w.statusBar().currentMessage()
    weight = w.last_result.layers[0].params["weight"]
    np.testing.assert_allclose(weight[0, 0], make_kernel("gaussian", (5, 5)), rtol=1e-6)
    w._on_param_edited(2, "kernel_size", 2)
    assert "torch made it anew from the layer's seed (seed + 2)" in \
        w.statusBar().currentMessage()


def test_edited_numbers_that_no_longer_fit_say_so_and_use_init(qtbot, two_convs):
    w = two_convs
    click_row(qtbot, w, 0)
    choose(w.form.weights_editor.source_box, "edited")
    w._on_param_edited(0, "kernel_size", 5)
    assert "uses torch's initialisation until the shape fits again" in \
        w.form.weights_editor.note.text()
    w._on_param_edited(0, "kernel_size", 3)
    assert w.pipeline.config.layers[0].weights.source == "edited"
    assert "until the shape fits" not in w.form.weights_editor.note.text()


def test_save_as_runnable_script_carries_the_weights(qtbot, tmp_path, capsys):
    from convexplorer.cli import main
    from convexplorer.engine.script import split_printed
    from convexplorer.model.config_io import load_config
    from convexplorer.resources_path import example_path

    from ..test_script_export import run_script

    w = open_window(qtbot, load_config(example_path("edge_kernels.json")), sync=True)
    try:
        values = values_panel(w)
        w.weight_actions.show_weights(0, (3, 0))  # the Gaussian kernel: make it lopsided
        edit_cell(qtbot, values.table, 0, 0, "0.5")
        assert w.file_actions.save_to(tmp_path / "edges.json")
        assert w.file_actions.export.save_script(str(tmp_path / "edges.py"))
    finally:
        w.close()
    npz = np.load(tmp_path / "edges.weights.npz", allow_pickle=False)
    assert sorted(npz.files) == ["conv1.bias", "conv1.weight"]
    assert npz["conv1.weight"][3, 0, 0, 0] == np.float32(0.5)
    done = run_script(tmp_path / "edges.py", tmp_path)
    assert done.returncode == 0, done.stderr
    printed = split_printed(done.stdout)
    capsys.readouterr()
    assert main(["print", str(tmp_path / "edges.json"), "--layer", "conv1"]) == 0
    assert printed["conv1 (Conv2d) output"] == capsys.readouterr().out.rstrip("\n")
