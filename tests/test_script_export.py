"""The runnable script (issue 13): for every bundled example, the exported plain-PyTorch script
run in a subprocess prints the very text the app's ``print`` prints (input, print(model), every
layer's output) and the objective and gradient norms the run computed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from convexplorer.cli import main
from convexplorer.engine.inputs import load_input, random_input
from convexplorer.engine.run import run
from convexplorer.engine.script import split_printed
from convexplorer.model.config_io import load_config
from convexplorer.model.spec import InputSpec, layer_label
from convexplorer.model.torch_text import scalar_str, size_str
from convexplorer.resources_path import example_path, resources_dir

EXAMPLES = sorted(p.name for p in (resources_dir() / "examples").glob("*.json"))


def run_script(script, cwd):
    """Run an exported script with as many torch threads as this process uses: a reduction
    split over another number of threads can round a last digit differently."""
    import os

    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


def app_print(capsys, path, *args) -> str:
    assert main(["print", str(path), *map(str, args)]) == 0
    return capsys.readouterr().out.rstrip("\n")


@pytest.mark.parametrize("name", EXAMPLES)
def test_exported_script_prints_what_the_app_prints(tmp_path, capsys, name):
    check_script(tmp_path, capsys, example_path(name))


# every merge, by name, index and "input", a broadcast gate, and an unpool across a merge
MERGES = """{"name": "merges", "seed": 4, "input": {"source": "random", "shape": [2, 3, 6, 6]},
 "layers": [
  {"type": "Conv2d", "name": "feat", "out_channels": 4, "kernel_size": 3, "padding": 1},
  {"type": "MaxPool2d", "name": "pool", "kernel_size": 2, "return_indices": true},
  {"type": "Conv2d", "out_channels": 4, "kernel_size": 1},
  {"type": "Add", "name": "res", "from": 1},
  {"type": "MaxUnpool2d", "name": "unpool", "kernel_size": 2},
  {"type": "AdaptiveAvgPool2d", "output_size": 1},
  {"type": "Sigmoid", "name": "gate"},
  {"type": "Multiply", "name": "se", "from": "feat"},
  {"type": "Concat", "name": "cat", "from": ["input", "4"]},
  {"type": "Dropout", "p": 0.3}
 ]}"""


def test_exported_script_with_every_merge_prints_what_the_app_prints(tmp_path, capsys):
    path = tmp_path / "merges.json"
    path.write_text(MERGES, encoding="utf-8")
    check_script(tmp_path, capsys, path)


def check_script(tmp_path, capsys, path):
    script = tmp_path / "net.py"
    assert main(["script", str(path), "-o", str(script)]) == 0
    capsys.readouterr()
    done = run_script(script, tmp_path)
    assert done.returncode == 0, done.stderr
    printed = split_printed(done.stdout)
    config = load_config(path)
    assert printed["input"] == app_print(capsys, path, "--layer", "input")
    assert printed["print(model)"] == app_print(capsys, path, "--model")
    for i, spec in enumerate(config.layers):
        assert printed[f"{layer_label(i, spec)} output"] == app_print(capsys, path, "--layer",
                                                                     i), spec
    result = run(config, base_dir=path.parent)
    objective = next(v for k, v in printed.items() if k.startswith("objective: "))
    assert objective.startswith("tensor(")
    assert float(objective[7:].split(",")[0].rstrip(")")) == pytest.approx(
        result.objective_value, rel=1e-4, abs=6e-5)
    lines = printed["parameters: name, .grad.size(), .grad.norm()"].splitlines()
    expected = []
    from convexplorer.model.pytorch_export import module_names

    for name_, lr in zip(module_names(config.layers), result.layers):
        for pname, grad in lr.grads.items():
            expected.append(f"{name_}.{pname} {size_str(grad.shape)} "
                            f"{scalar_str(lr.grad_norms[pname])}")
    assert lines == expected


@pytest.mark.parametrize("seed, shape", [(0, (2, 4, 5)), (3, (1, 1, 28, 28)), (2**40, (7,)),
                                         (12345, (2, 3, 4, 5, 6))])
def test_random_input_is_torchs_randn_and_rand(seed, shape):
    torch.manual_seed(seed)
    np.testing.assert_array_equal(random_input(shape, seed), torch.randn(shape).numpy())
    torch.manual_seed(seed)
    np.testing.assert_array_equal(random_input(shape, seed, "uniform"),
                                  torch.rand(shape).numpy())
    spec = InputSpec(source="random", shape=shape[:5] if len(shape) > 1 else (1, 1) + shape,
                     seed=seed)
    torch.manual_seed(seed)
    np.testing.assert_array_equal(load_input(spec), torch.randn(spec.shape).numpy())


def test_random_input_leaves_torchs_global_random_state_alone():
    torch.manual_seed(5)
    expected = torch.randn(3)
    torch.manual_seed(5)
    random_input((2, 2), 0)
    np.testing.assert_array_equal(torch.randn(3), expected)


def test_script_of_a_stack_with_a_bad_auto_value_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "input": {"source": "random", "shape": [1, 3, 8, 8]},'
                   ' "layers": [{"type": "Flatten"}, {"type": "BatchNorm2d"}]}')
    code = main(["script", str(bad), "-o", str(tmp_path / "x.py")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("objective", [
    "cross_entropy:7", "mse:fc1:randn:3", "mse", "gradient:conv2:4", "unit:fc2:0:3",
    "channel:conv1:0:2", "mean:pool1"])
def test_script_computes_the_same_objective_and_gradients(tmp_path, capsys, objective):
    import json

    from convexplorer.cli import parse_objective

    path = example_path("mnist_convnet_classifier.json")
    config = load_config(path)
    names = [s.name for s in config.layers]
    data = json.loads(path.read_text())
    data["objective"] = parse_objective(objective, names).to_dict()
    data["input"]["path"] = "sample:digit7.png"
    cfg_path = tmp_path / "net.json"
    cfg_path.write_text(json.dumps(data))
    script = tmp_path / "net.py"
    assert main(["script", str(cfg_path), "-o", str(script)]) == 0
    capsys.readouterr()
    done = run_script(script, tmp_path)
    assert done.returncode == 0, done.stderr
    printed = split_printed(done.stdout)
    result = run(load_config(cfg_path), base_dir=tmp_path)
    value = next(v for k, v in printed.items() if k.startswith("objective: "))
    assert float(value[7:].split(",")[0].rstrip(")")) == pytest.approx(  # printed to 4 places
        result.objective_value, rel=1e-4, abs=6e-5)
    lines = printed["parameters: name, .grad.size(), .grad.norm()"].splitlines()
    expected = [f"{lr.name}.{p} None" if p in lr.no_grad else
                f"{lr.name}.{p} {size_str(g.shape)} {scalar_str(lr.grad_norms[p])}"
                for lr in result.layers for p, g in lr.grads.items()]
    assert lines == expected


def weighted_config(tmp_path):
    """A stack with every weight source: a preset conv, an edited conv (in a sidecar), a
    BatchNorm and a Linear from a checkpoint, in eval mode."""
    from collections import OrderedDict

    from torch import nn

    from convexplorer.model.config_io import save_config
    from convexplorer.model.spec import Config, LayerSpec
    from convexplorer.model.weights import PresetKernel, WeightSpec, edited

    torch.manual_seed(4)
    trained = nn.Sequential(OrderedDict([("bn", nn.BatchNorm2d(6)), ("fc", nn.Linear(6, 3))]))
    with torch.no_grad():
        for p in trained.parameters():
            p.copy_(torch.randn_like(p))
        trained.bn.running_mean.copy_(torch.randn(6))
        trained.bn.running_var.copy_(torch.rand(6) + 0.5)
    torch.save(trained.state_dict(), tmp_path / "trained.pt")
    rng = np.random.default_rng(3)
    numbers = edited({"weight": rng.standard_normal((6, 4, 5, 5)).astype(np.float32),
                      "bias": rng.standard_normal(6).astype(np.float32)})
    L = LayerSpec.make
    layers = (
        L("Conv2d", "conv1", out_channels=4, kernel_size=3).with_weights(WeightSpec(
            "preset", kernels=(PresetKernel("sobel_x", out=0), PresetKernel("gabor", out=1),
                               PresetKernel("gaussian", out=2, sigma=0.8),
                               PresetKernel("laplacian", out=3)))),
        L("ReLU", "relu1"),
        L("Conv2d", "conv2", out_channels=6, kernel_size=5).with_weights(numbers),
        L("BatchNorm2d", "bn").with_weights(WeightSpec("checkpoint", file="trained.pt",
                                                       key="bn")),
        L("AdaptiveAvgPool2d", "gap", output_size=1), L("Flatten", "flat"),
        L("Linear", "fc", out_features=3).with_weights(WeightSpec("checkpoint",
                                                                  file="trained.pt", key="fc")),
    )
    config = Config(layers=layers, input=InputSpec(shape=(2, 1, 12, 12), seed=1), mode="eval")
    path = tmp_path / "net.json"
    save_config(config, path)
    assert (tmp_path / "net.weights.npz").is_file()  # conv2's numbers are a sidecar
    return path, trained


def test_script_reproduces_preset_edited_and_checkpoint_weights(tmp_path, capsys):
    path, trained = weighted_config(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    script = out / "weighted.py"
    assert main(["script", str(path), "-o", str(script)]) == 0
    capsys.readouterr()
    assert (out / "weighted.weights.npz").is_file()
    text = script.read_text()
    assert "model.eval()" in text and "load_state_dict" in text
    done = run_script(script, out)
    assert done.returncode == 0, done.stderr
    printed = split_printed(done.stdout)
    config = load_config(path)
    for i, spec in enumerate(config.layers):
        assert printed[f"{layer_label(i, spec)} output"] == app_print(capsys, path, "--layer",
                                                                     i), spec
    result = run(config, base_dir=tmp_path)
    np.testing.assert_array_equal(result.layers[6].params["weight"], trained.fc.weight.detach())
