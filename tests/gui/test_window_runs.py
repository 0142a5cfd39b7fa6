"""The window with its real worker thread: input and device choices, failed runs, drag and
drop, the start-up screenshot, and closing without leaving a thread."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from convexplorer.gui.app import initial_config
from convexplorer.model.config_io import load_config
from convexplorer.resources_path import example_path, sample_image_path

from .window_helpers import (
    RESULT_TIMEOUT_MS,
    open_window,
    runner_threads,
)

REPO = Path(__file__).resolve().parents[2]


def test_first_result_is_drawn_off_the_gui_thread(threaded_window):
    w = threaded_window
    result = w.last_result
    assert result is not None and w.last_report is not None
    assert result.layers[-1].output_shape == (1, 20, 4, 4)
    assert w.status.state == "ready"
    assert "device: cpu" in w.status.text
    assert w.current_panel() is w.tabs.currentWidget()
    if w.placeholder is not None:  # no result panels installed: the summary stands in
        assert "torch.Size([1, 20, 4, 4])" in w.placeholder.headline.text()
        assert w.placeholder.stats.rowCount() == 6


def test_switch_input_to_a_sample_image(qtbot):
    config = load_config(example_path("tutorial_conv2d_stack.json"))
    w = open_window(qtbot, config, sync=False)
    assert w.pipeline.config.input.source == "random"
    panel = w.input_panel
    with qtbot.waitSignal(w.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        panel.source.setFocus()
        qtbot.keyClicks(panel.source, "Image")
    assert w.pipeline.config.input.source == "image"
    assert panel.pages.currentIndex() == 2
    combo = panel.image_choice
    with qtbot.waitSignal(w.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        combo.setFocus()
        qtbot.keyClicks(combo, "shapes")
    assert w.pipeline.config.input.path == "sample:shapes.png"
    size = QImage(str(sample_image_path("shapes.png"))).size()
    assert w.last_result.input.shape == (1, 1, size.height(), size.width())
    assert "torch.Size([1, 1, " in panel.shape_label.text()

    # resize: the next run gets the resized image
    with qtbot.waitSignal(w.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        panel.resize_box.click()
        panel.size_h.setFocus()
        panel.size_h.selectAll()
        qtbot.keyClicks(panel.size_h, "20")
    assert w.pipeline.config.input.size == (20, size.width())
    assert w.last_result.input.shape == (1, 1, 20, size.width())

    # RGB: conv1's in_channels is on auto and follows the 3 channels
    with qtbot.waitSignal(w.runner.resultShown, timeout=RESULT_TIMEOUT_MS):
        panel.mode.setFocus()
        qtbot.keyClicks(panel.mode, "RGB")
    assert w.pipeline.config.input.mode == "RGB"
    assert "torch.Size([1, 3, 20, " in panel.shape_label.text()
    assert w.report.ok and w.report.layers[0].kwargs["in_channels"] == 3
    assert w.last_result.layers[0].params["weight"].shape[1] == 3
    # pinned at 1, it no longer fits and is flagged
    spec = w.pipeline.config.layers[0]
    w.pipeline.replace_layer(0, spec.with_params(in_channels=1), "pin in_channels")
    assert not w.report.ok
    problem = w.report.problems[0]
    assert problem.field == "in_channels" and "3" in problem.message
    w.close()
    assert not runner_threads()


def test_device_combo_lists_unavailable_devices_with_reason(threaded_window, qtbot):
    import torch

    combo = threaded_window.input_panel.device
    qtbot.waitUntil(lambda: combo.findData("cpu") >= 0 and combo.count() > 1,
                    timeout=RESULT_TIMEOUT_MS)
    model = combo.model()
    cpu = combo.findData("cpu")
    assert combo.itemText(cpu) == "CPU" and model.item(cpu).isEnabled()
    if not torch.cuda.is_available():
        i = combo.findData("cuda")
        reason = ("torch was built without CUDA" if torch.version.cuda is None
                  else "no CUDA device or driver found")
        assert combo.itemText(i) == f"CUDA: {reason}"
        assert not model.item(i).isEnabled()
        assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == reason
    else:
        assert model.item(combo.findData("cuda:0")).isEnabled()


def test_failed_run_shows_its_message_and_the_app_stays_usable(qtbot, window):
    import torch

    if torch.cuda.is_available():
        bad = "cuda:99"
    else:
        bad = "cuda"
    window.pipeline.set_device(bad)  # what choosing it in the combo does
    assert window.status.state == "failed"
    assert window.banner.isVisible()
    assert "CUDA" in window.banner.text()
    assert "failed" in window.status.text
    window.pipeline.set_device("cpu")
    assert window.status.state == "ready"
    assert not window.banner.isVisible()
    assert window.last_result.device == "cpu"


def test_dropping_an_image_and_a_config_onto_the_window(qtbot, window, tmp_path):
    image = sample_image_path("stripes.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.pipeline.config.input.path == str(image)
    assert window.pipeline.config.input.source == "image"
    assert window.last_result.config.input.path == str(image)

    config_path = example_path("signal_conv1d.json")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(config_path))])
    window.dropEvent(QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert window.pipeline.path == config_path
    assert window.input_panel.pages.currentIndex() == 1  # the signal page
    assert window.last_result.input.shape == (1, 2, 64)
    assert not window.pipeline.can_undo


def test_open_config_and_show_error(qtbot, window):
    config = replace(load_config(example_path("tutorial_maxpool1d.json")), name="pools")
    window.open_config(config, None)
    assert window.windowTitle() == "pools - convexplorer"
    assert window.last_result.layers[0].indices is not None
    box = window.show_error("Cannot open", "bad.json: not valid JSON", "details here")
    assert box.isVisible() and not box.isModal()
    assert "bad.json" in window.statusBar().currentMessage()


def test_bad_config_on_the_command_line_falls_back_to_the_default(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    config, path, error = initial_config(str(bad))
    assert path is None and config.name == "MNISTConvNet"
    assert "not valid JSON" in error


def test_no_thread_left_after_closing(qtbot):
    w = open_window(qtbot, sync=False)
    assert runner_threads()  # the worker is alive while the window is open
    w.pipeline.set_seed(3)  # a run in flight (or pending) when the window closes
    w.close()
    assert not runner_threads()
    assert w.runner.closed


def _distinct_colours(image: QImage, step: int = 7) -> int:
    seen = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
    return len(seen)


def test_screenshot_command(tmp_path):
    out = tmp_path / "shot.png"
    bad = tmp_path / "broken.json"
    bad.write_text('{"layers": [{"type": "Conv4d"}]}', encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "--screenshot", str(out),
                           str(bad)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("convexplorer:")]
    assert len(errors) == 1 and "unknown layer type" in errors[0]
    image = QImage(str(out))
    assert image.width() >= 1280 and image.height() >= 800
    assert _distinct_colours(image) > 30


def test_title_names_the_file_and_marks_unsaved_work(qtbot, window, tmp_path):
    config = replace(load_config(example_path("tutorial_maxpool1d.json")), name="pools")
    window.open_config(config, tmp_path / "my_pools.json")
    assert window.windowTitle() == "my_pools.json (pools) - convexplorer"
    window.pipeline.set_seed(3)
    assert window.windowTitle() == "my_pools.json (pools)* - convexplorer"


def test_explain_follows_every_edit_even_without_a_run(qtbot, window):
    explain = next(p for p in window.panels if p.title == "Explain")
    window.tabs.setCurrentWidget(explain)
    window.pipeline.select(0)
    layers = list(window.pipeline.config.layers)
    with window.pipeline.batch("two edits"):
        window.pipeline.replace_layer(0, layers[0].with_params(kernel_size=3))
        # conv2 now invalid: the stack is not run, the last result stays the old one
        window.pipeline.replace_layer(3, layers[3].with_params(groups=3))
    assert window.last_result.layers[0].output_shape == (1, 10, 24, 24)
    # the formula may be laid out on several lines (it breaks before an operator to fit)
    text = " ".join(explain.text.toPlainText().split())
    assert "(28 + 2*0 - 1*(3-1) - 1) / 1" in text and "= 26" in text
