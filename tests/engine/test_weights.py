"""Weight sources in real runs, against torch itself: presets give the documented kernels and
the outputs F.conv2d gives with them; a state_dict saved from a plain nn.Sequential reproduces
that model's outputs (by name, with a prefix, as .pt, .safetensors and .npz, BatchNorm's
running statistics in eval mode); a pickle that would run code is refused without running it;
shapes that do not fit are refused with the key named and nothing loaded; editing one layer
leaves the others' weights as they were, whatever their source."""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convexplorer.engine.checkpoints import open_checkpoint
from convexplorer.engine.inputs import load_input
from convexplorer.engine.run import RunError, run
from convexplorer.engine.weights import apply_checkpoint
from convexplorer.model.kernels import make_kernel
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec
from convexplorer.model.weight_files import WeightFileError, write_safetensors
from convexplorer.model.weights import PresetKernel, WeightSpec, edited

L = LayerSpec.make


def cfg(layers, shape, **kw) -> Config:
    return Config(layers=tuple(layers), input=InputSpec(shape=shape, seed=3), **kw)


def preset(*kernels) -> WeightSpec:
    return WeightSpec("preset", kernels=tuple(kernels))


def test_preset_conv_is_f_conv2d_with_the_documented_kernels():
    spec = preset(PresetKernel("sobel_x", out=0), PresetKernel("sobel_y", out=1),
                  PresetKernel("laplacian", out=2), PresetKernel("gaussian", out=3, sigma=1.0))
    config = cfg([L("Conv2d", "conv1", out_channels=4, kernel_size=3, padding=1)
                  .with_weights(spec)], (1, 1, 10, 10))
    result = run(config)
    w = np.stack([make_kernel(n, (3, 3), p) for n, p in (
        ("sobel_x", {}), ("sobel_y", {}), ("laplacian", {}), ("gaussian", {"sigma": 1.0}))])
    w = torch.from_numpy(w[:, None].astype(np.float32))
    x = torch.from_numpy(load_input(config.input))
    np.testing.assert_allclose(result.layers[0].activation, F.conv2d(x, w, padding=1).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.layers[0].params["bias"], np.zeros(4))


def test_preset_conv1d_and_conv_transpose():
    result = run(cfg([L("Conv1d", out_channels=2, kernel_size=3).with_weights(
        preset(PresetKernel("difference", out=0), PresetKernel("moving_average", out=1))),
        L("ConvTranspose1d", out_channels=1, kernel_size=2, stride=2).with_weights(
        preset(PresetKernel("identity")))], (1, 1, 8)))
    x = result.input[0, 0]
    np.testing.assert_allclose(result.layers[0].activation[0, 0], x[2:] - x[:-2], atol=1e-6)
    np.testing.assert_allclose(result.layers[0].activation[0, 1],
                               (x[:-2] + x[1:-1] + x[2:]) / 3, atol=1e-6)
    up = result.layers[1].activation[0, 0]  # identity at tap 0 of 2: every other position
    h = result.layers[0].activation[0].sum(0)
    np.testing.assert_allclose(up[0::2], h, atol=1e-6)
    np.testing.assert_array_equal(up[1::2], 0)


def trained_sequential(named: bool) -> nn.Sequential:
    """A plain model with trained-looking weights: far from torch's defaults, BatchNorm's
    running statistics and affine parameters included."""
    torch.manual_seed(11)
    layers = [("conv1", nn.Conv2d(1, 4, 3)), ("bn1", nn.BatchNorm2d(4)), ("relu1", nn.ReLU()),
              ("pool1", nn.MaxPool2d(2)), ("conv2", nn.Conv2d(4, 3, 3, padding=1)),
              ("flat", nn.Flatten()), ("fc", nn.Linear(48, 5))]
    model = nn.Sequential(OrderedDict(layers)) if named else nn.Sequential(*(m for _n, m in layers))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.7 + 0.2)
        bn = model[1]
        bn.running_mean.copy_(torch.randn(4) * 0.3)
        bn.running_var.copy_(torch.rand(4) + 0.5)
        bn.num_batches_tracked.fill_(123)
    return model.eval()


def stack(named: bool):
    names = ("conv1", "bn1", "relu1", "pool1", "conv2", "flat", "fc") if named else (None,) * 7
    specs = [("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("BatchNorm2d", {}), ("ReLU", {}),
             ("MaxPool2d", {"kernel_size": 2}),
             ("Conv2d", {"out_channels": 3, "kernel_size": 3, "padding": 1}), ("Flatten", {}),
             ("Linear", {"out_features": 5})]
    return [L(t, n, **kw) for (t, kw), n in zip(specs, names)]


def save(model_or_state, path, fmt):
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) \
        else model_or_state
    if fmt == "pt":
        torch.save(state, path)
    elif fmt == "npz":
        np.savez(path, **{k: v.numpy() for k, v in state.items()})
    else:
        write_safetensors(path, {k: v.numpy() for k, v in state.items()})


def load_into(config, path, prefix=None):
    report = infer(config.layers, config.input.shape)
    return apply_checkpoint(config, report, path, os.path.basename(str(path)), prefix)


@pytest.mark.parametrize("named", [True, False])
@pytest.mark.parametrize("fmt", ["pt", "safetensors", "npz"])
@pytest.mark.parametrize("prefix", ["", "module.", "features."])
def test_a_saved_state_dict_reproduces_the_models_outputs(tmp_path, named, fmt, prefix):
    model = trained_sequential(named)
    state = {prefix + k: v for k, v in model.state_dict().items()}
    path = tmp_path / f"model.{fmt}"
    save(state, path, fmt)
    config = cfg(stack(named), (2, 1, 10, 10), mode="eval")
    loaded, report = load_into(config, path)
    assert report.ok and report.prefix == prefix
    assert not report.missing and not report.unexpected and not report.mismatched
    assert len(report.matched) == len(state)
    result = run(loaded)
    x = torch.from_numpy(load_input(config.input))
    with torch.no_grad():
        h = x
        for layer, lr in zip(model, result.layers):
            h = layer(h)
            np.testing.assert_allclose(lr.activation, h.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(result.layers[1].buffers["running_var"],
                                  model[1].running_var.numpy())


def test_training_mode_uses_the_batch_and_runs_do_not_drift(tmp_path):
    model = trained_sequential(True)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    loaded, _ = load_into(cfg(stack(True), (2, 1, 10, 10)), tmp_path / "m.pt")
    a, b = run(loaded), run(loaded)  # a training-mode run updates the running statistics...
    np.testing.assert_array_equal(a.layers[-1].activation, b.layers[-1].activation)
    np.testing.assert_array_equal(b.layers[1].buffers["running_mean"],
                                  model[1].running_mean.numpy())  # ...and they are put back
    model.train()
    x = torch.from_numpy(load_input(loaded.input))
    np.testing.assert_allclose(a.layers[1].activation, model[1](model[0](x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    evaluated = run(Config(**{**loaded.__dict__, "mode": "eval"}))
    assert not np.allclose(evaluated.layers[1].activation, a.layers[1].activation)


def test_a_partial_checkpoint_reports_missing_and_unexpected_keys(tmp_path):
    state = trained_sequential(True).state_dict()
    del state["conv2.bias"]
    state["head.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "m.pt")
    config = cfg(stack(True), (2, 1, 10, 10))
    loaded, report = load_into(config, tmp_path / "m.pt")
    assert report.ok and report.missing == ["conv2.bias"] and report.unexpected == ["head.weight"]
    text = "\n".join(report.lines())
    assert "missing keys (the layers keep their init values): conv2.bias" in text
    assert "unexpected keys (no layer takes them): head.weight" in text
    init = run(config)
    result = run(loaded)  # conv2's bias keeps its init value, as load_state_dict(strict=False)
    np.testing.assert_array_equal(result.layers[4].params["bias"], init.layers[4].params["bias"])
    np.testing.assert_array_equal(result.layers[4].params["weight"], state["conv2.weight"])


def test_shapes_that_do_not_fit_are_refused_with_the_key_and_nothing_is_loaded(tmp_path):
    state = trained_sequential(True).state_dict()
    state["conv2.weight"] = torch.zeros(3, 4, 5, 5)
    torch.save(state, tmp_path / "m.pt")
    config = cfg(stack(True), (2, 1, 10, 10))
    loaded, report = load_into(config, tmp_path / "m.pt")
    assert loaded is config and not report.ok and report.weights() == {}
    (problem,) = report.problems
    assert problem.layer == 4 and problem.field == "weights"
    assert "conv2.weight is torch.Size([3, 4, 5, 5])" in str(problem)
    assert "torch.Size([3, 4, 3, 3])" in str(problem)


def test_a_layer_whose_shape_changes_after_loading_is_a_field_error(tmp_path):
    torch.save(trained_sequential(True).state_dict(), tmp_path / "m.pt")
    loaded, _ = load_into(cfg(stack(True), (2, 1, 10, 10)), tmp_path / "m.pt")
    layers = list(loaded.layers)
    layers[4] = layers[4].with_params(kernel_size=5, padding=2)
    with pytest.raises(RunError) as info:
        run(loaded.with_layers(layers))
    (problem,) = info.value.problems
    assert (problem.layer, problem.field) == (4, "weights")
    assert "conv2.weight in m.pt is torch.Size([3, 4, 3, 3])" in problem.message


class Payload:
    """Unpickling this would create a file: the proof that code ran."""

    target = ""

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path, how):
    proof = tmp_path / "pwned"
    Payload.target = str(proof)
    path = tmp_path / "evil.pt"
    payload = {"conv1.weight": torch.zeros(4, 1, 3, 3), "x": Payload()}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    assert not proof.exists()
    with pytest.raises(WeightFileError, match="evil.pt: (refused|not a readable)") as info:
        open_checkpoint(path, "evil.pt")
    assert not proof.exists()
    assert "\n" not in str(info.value)
    config = cfg(stack(True), (2, 1, 10, 10))
    with pytest.raises(WeightFileError):
        load_into(config, path)
    assert not proof.exists()


def test_a_whole_pickled_model_is_refused(tmp_path):
    torch.save(trained_sequential(True), tmp_path / "model.pt")
    with pytest.raises(WeightFileError, match="refused: loading it would import or run code "
                                              r"\(it names torch.nn.modules"):
        open_checkpoint(tmp_path / "model.pt", "model.pt")


def test_a_checkpoint_with_the_state_dict_inside(tmp_path):
    torch.save({"epoch": 3, "state_dict": trained_sequential(True).state_dict()},
               tmp_path / "ckpt.pth")
    ckpt = open_checkpoint(tmp_path / "ckpt.pth")
    assert "conv1.weight" in ckpt.shapes and ckpt.note == "the state_dict under 'state_dict'"


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04garbage" * 10])
@pytest.mark.parametrize("suffix", [".pt", ".npz", ".safetensors"])
def test_damaged_files_are_one_line(tmp_path, content, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(WeightFileError) as info:
        open_checkpoint(path, path.name)
    assert str(info.value).startswith(path.name) and "\n" not in str(info.value)


def test_hostile_safetensors_headers(tmp_path):
    import json
    path = tmp_path / "x.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [10**9, 10**9],
                               "data_offsets": [0, 16]}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    with pytest.raises(WeightFileError, match="which the file does not hold"):
        open_checkpoint(path, "x.safetensors")
    path.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with pytest.raises(WeightFileError, match="its header claims"):
        open_checkpoint(path, "x.safetensors")


def test_hostile_npz_is_read_without_unpickling(tmp_path):
    np.savez(tmp_path / "o.npz", w=np.array([object()], dtype=object))
    with pytest.raises(WeightFileError, match="holds Python objects"):
        open_checkpoint(tmp_path / "o.npz", "o.npz")


def test_editing_one_layer_leaves_preset_and_checkpoint_layers_as_they_were(tmp_path):
    torch.save(trained_sequential(True).state_dict(), tmp_path / "m.pt")
    layers = stack(True)
    layers[0] = layers[0].with_weights(preset(PresetKernel("sobel_x", out=0),
                                              PresetKernel("gabor")))
    config, _ = load_into(cfg(layers, (2, 1, 10, 10)), tmp_path / "m.pt")
    # the checkpoint replaced conv1's preset: put it back, keep conv2 and fc from the file
    layers = list(config.layers)
    layers[0] = layers[0].with_weights(preset(PresetKernel("sobel_x", out=0),
                                              PresetKernel("gabor", out=1)))
    config = config.with_layers(layers)
    before = run(config)
    # (changes that keep conv1's output shape: the layers after it keep theirs)
    for change in (dict(kernel_size=5, padding=1), dict(dilation=2, padding=1), dict(bias=False)):
        changed = config.with_layers([layers[0].with_params(**change)] + layers[1:])
        after = run(changed)
        for i in (1, 4, 6):
            for name, value in before.layers[i].params.items():
                np.testing.assert_array_equal(after.layers[i].params[name], value)
    # and the other way round: other layers and the seed change, the preset conv1 does not
    changed = config.with_layers(layers[:3] + [L("AvgPool2d", "pool1", kernel_size=2)]
                                 + layers[4:])
    after = run(Config(**{**changed.__dict__, "seed": 99}))
    for i in (0, 1, 4, 6):
        for name, value in before.layers[i].params.items():
            np.testing.assert_array_equal(after.layers[i].params[name], value)
    # the input changes nothing either
    again = run(Config(**{**config.__dict__, "input": InputSpec(shape=(2, 1, 10, 10), seed=9)}))
    for i in (0, 1, 4):
        for name, value in before.layers[i].params.items():
            np.testing.assert_array_equal(again.layers[i].params[name], value)


def test_edited_numbers_are_used_and_fall_back_to_init_when_they_no_longer_fit():
    w = np.arange(18, dtype=np.float32).reshape(2, 1, 3, 3)
    numbers = edited({"weight": w, "bias": np.array([1.0, -1.0], np.float32)})
    layer = L("Conv2d", out_channels=2, kernel_size=3).with_weights(numbers)
    result = run(cfg([layer], (1, 1, 6, 6)))
    np.testing.assert_array_equal(result.layers[0].params["weight"], w)
    wider = run(cfg([layer.with_params(kernel_size=5)], (1, 1, 6, 6)))
    init = run(cfg([L("Conv2d", out_channels=2, kernel_size=5)], (1, 1, 6, 6)))
    np.testing.assert_array_equal(wider.layers[0].params["weight"], init.layers[0].params["weight"])


def test_a_missing_checkpoint_file_is_a_field_error(tmp_path):
    layer = L("Conv2d", "conv1", out_channels=2, kernel_size=3).with_weights(
        WeightSpec("checkpoint", file="gone.pt", key="conv1"))
    with pytest.raises(RunError) as info:
        run(cfg([layer], (1, 1, 6, 6)), base_dir=tmp_path)
    assert info.value.problems[0].field == "weights"
    assert "gone.pt: no such file" in str(info.value)
