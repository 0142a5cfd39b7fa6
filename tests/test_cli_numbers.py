"""``print`` and ``compute`` on the command line: the text is torch's own, character for
character (checked against the same layers run in plain torch here), and bad requests are one
line naming what is valid."""

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
from convexplorer.resources_path import example_path

from .engine.torch_reference import reference

TUTORIALS = ["tutorial_conv1d.json", "tutorial_maxpool1d.json", "tutorial_conv2d_stack.json",
             "mnist_convnet.json", "dilation_groups_ceil.json", "signal_conv1d.json"]


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def plain_torch(name: str):
    """The example's layers built and run in plain torch (not through convexplorer's engine),
    on the example's input, with backward of the sum of the last output."""
    path = example_path(name)
    config = load_config(path)
    layers = [spec.to_dict() for spec in config.layers]
    x = torch.from_numpy(np.ascontiguousarray(load_input(config.input, path.parent),
                                              dtype=np.float32)).requires_grad_(True)
    ref = reference(layers, x, config.seed, requires_grad=True)
    ref.outputs[-1].sum().backward()
    return config, x, ref


@pytest.mark.parametrize("name", TUTORIALS)
def test_print_of_every_layer_output_is_torchs_print(capsys, name):
    config, x, ref = plain_torch(name)
    for i, out in enumerate(ref.outputs):
        code, text, err = cli(capsys, "print", example_path(name), "--layer", i)
        assert code == 0, err
        assert text == str(out) + "\n"
    code, text, _ = cli(capsys, "print", example_path(name), "--layer", "input")
    assert text == str(x) + "\n"


def test_print_weights_grads_and_indices_are_torchs_print(capsys):
    name = "tutorial_conv2d_stack.json"
    _config, x, ref = plain_torch(name)
    conv = ref.modules[0]
    for what, tensor in (("weight", conv.weight), ("bias", conv.bias),
                         ("grad_weight", conv.weight.grad), ("grad_bias", conv.bias.grad),
                         ("grad_output", ref.outputs[0].grad)):
        code, text, err = cli(capsys, "print", example_path(name), "--layer", "conv1",
                              "--what", what)
        assert code == 0, err
        assert text == str(tensor) + "\n", what
    code, text, _ = cli(capsys, "print", example_path(name), "--layer", "input", "--what",
                        "grad_output")
    assert text == str(x.grad) + "\n"
    _config, _x, ref = plain_torch("tutorial_maxpool1d.json")
    code, text, _ = cli(capsys, "print", example_path("tutorial_maxpool1d.json"), "--what",
                        "indices")
    assert code == 0 and text == str(ref.indices[0]) + "\n"


@pytest.mark.parametrize("name", TUTORIALS)
def test_print_model_is_torchs_print_model(capsys, name):
    _config, _x, ref = plain_torch(name)
    config = load_config(example_path(name))
    from convexplorer.model.pytorch_export import module_names

    names = module_names(config.layers)
    expected = repr(nn.Sequential(OrderedDict(zip(names, ref.modules))))
    code, text, err = cli(capsys, "print", example_path(name), "--model")
    assert code == 0, err
    assert text == expected + "\n"


def test_print_bad_requests_are_one_line(capsys):
    pool = example_path("tutorial_maxpool1d.json")
    code, out, err = cli(capsys, "print", pool, "--what", "weight")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert "pool (MaxPool1d) has no weight" in err and "output" in err and "indices" in err
    code, _out, err = cli(capsys, "print", pool, "--layer", "conv9")
    assert code == 2 and "no layer named 'conv9'" in err and "pool" in err
    code, _out, err = cli(capsys, "print", pool, "--layer", "5")
    assert code == 2 and "layers 0 to 0" in err
    code, _out, err = cli(capsys, "print", example_path("tutorial_conv1d.json"), "--layer",
                          "input", "--what", "weight")
    assert code == 2 and "The input has no weight" in err
    assert "Traceback" not in err


def test_compute_json_terms_add_up_to_torchs_value(capsys):
    name = "tutorial_conv1d.json"
    _config, _x, ref = plain_torch(name)
    code, out, err = cli(capsys, "compute", example_path(name), "--unit", "conv:1:2:1",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["layer"] == "conv (Conv1d)" and data["unit"] == [1, 2, 1]
    value = float(ref.outputs[0][1, 2, 1].detach())
    assert data["value"] == pytest.approx(value, abs=1e-6)
    assert data["recomputed"] == pytest.approx(value, abs=1e-5)
    total = sum(t["product"] for t in data["terms"]) + data["bias"]
    assert total == pytest.approx(value, abs=1e-5)
    assert len(data["terms"]) == 4 * 3  # 4 input channels x kernel 3
    for t in data["terms"]:
        assert set(t) >= {"input_index", "input_value", "weight_index", "weight_value",
                          "product"}
        assert t["product"] == pytest.approx(t["input_value"] * t["weight_value"], abs=1e-6)


def test_compute_text_and_bad_units(capsys):
    path = example_path("tutorial_maxpool1d.json")
    code, out, err = cli(capsys, "compute", path, "--unit", "pool:0:1:1")
    assert code == 0, err
    assert "pool (MaxPool1d)" in out
    code, out, err = cli(capsys, "compute", path, "--unit", "pool:0:7:1")
    assert code == 2 and out == ""
    assert "channel 7 is outside 0..2" in err and err.count("\n") == 1
    code, _out, err = cli(capsys, "compute", path, "--unit", "pool:0:1")
    assert code == 2 and "give 3 indices" in err
    code, _out, err = cli(capsys, "compute", path, "--unit", "nonsense")
    assert code == 2 and "LAYER:BATCH:CHANNEL" in err
    code, _out, err = cli(capsys, "compute", path, "--unit", "input:0:0:0")
    assert code == 2 and "The input is data" in err


def test_compute_json_is_strict_json():
    from convexplorer.cli_numbers import strict_json

    data = strict_json({"value": float("-inf"), "terms": [{"product": float("nan")}],
                        "bias": None, "unit": (0, 1)})
    assert data == {"value": "-inf", "terms": [{"product": "nan"}], "bias": None,
                    "unit": [0, 1]}
    json.dumps(data, allow_nan=False)  # raises on a non-finite number


def test_compute_a_unit_of_a_volume(capsys):
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "resources" / "examples" / "volume_conv3d.json"
    assert main(["compute", str(config), "--unit", "conv1:0:1:2,3,4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["unit"] == [0, 1, 2, 3, 4] and len(doc["terms"]) == 27
    assert [w["axis"] for w in doc["window"]] == ["D", "H", "W"]
    assert abs(doc["difference"]) < 1e-5
