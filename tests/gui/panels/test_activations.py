"""Activations panel, fed real engine results."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.gui.panels import build_panels
from convexplorer.gui.panels.activations import ActivationPanel
from convexplorer.model.spec import Objective

from .helpers import L, click_scene, hover_scene, load_png, pixel, run_layers, show


@pytest.fixture
def panel(qtbot, mnist_result):
    p = show(qtbot, ActivationPanel())
    p.set_result(mnist_result, None)
    return p


def test_build_panels_follows_the_protocol(qtbot):
    panels = build_panels()
    for p in panels:
        qtbot.addWidget(p)
    assert [p.title for p in panels] == ["Activations", "Values", "Pooling indices",
                                         "Gradients", "Receptive field", "Explain"]
    for p in panels:
        p.set_result(None, None)
        p.set_selection(None)
        assert callable(p.export_image) and hasattr(p, "objectiveRequested")


def test_chooser_lists_input_and_every_layer_and_follows_selection(panel, mnist_result):
    chooser = panel.source.chooser
    assert chooser.keys() == [-1, 0, 1, 2, 3, 4, 5]
    assert chooser.itemText(1) == "conv1 (Conv2d) output  torch.Size([1, 10, 24, 24])"
    panel.set_selection(3)
    assert chooser.key() == 3
    assert panel.grid.item.shape == (20, 8, 8)
    assert np.array_equal(panel.grid.item, mnist_result.layers[3].activation[0])


def test_export_shows_all_channels_at_data_resolution(panel, mnist_result, tmp_path):
    panel.set_selection(0)
    panel.grid.cmap_box.setCurrentText("gray")
    assert panel.export_image(tmp_path / "act.png")
    image = load_png(tmp_path / "act.png")
    # 10 maps of 24x24 in 3 rows x 4 columns with 1-pixel gaps
    assert (image.width(), image.height()) == (4 * 25 - 1, 3 * 25 - 1)
    act = mnist_result.layers[0].activation[0]
    c, y, x = np.unravel_index(np.argmax(act), act.shape)
    r, q = divmod(int(c), 4)
    assert pixel(image, q * 25 + int(x), r * 25 + int(y)) == (255, 255, 255)
    c, y, x = np.unravel_index(np.argmin(act), act.shape)
    r, q = divmod(int(c), 4)
    assert pixel(image, q * 25 + int(x), r * 25 + int(y)) == (0, 0, 0)


def test_hover_read_out_names_layer_batch_channel_position_value(panel, qtbot, mnist_result):
    panel.set_selection(2)
    grid = panel.grid
    hover_scene(qtbot, grid.image_widget, grid.scene_pos(7, (3, 5)))
    value = mnist_result.layers[2].activation[0, 7, 3, 5]
    assert grid.readout.text() == (f"pool1 (MaxPool2d) output[0, 7, 3, 5] = {value:.6g}    "
                                   "(batch 0, channel 7, y 3, x 5)")


def test_click_shows_the_channel_large_with_its_kernels(panel, qtbot, mnist_result):
    panel.set_selection(3)
    grid = panel.grid
    click_scene(qtbot, grid.image_widget, grid.scene_pos(13, (2, 6)))
    detail = panel.detail
    assert detail.big.item.shape == (1, 8, 8) and detail.big.offset == 13
    assert np.array_equal(detail.big.item[0], mnist_result.layers[3].activation[0, 13])
    assert np.array_equal(detail.grad.item[0], mnist_result.layers[3].grad_output[0, 13])
    assert detail.grad.name == "conv2 (Conv2d) output.grad"
    weight = mnist_result.layers[3].params["weight"]
    assert np.array_equal(detail.kernels.item, weight[13])  # 10 kernels of 5x5
    assert detail.kernels.name == "conv2.weight[13]"
    assert "input channels 0\u20139" in detail.text.text()
    assert detail.backprop.isEnabled()


def test_double_click_requests_the_unit_objective(panel, qtbot):
    panel.set_selection(0)
    grid = panel.grid
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, grid.image_widget, grid.scene_pos(4, (10, 17)), double=True)
    assert signal.args == [Objective(kind="unit", layer=0, batch=0, channel=4,
                                     position=(10, 17))]


def test_the_input_has_no_kernels_and_no_objective(panel, qtbot):
    panel.set_selection(None)
    panel.source.chooser.select_key(-1)
    click_scene(qtbot, panel.grid.image_widget, panel.grid.scene_pos(0, (3, 3)))
    assert "no kernels" in panel.detail.text.text()
    assert not panel.detail.backprop.isEnabled()


def test_batch_selector_and_grouped_kernels(qtbot):
    result = run_layers([L("Conv2d", out_channels=6, kernel_size=3, groups=3)], (3, 6, 9, 9))
    panel = show(qtbot, ActivationPanel())
    panel.set_result(result, None)
    panel.set_selection(0)
    assert panel.source.batch_box.maximum() == 2
    panel.source.batch_box.setValue(2)
    assert np.array_equal(panel.grid.item, result.layers[0].activation[2])
    click_scene(qtbot, panel.grid.image_widget, panel.grid.scene_pos(5, (0, 0)))
    assert panel.detail.kernels.item.shape == (2, 3, 3)
    assert "input channels 4\u20135 (group 2 of 3)" in panel.detail.text.text()
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        panel.detail.backprop.click()
    assert signal.args[0] == Objective("unit", 0, 2, 5, (0, 0))


def test_one_d_layers_are_curves_and_vectors_are_bars(qtbot):
    result = run_layers([L("Conv1d", out_channels=3, kernel_size=3), L("Flatten"),
                         L("Linear", out_features=4)], (1, 2, 16))
    panel = show(qtbot, ActivationPanel())
    panel.set_result(result, None)
    panel.set_selection(0)
    assert panel.grid.kind == "curves"
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, panel.grid.plot_widget, panel.grid.scene_pos(2, (5,)), double=True)
    assert signal.args[0] == Objective("unit", 0, 0, 2, (5,))
    panel.set_selection(2)
    assert panel.grid.kind == "vector"
    with qtbot.waitSignal(panel.objectiveRequested) as signal:
        click_scene(qtbot, panel.grid.plot_widget, panel.grid.scene_pos(3), double=True)
    assert signal.args[0] == Objective("unit", 2, 0, 3, ())
    assert panel.detail.kernels.name == "2.weight[3]"


def test_channel_0_is_shown_until_another_is_clicked(panel, mnist_result):
    panel.set_selection(0)
    assert panel.detail.big.offset == 0 and panel.detail.big.isVisible()
    assert np.array_equal(panel.detail.kernels.item, mnist_result.layers[0].params["weight"][0])
    assert not panel.detail.backprop.isEnabled()  # a channel, not yet a unit


def test_hidden_panel_redraws_when_shown(qtbot, mnist_result):
    panel = ActivationPanel()
    qtbot.addWidget(panel)
    panel.set_result(mnist_result, None)
    assert panel.grid.item is None  # not visible: nothing drawn yet
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.grid.item is not None


def test_a_layer_not_yet_run_is_shown_once_its_result_comes(qtbot, mnist_result):
    longer = run_layers([L("Conv2d", out_channels=2, kernel_size=3) for _ in range(7)],
                        (1, 1, 20, 20))
    panel = show(qtbot, ActivationPanel())
    panel.set_result(mnist_result, None)  # layers 0-5
    panel.set_selection(6)  # just added: its run is still to come
    panel.set_result(longer, None)
    assert panel.source.key == 6
    # the user's own pick in between wins
    panel.set_result(mnist_result, None)
    panel.set_selection(6)
    panel.source.chooser.setCurrentIndex(panel.source.chooser.findData(2))
    panel.set_result(longer, None)
    assert panel.source.key == 2


def test_the_picked_channels_maps_have_captions_and_colour_scales(panel, qtbot, mnist_result):
    panel.set_selection(3)  # conv2
    grid = panel.grid
    click_scene(qtbot, grid.image_widget, grid.scene_pos(13, (2, 6)))
    detail = panel.detail
    big, grad, kernels = (detail.boxes[k] for k in ("big", "grad", "kernels"))
    assert big.caption.text() == "output[0, 13]"
    assert grad.caption.text() == "output.grad[0, 13]"
    assert kernels.caption.text() == ("conv2.weight[13]: one kernel for each of input channels "
                                      "0\u20139")
    for box in (big, grad, kernels):
        assert box.scale.isVisible() and box.scale.levels == tuple(box.grid.levels)
    act = mnist_result.layers[3].activation[0, 13]
    assert big.scale.levels == (float(act.min()), float(act.max()))
    # the picked unit is outlined, one cell; no outline around the whole map
    rect = detail.big._mark.rect()
    assert detail.big._mark.isVisible() and (rect.width(), rect.height()) == (1, 1)
    panel.set_selection(0)  # another layer: channel 0, no unit picked
    assert not detail.big._mark.isVisible() and not detail.grad._mark.isVisible()


def test_grouped_kernels_are_labelled_with_the_input_channels_they_see(qtbot):
    result = run_layers([L("Conv2d", "conv1", out_channels=10, kernel_size=5), L("ReLU"),
                         L("MaxPool2d", kernel_size=2),
                         L("Conv2d", "conv2", out_channels=20, kernel_size=5, groups=2)],
                        (1, 1, 28, 28))
    panel = show(qtbot, ActivationPanel(), size=(1400, 900))
    panel.set_result(result, None)
    panel.set_selection(3)
    click_scene(qtbot, panel.grid.image_widget, panel.grid.scene_pos(10, (0, 0)))
    detail = panel.detail
    assert "input channels 5\u20139 (group 1 of 2)" in detail.text.text()
    assert detail.kernels.channel_labels.labels() == ["5", "6", "7", "8", "9"]
    assert detail.boxes["kernels"].caption.text().endswith("input channels 5\u20139")
    kernels = detail.kernels
    hover_scene(qtbot, kernels.image_widget, kernels.scene_pos(0, (1, 2)),
                until=lambda: "weight" in kernels.readout.text())
    value = result.layers[3].params["weight"][10, 0, 1, 2]
    assert kernels.readout.text() == (f"conv2.weight[10][0, 1, 2] = {value:.6g}    "
                                      "(in channel 5, y 1, x 2)")
    click_scene(qtbot, panel.grid.image_widget, panel.grid.scene_pos(3, (0, 0)))
    assert detail.kernels.channel_labels.labels() == ["0", "1", "2", "3", "4"]
