"""The command line, as a user runs it: ``python main.py run CONFIG --out DIR`` and ``shapes``.
A few runs go through a real subprocess (exit code, stdout/stderr, files on disk); the long
matrix of error cases calls ``cli.main`` in-process, which is the same code minus the
interpreter start-up, to keep the suite fast."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convexplorer import cli
from convexplorer.engine.images import STRIP_HEIGHT

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "resources" / "examples"

TOP_KEYS = {"device", "input_shape", "objective", "files", "layers"}
LAYER_KEYS = {"name", "type", "output_shape", "params", "macs", "grad_norms", "files"}
ROLES = {"activation", "activation_png", "indices", "weight", "bias", "grad_weight", "grad_bias",
         "grad_output"}


def main_py(*args, cwd=REPO, timeout=120):
    return subprocess.run([sys.executable, str(REPO / "main.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def expected_png_size(shape) -> tuple[int, int]:
    """(width, height) of the full-resolution picture of batch item 0, worked out here."""
    item = shape[1:]
    if len(item) == 1:  # a vector: one strip
        return item[0], STRIP_HEIGHT
    if len(item) == 2:  # (C, L): one strip per channel, 1-pixel gaps
        c, length = item
        return length, c * (STRIP_HEIGHT + 1) - 1
    if len(item) == 4:  # a volume (C, D, H, W): a row per channel, its depth slices across
        c, d, h, w = item
        return d * (w + 1) - 1, c * (h + 1) - 1
    c, h, w = item[0], item[-2], item[-1]
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    return cols * (w + 1) - 1, rows * (h + 1) - 1


def check_summary(out: Path, layer_types: list[str]) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == TOP_KEYS
    assert set(summary["files"]) == {"input", "grad_input"}
    x = np.load(out / summary["files"]["input"])
    assert list(x.shape) == summary["input_shape"]
    assert np.load(out / summary["files"]["grad_input"]).shape == x.shape
    assert [entry["type"] for entry in summary["layers"]] == layer_types
    for entry in summary["layers"]:
        assert set(entry) == LAYER_KEYS, entry.keys()
        files = entry["files"]
        assert set(files) <= ROLES
        assert {"activation", "activation_png", "grad_output"} <= set(files)
        for role, rel in files.items():
            assert not Path(rel).is_absolute() and (out / rel).is_file(), (role, rel)
            if rel.endswith(".npy"):
                assert role != "activation_png"
        act = np.load(out / files["activation"])
        assert list(act.shape) == entry["output_shape"]
        assert np.load(out / files["grad_output"]).shape == act.shape
        with Image.open(out / files["activation_png"]) as img:
            assert img.size == expected_png_size(act.shape), entry["name"]
        has_weight = "weight" in files
        assert set(entry["grad_norms"]) == ({"weight", "bias"} & set(files))
        if has_weight:
            w, gw = np.load(out / files["weight"]), np.load(out / files["grad_weight"])
            assert w.shape == gw.shape
            assert entry["grad_norms"]["weight"] == pytest.approx(
                float(np.linalg.norm(gw)), rel=1e-5)
            assert entry["params"] == w.size + (np.load(out / files["bias"]).size
                                                if "bias" in files else 0)
        else:
            assert entry["params"] == 0
    return summary


def test_run_mnist_classifier(tmp_path):
    out = tmp_path / "out"
    proc = main_py("run", EXAMPLES / "mnist_convnet_classifier.json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "9 layers on cpu, output [1, 10]" in proc.stdout
    summary = check_summary(out, ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
                                  "Flatten", "Linear", "Linear"])
    assert summary["device"] == "cpu" and summary["input_shape"] == [1, 1, 28, 28]
    assert summary["objective"] == "sum of fc2 (Linear) output"
    layers = {e["name"]: e for e in summary["layers"]}
    assert layers["conv1"]["output_shape"] == [1, 10, 24, 24]
    assert layers["conv1"]["params"] == 260 and layers["conv1"]["macs"] == 144000
    assert set(layers["conv1"]["files"]) == {"activation", "activation_png", "weight", "bias",
                                             "grad_weight", "grad_bias", "grad_output"}
    assert set(layers["pool2"]["files"]) == {"activation", "activation_png", "indices",
                                             "grad_output"}
    idx = np.load(out / layers["pool2"]["files"]["indices"])
    assert idx.shape == (1, 20, 4, 4) and idx.dtype == np.int64 and idx.max() < 64
    assert layers["fc2"]["output_shape"] == [1, 10]
    # the digit went in: the input is the bundled sample image
    x = np.load(out / summary["files"]["input"])
    digit = np.asarray(Image.open(REPO / "resources" / "images" / "digit7.png").convert("L"))
    np.testing.assert_allclose(x[0, 0], digit / 255.0, atol=1e-6)
    # a 10-channel 24x24 layer is a 4x3 grid of maps at one pixel per value
    with Image.open(out / layers["conv1"]["files"]["activation_png"]) as img:
        assert img.size == (4 * 25 - 1, 3 * 25 - 1)


def test_run_1d_example_and_objective_variant(tmp_path):
    out = tmp_path / "o"
    proc = main_py("run", EXAMPLES / "tutorial_maxpool1d.json", "--out", out,
                   "--objective", "unit:pool:1:2:0")
    assert proc.returncode == 0, proc.stderr
    summary = check_summary(out, ["MaxPool1d"])
    assert summary["objective"] == "pool (MaxPool1d) output[1, 2, 0]"
    assert summary["layers"][0]["output_shape"] == [2, 3, 2]
    g = np.load(out / summary["layers"][0]["files"]["grad_output"])
    assert g.sum() == 1 and g[1, 2, 0] == 1
    gin = np.load(out / summary["files"]["grad_input"])
    idx = np.load(out / summary["layers"][0]["files"]["indices"])
    assert gin.sum() == 1 and gin[1, 2, idx[1, 2, 0]] == 1


@pytest.mark.parametrize("objective, label", [
    ("sum", "sum of relu2 (ReLU) output"),
    ("mean", "mean of relu2 (ReLU) output"),
    ("sum:conv1", "sum of conv1 (Conv2d) output"),
    ("sum:0", "sum of conv1 (Conv2d) output"),
    ("mean:-1", "mean of relu2 (ReLU) output"),
    ("channel:conv2:1:3", "sum of conv2 (Conv2d) output[1, 3]"),
    ("unit:relu1:0:5:2,1", "relu1 (ReLU) output[0, 5, 2, 1]"),
])
def test_objective_variants(tmp_path, capsys, objective, label):
    code = cli.main(["run", str(EXAMPLES / "tutorial_conv2d_stack.json"), "--out",
                     str(tmp_path), "--objective", objective])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["objective"] == label


def test_input_npy_and_png(tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal((3, 4, 9)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "npy"
    assert cli.main(["run", str(EXAMPLES / "tutorial_conv1d.json"), "--out", str(out),
                     "--input", str(tmp_path / "x.npy")]) == 0
    summary = check_summary(out, ["Conv1d"])
    assert summary["input_shape"] == [3, 4, 9]
    assert summary["layers"][0]["output_shape"] == [3, 3, 4]
    np.testing.assert_array_equal(np.load(out / "input.npy"), x)

    Image.fromarray((np.arange(32 * 30).reshape(32, 30) % 251).astype(np.uint8)).save(
        tmp_path / "in.png")
    out = tmp_path / "png"
    assert cli.main(["run", str(EXAMPLES / "mnist_convnet.json"), "--out", str(out),
                     "--input", str(tmp_path / "in.png")]) == 0
    summary = check_summary(out, ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU",
                                  "MaxPool2d"])
    assert summary["input_shape"] == [1, 1, 32, 30]
    assert summary["layers"][-1]["output_shape"] == [1, 20, 5, 4]


def test_channel_pngs_option(tmp_path):
    assert cli.main(["run", str(EXAMPLES / "tutorial_conv1d.json"), "--out", str(tmp_path),
                     "--channel-pngs"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    folder = tmp_path / summary["layers"][0]["files"]["channel_pngs"]
    assert sorted(p.name for p in folder.iterdir()) == [f"activation_c{c}.png" for c in range(3)]


def test_shapes_command():
    proc = main_py("shapes", EXAMPLES / "mnist_convnet_classifier.json", "--formulas")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["Layer", "Output", "shape", "Params", "Mult-adds", "Receptive",
                                "field"]
    assert "torch.Size([1, 1, 28, 28])" in lines[1]
    conv1 = next(line for line in lines if line.startswith("conv1 (Conv2d)"))
    assert "torch.Size([1, 10, 24, 24])" in conv1 and "260" in conv1 and "144,000" in conv1
    assert "5x5 (jump 1x1)" in conv1
    total = next(line for line in lines if line.startswith("total"))
    assert "21,840" in total and "480,500" in total
    assert "conv1 (Conv2d) dim 0: floor((28 + 2*0 - 1*(5-1) - 1) / 1) + 1 = 24" in lines


def test_shapes_reports_problems(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"input": {"shape": [1, 3, 8, 8]}, "layers": [
        {"type": "Conv2d", "name": "c", "out_channels": 4, "kernel_size": 3, "groups": 2}]}))
    assert cli.main(["shapes", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"{bad}: c (Conv2d) groups: groups=2 must divide in_channels=3; try 1\n"


def write(tmp_path, data, name: str = "cfg.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


GOOD = {"input": {"source": "random", "shape": [1, 1, 8, 8]},
        "layers": [{"type": "Conv2d", "name": "c", "out_channels": 2, "kernel_size": 3}]}


@pytest.mark.parametrize("argv, code, words", [
    (lambda d: ["run", d / "missing.json", "--out", d / "o"], 2, ["missing.json: no such file"]),
    (lambda d: ["run", write(d, "{\"layers\": [}"), "--out", d / "o"], 2,
     ["not valid JSON (line 1, column"]),
    (lambda d: ["run", write(d, {**GOOD, "layers": [{"type": "Conv2d", "kernal_size": 3}]}),
                "--out", d / "o"], 2, ["unknown key 'kernal_size'", "did you mean"]),
    (lambda d: ["run", write(d, {**GOOD, "layers": [{"type": "Conv2d", "name": "c",
                                                     "out_channels": 2, "kernel_size": 30}]}),
                "--out", d / "o"], 2, ["c (Conv2d) kernel_size: kernel 30 is larger"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--objective", "max"], 2,
     ["--objective: use sum, mean"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--objective", "sum:nope"], 2,
     ["no layer named 'nope'", "layers: c"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--objective", "channel:c:0:9"], 1,
     ["objective channel: 9 is outside"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--input", d / "none.npy"], 2,
     ["--input", "none.npy: no such .npy file"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--input", write(d, "x", "x.png")], 2,
     ["not an image"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--device", "cuda"], 1,
     ["CUDA", "cpu"]),
    (lambda d: ["run", write(d, GOOD), "--out", d / "o", "--device", "tpu"], 1,
     ["'tpu' is not a device name"]),
    (lambda d: ["run", write(d, GOOD), "--out", write(d, "a file", "file.txt")], 1,
     ["--out", "cannot write"]),
    (lambda d: ["run", write(d, {**GOOD, "input": {"source": "image", "path": "no.png"}}),
                "--out", d / "o"], 1, ["input: ", "no.png: no such image file"]),
    (lambda d: ["shapes", write(d, GOOD), "--input", d / "none.png"], 2,
     ["none.png: no such image file"]),
])
def test_errors_exit_nonzero_with_one_short_message(tmp_path, capsys, argv, code, words):
    pytest.importorskip("torch")
    if "cuda" in argv(tmp_path):
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    got = cli.main([str(a) for a in argv(tmp_path)])
    captured = capsys.readouterr()
    assert got == code, captured.err
    err = captured.err
    assert err.startswith("convexplorer: ") and err.endswith("\n")
    assert err.count("\n") == 1 and len(err) < 400, err
    assert "Traceback" not in err and captured.out == ""
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o" / "summary.json").exists()


def test_errors_in_a_subprocess_have_no_traceback(tmp_path):
    bad = write(tmp_path, {**GOOD, "version": 9})
    proc = main_py("run", bad, "--out", tmp_path / "o")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"convexplorer: {bad}: config version 9 is newer than this "
                           "convexplorer reads (version 1); update convexplorer to open it\n")
    proc = main_py("run", bad)  # --out missing: argparse's usage and one error line
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "the following arguments are required: --out" in proc.stderr


def test_unexpected_errors_are_one_line(tmp_path, capsys, monkeypatch):
    def boom(*a, **k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("convexplorer.engine.export.write_run", boom)
    assert cli.main(["run", str(write(tmp_path, GOOD)), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (ZeroDivisionError" in err
    monkeypatch.setenv("CONVEXPLORER_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["run", str(write(tmp_path, GOOD)), "--out", str(tmp_path / "o")])


def test_module_entry_point_matches_main_py():
    proc = subprocess.run([sys.executable, "-m", "convexplorer", "run", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--objective" in proc.stdout and "--out" in proc.stdout


def test_run_a_volume_writes_its_slices(tmp_path):
    out = tmp_path / "vol"
    assert cli.main(["run", str(EXAMPLES / "volume_conv3d.json"), "--out", str(out)]) == 0
    check_summary(out, ["Conv3d", "BatchNorm3d", "ReLU", "MaxPool3d", "Conv3d",
                        "ConvTranspose3d"])  # the activation PNGs: channels x depth slices
    assert cli.main(["run", str(EXAMPLES / "volume_conv3d.json"), "--out", str(out),
                     "--channel-pngs"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    conv1 = summary["layers"][0]
    assert conv1["output_shape"] == [1, 4, 6, 12, 12]
    pngs = sorted(p.name for p in (out / "00_conv1_channels").iterdir())
    assert len(pngs) == 4 * 6 and "activation_c3_d5.png" in pngs
    act = np.load(out / conv1["files"]["activation"])
    img = np.asarray(Image.open(out / "00_conv1_channels" / "activation_c1_d2.png"))
    assert img.shape == (12, 12)
    # the slice's largest value is the brightest pixel (the channel's own range)
    y, x = np.unravel_index(np.argmax(act[0, 1, 2]), (12, 12))
    assert img[y, x] == img.max()
