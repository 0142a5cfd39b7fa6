"""CUDA against CPU: every bundled example (and a stack with every layer family) gives the same
activations and gradients within float tolerance, and exactly the same pooling indices.
Skipped cleanly where torch has no CUDA device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from convexplorer.engine.devices import list_devices
from convexplorer.engine.run import config_dir, run
from convexplorer.model.config_io import load_config
from convexplorer.model.spec import Config, InputSpec, LayerSpec, Objective

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.json"))
L = LayerSpec.make


def compare(a, b, rtol=1e-4, atol=1e-5):
    assert a.device == "cpu" and b.device.startswith("cuda")
    np.testing.assert_array_equal(a.input, b.input)
    np.testing.assert_allclose(b.grad_input, a.grad_input, rtol=rtol, atol=atol)
    assert b.objective_value == pytest.approx(a.objective_value, rel=rtol, abs=atol)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert la.output_shape == lb.output_shape
        np.testing.assert_allclose(lb.activation, la.activation, rtol=rtol, atol=atol,
                                   err_msg=la.label)
        if la.grad_output is not None:
            np.testing.assert_allclose(lb.grad_output, la.grad_output, rtol=rtol, atol=atol,
                                       err_msg=la.label)
        if la.indices is not None:
            np.testing.assert_array_equal(lb.indices, la.indices, err_msg=la.label)
        for name in la.params:
            np.testing.assert_array_equal(lb.params[name], la.params[name])  # same init
            np.testing.assert_allclose(lb.grads[name], la.grads[name], rtol=rtol, atol=atol,
                                       err_msg=f"{la.label} {name}")
            assert lb.grad_norms[name] == pytest.approx(la.grad_norms[name], rel=rtol,
                                                        abs=atol)


@pytest.fixture(autouse=True)
def exact_float32():
    """TF32 matmuls/convolutions on Ampere+ round to 10 bits; compare in true float32."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def test_cuda_is_listed():
    devices = {d.name: d for d in list_devices()}
    assert devices["cuda:0"].available and devices["cuda:0"].label.startswith("CUDA 0: ")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_cpu(path):
    config = load_config(path)
    cpu = run(config, base_dir=config_dir(path), device="cpu")
    gpu = run(config, base_dir=config_dir(path), device="cuda")
    compare(cpu, gpu)


@pytest.mark.parametrize("objective", [Objective(), Objective("mean"),
                                       Objective("unit", 7, 1, 2, (3, 4))])
def test_every_family_matches_cpu(objective):
    # Max pools only see distinct values (random input, LeakyReLU keeps negatives), so no
    # ties, where devices may pick different winners; after the unpool's zeros only averages.
    # The pool feeding the unpool has windows that do not overlap: with overlapping windows
    # two outputs can share a winner, and which value the unpool keeps there is up to the
    # device (torch documents MaxUnpool as nondeterministic on CUDA).
    layers = (
        L("Conv2d", out_channels=4, kernel_size=3, padding=1, padding_mode="reflect"),
        L("BatchNorm2d"),
        L("LeakyReLU", negative_slope=0.2),
        L("AdaptiveMaxPool2d", output_size=(9, 8), return_indices=True),
        L("MaxPool2d", kernel_size=2, stride=2, padding=1, ceil_mode=True,
          return_indices=True),
        L("Conv2d", out_channels=4, kernel_size=3, dilation=2, groups=4, padding="same"),
        L("GELU"),
        L("MaxUnpool2d", kernel_size=2, stride=2, padding=1),
        L("ConvTranspose2d", out_channels=2, kernel_size=3, stride=2, output_padding=1),
        L("AvgPool2d", kernel_size=2, ceil_mode=True, count_include_pad=False),
        L("AdaptiveAvgPool2d", output_size=(4, 3)),
        L("Flatten"), L("Linear", out_features=6), L("Tanh"),
    )
    config = Config(layers=layers, input=InputSpec(shape=(2, 3, 13, 11), seed=4), seed=9)
    compare(run(config, device="cpu", objective=objective),
            run(config, device="cuda:0", objective=objective))


def test_1d_family_matches_cpu():
    layers = (L("Conv1d", out_channels=6, kernel_size=5, stride=2, padding=2,
                padding_mode="circular"),
              L("BatchNorm1d"), L("ReLU"),
              L("MaxPool1d", kernel_size=2, return_indices=True),
              L("MaxUnpool1d", kernel_size=2),
              L("ConvTranspose1d", out_channels=3, kernel_size=4, stride=3, groups=3),
              L("AvgPool1d", kernel_size=3, padding=1),
              L("AdaptiveAvgPool1d", output_size=5), L("Sigmoid"))
    config = Config(layers=layers, input=InputSpec(shape=(3, 2, 40), seed=2), seed=1)
    compare(run(config, device="cpu"), run(config, device="cuda"))


@pytest.mark.parametrize("pinned_limit, small_copy", [
    (0, 256 << 10),  # ordinary (pageable) host memory
    (256 << 20, 0),  # every tensor copied on its own
    (256 << 20, 1 << 40),  # every tensor concatenated first
])
def test_every_transfer_path_matches_cpu(monkeypatch, pinned_limit, small_copy):
    import convexplorer.engine.run as engine_run

    monkeypatch.setattr(engine_run, "PINNED_LIMIT", pinned_limit)
    monkeypatch.setattr(engine_run, "SMALL_COPY", small_copy)
    path = next(p for p in EXAMPLES if p.name == "mnist_convnet.json")
    config = load_config(path)
    compare(run(config, base_dir=config_dir(path), device="cpu"),
            run(config, base_dir=config_dir(path), device="cuda"))


def test_results_survive_later_runs():
    """A result's arrays live in page-locked buffers that torch caches and reuses: they must
    stay as they were while the window still shows them and newer runs come in."""
    layers = (L("Conv2d", out_channels=8, kernel_size=3), L("ReLU"),
              L("MaxPool2d", kernel_size=2, return_indices=True))
    first = run(Config(layers=layers, input=InputSpec(shape=(2, 3, 32, 32), seed=1), seed=1),
                device="cuda")
    kept = [(lr.activation.copy(), None if lr.grad_output is None else lr.grad_output.copy(),
             None if lr.indices is None else lr.indices.copy()) for lr in first.layers]
    for seed in range(2, 6):
        run(Config(layers=layers, input=InputSpec(shape=(2, 3, 32, 32), seed=seed), seed=seed),
            device="cuda")
    for lr, (act, grad, idx) in zip(first.layers, kept, strict=True):
        np.testing.assert_array_equal(lr.activation, act)
        if grad is not None:
            np.testing.assert_array_equal(lr.grad_output, grad)
        if idx is not None:
            np.testing.assert_array_equal(lr.indices, idx)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_weight_sources_match_cpu(tmp_path, mode):
    """Preset, edited and checkpoint weights (BatchNorm's running statistics too) are made on
    the CPU and moved: the same numbers on CUDA, and the running statistics put back between
    runs there too."""
    from convexplorer.model.weights import PresetKernel, WeightSpec, edited

    torch.manual_seed(1)
    state = {"bn.weight": torch.rand(4) + 0.5, "bn.bias": torch.randn(4),
             "bn.running_mean": torch.randn(4), "bn.running_var": torch.rand(4) + 0.5,
             "bn.num_batches_tracked": torch.tensor(7)}
    torch.save(state, tmp_path / "bn.pt")
    layers = (
        L("Conv2d", "conv1", out_channels=4, kernel_size=3).with_weights(WeightSpec(
            "preset", kernels=(PresetKernel("sobel_x", out=0), PresetKernel("gabor")))),
        L("BatchNorm2d", "bn").with_weights(WeightSpec("checkpoint", file="bn.pt", key="bn")),
        L("Conv2d", "conv2", out_channels=2, kernel_size=3).with_weights(edited(
            {"weight": np.arange(72, dtype=np.float32).reshape(2, 4, 3, 3) / 50,
             "bias": np.array([0.5, -0.5], np.float32)})),
    )
    config = Config(layers=layers, input=InputSpec(shape=(2, 1, 10, 10)), mode=mode)
    cpu = run(config, base_dir=tmp_path, device="cpu")
    gpu = run(config, base_dir=tmp_path, device="cuda")
    again = run(config, base_dir=tmp_path, device="cuda")
    compare(cpu, gpu)
    compare(cpu, again)
