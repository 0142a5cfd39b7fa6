"""``--weights FILE`` and ``--mode`` on the command line: a state_dict saved from a plain
nn.Sequential makes ``print`` show exactly what that model's print() shows, ``run`` and
``compute`` use it, ``shapes`` reports the match; a checkpoint that does not fit is one line per
key, exit code 2, and nothing is run."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from convexplorer.cli import main
from convexplorer.engine.inputs import load_input
from convexplorer.model.config_io import load_config


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def trained(tmp_path):
    torch.manual_seed(2)
    model = nn.Sequential(OrderedDict([("conv1", nn.Conv2d(1, 3, 3)), ("bn1", nn.BatchNorm2d(3)),
                                       ("relu1", nn.ReLU()), ("flat", nn.Flatten()),
                                       ("fc", nn.Linear(3 * 4 * 4, 2))]))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
        model.bn1.running_mean.copy_(torch.randn(3))
        model.bn1.running_var.copy_(torch.rand(3) + 0.2)
    config = {"version": 1, "input": {"source": "random", "shape": [2, 1, 6, 6], "seed": 5},
              "layers": [{"type": "Conv2d", "name": "conv1", "out_channels": 3,
                          "kernel_size": 3},
                         {"type": "BatchNorm2d", "name": "bn1"},
                         {"type": "ReLU", "name": "relu1"},
                         {"type": "Flatten", "name": "flat"},
                         {"type": "Linear", "name": "fc", "out_features": 2}]}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(config))
    ckpt = tmp_path / "trained.pt"
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, ckpt)
    return path, ckpt, model


def test_print_with_weights_and_eval_is_the_models_print(capsys, trained):
    path, ckpt, model = trained
    model.eval()
    x = torch.from_numpy(load_input(load_config(path).input)).requires_grad_(True)
    out = model(x)
    code, text, err = cli(capsys, "print", path, "--weights", ckpt, "--mode", "eval")
    assert code == 0, err
    assert text.rstrip("\n") == str(out)
    assert "matched 9 keys after stripping the prefix 'module.'" in err
    code, weight, _ = cli(capsys, "print", path, "--weights", ckpt, "--layer", "conv1",
                          "--what", "weight")
    assert weight.rstrip("\n") == str(model.conv1.weight)


def test_train_mode_is_the_default(capsys, trained):
    path, ckpt, model = trained
    model.train()
    x = torch.from_numpy(load_input(load_config(path).input))
    code, text, _ = cli(capsys, "print", path, "--weights", ckpt, "--layer", "bn1")
    assert code == 0
    assert text.rstrip("\n") == str(model.bn1(model.conv1(x)))


def test_run_and_compute_use_the_checkpoint(capsys, trained, tmp_path):
    path, ckpt, model = trained
    code, _out, err = cli(capsys, "run", path, "--out", tmp_path / "run", "--weights", ckpt,
                          "--mode", "eval")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "04_fc_weight.npy"),
                                  model.fc.weight.detach().numpy())
    code, out, err = cli(capsys, "compute", path, "--unit", "conv1:0:1:2,2", "--json",
                         "--weights", ckpt)
    assert code == 0, err
    data = json.loads(out)
    assert data["bias"] == pytest.approx(float(model.conv1.bias[1].detach()))


def test_shapes_reports_the_match(capsys, trained):
    path, ckpt, _model = trained
    code, out, err = cli(capsys, "shapes", path, "--weights", ckpt)
    assert code == 0 and "torch.Size([2, 2])" in out
    assert "matched 9 keys" in err


def test_a_checkpoint_that_does_not_fit_is_refused_by_key(capsys, trained, tmp_path):
    path, ckpt, model = trained
    state = torch.load(ckpt, weights_only=True)
    state["module.fc.weight"] = torch.zeros(2, 10)
    del state["module.conv1.bias"]
    state["module.extra"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pt")
    code, out, err = cli(capsys, "print", path, "--weights", tmp_path / "bad.pt")
    assert code == 2 and out == ""
    assert "size mismatch for module.fc.weight: the checkpoint has torch.Size([2, 10]), the " \
           "layer's weight is torch.Size([2, 48])" in err
    assert "missing keys (the layers keep their init values): conv1.bias" in err
    assert "unexpected keys (no layer takes them): module.extra" in err
    assert ("--weights: fc (Linear) weights: checkpoint key module.fc.weight is "
            "torch.Size([2, 10]) but the layer's weight is torch.Size([2, 48]); nothing was "
            "loaded") in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", [b"junk", b""])
def test_an_unreadable_checkpoint_is_one_line(capsys, trained, tmp_path, content):
    path, _ckpt, _model = trained
    (tmp_path / "junk.pt").write_bytes(content)
    code, _out, err = cli(capsys, "run", path, "--out", tmp_path / "o", "--weights",
                          tmp_path / "junk.pt")
    assert code == 2 and err.count("\n") == 1 and "not a readable PyTorch file" in err
    code, _out, err = cli(capsys, "print", path, "--weights", tmp_path / "missing.pt")
    assert code == 2 and "no such file" in err


def test_mode_in_the_config(capsys, trained, tmp_path):
    path, ckpt, model = trained
    data = json.loads(path.read_text())
    data["mode"] = "eval"
    path.write_text(json.dumps(data))
    model.eval()
    x = torch.from_numpy(load_input(load_config(path).input))
    code, text, _ = cli(capsys, "print", path, "--weights", ckpt, "--layer", "bn1")
    assert text.rstrip("\n") == str(model.bn1(model.conv1(x))) and code == 0
    data["mode"] = "test"
    path.write_text(json.dumps(data))
    code, _out, err = cli(capsys, "print", path)
    assert code == 2 and "mode must be one of train, eval; got \"test\"" in err
