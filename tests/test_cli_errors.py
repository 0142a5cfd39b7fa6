"""``python main.py run`` with bad configs, inputs and options: one short line on stderr that
names the file, the layer, the field and the fix; a non-zero exit; never a traceback. (The
common cases are in test_cli.py; these are the rest of issue 7's list.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convexplorer import cli

pytest.importorskip("torch")

GOOD = {"input": {"source": "random", "shape": [1, 1, 8, 8]},
        "layers": [{"type": "Conv2d", "name": "c", "out_channels": 2, "kernel_size": 3}]}


def write(folder: Path, data, name: str = "cfg.json") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def layer(**params) -> dict:
    return {**GOOD, "layers": [{**GOOD["layers"][0], **params}]}


def npy(folder: Path, array: np.ndarray, name: str) -> Path:
    path = folder / name
    np.save(path, array, allow_pickle=True)
    return path


def binary(folder: Path) -> Path:
    path = folder / "bin.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    return path


def not_an_image_input(folder: Path) -> Path:
    (folder / "x.png").write_text("text, not a PNG", encoding="utf-8")
    return write(folder, {**GOOD, "input": {"source": "image", "path": "x.png", "size": [8, 8]}})


# name: (argv builder, exit code, words the one line must hold)
CASES = {
    "unknown layer type, valid ones listed": (
        lambda d: ["run", write(d, {**GOOD, "layers": [{"type": "Conv9d"}]})], 2,
        ['layer 0: unknown layer type "Conv9d"; known types: Conv1d, Conv2d']),
    "unknown top-level key": (
        lambda d: ["run", write(d, {**GOOD, "bogus": 1})], 2,
        ["unknown key 'bogus'; valid keys: version, name"]),
    "config is a folder": (lambda d: ["run", d], 2, ["is a folder, not a regular file"]),
    "config is binary": (lambda d: ["run", binary(d)], 2, ["not a text (JSON) file"]),
    "config is a JSON list": (lambda d: ["run", write(d, "[1, 2]")], 2,
                              ['a config must be a JSON object with "layers"']),
    "groups zero": (lambda d: ["run", write(d, layer(groups=0))], 2,
                    ["c (Conv2d) groups: groups=0 must be at least 1; use 1 or more"]),
    "groups not dividing": (lambda d: ["run", write(d, layer(groups=2, out_channels=3))], 2,
                            ["c (Conv2d) groups: groups=2 must divide in_channels=1 and "
                             "out_channels=3; try 1"]),
    "negative stride": (lambda d: ["run", write(d, layer(stride=-1))], 2,
                        ["c (Conv2d) stride: stride=-1 must be at least 1; use 1 or more"]),
    "pinned in_channels": (lambda d: ["run", write(d, layer(in_channels=3))], 2,
                           ["c (Conv2d) in_channels: in_channels=3 but the previous layer "
                            "gives 1 channels; set in_channels to 1"]),
    "pool padding over half the kernel": (
        lambda d: ["run", write(d, {**GOOD, "layers": [
            {"type": "MaxPool2d", "name": "p", "kernel_size": 2, "padding": 2}]})], 2,
        ["p (MaxPool2d) padding: padding=2 is more than half of kernel_size=2"]),
    "eps not finite": (
        lambda d: ["run", write(d, json.dumps({**GOOD, "layers": [
            {"type": "BatchNorm2d", "name": "bn", "eps": float("nan")}]}))], 2,
        ["bn (BatchNorm2d) eps: eps=nan must be a finite number; default is 1e-05"]),
    "1-D input into Conv2d": (
        lambda d: ["run", write(d, {**GOOD, "input": {"source": "signal", "shape": [1, 1, 64]}})],
        2, ["c (Conv2d): expects a 4-D input (N, C, H, W), but gets torch.Size([1, 1, 64])",
            "Conv1d for a 1-D signal"]),
    "npy of complex numbers": (
        lambda d: ["run", write(d, GOOD), "--input", npy(d, np.zeros((1, 1, 8, 8), complex),
                                                         "c.npy")], 2,
        ["--input", "c.npy: dtype complex128 is not numeric; save float32 values"]),
    "npy of Python objects": (
        lambda d: ["run", write(d, GOOD), "--input", npy(d, np.array([{}], dtype=object),
                                                         "o.npy")], 2,
        ["--input", "o.npy: not a readable .npy array"]),
    "npy of the wrong shape": (
        lambda d: ["run", write(d, GOOD), "--input", npy(d, np.zeros(5, np.float32), "s.npy")],
        2, ["s.npy: array has shape [5]; expected (N, C, L), (N, C, H, W) or (N, C, D, H, W)"]),
    "npy of the wrong rank for the first layer": (
        lambda d: ["run", write(d, GOOD), "--input", npy(d, np.zeros((1, 1, 8), np.float32),
                                                         "r.npy")], 2,
        ["c (Conv2d): expects a 4-D input"]),
    "npy holding NaN": (
        lambda d: ["run", write(d, GOOD), "--input", npy(d, np.full((1, 1, 8, 8), np.nan,
                                                                    np.float32), "n.npy")], 2,
        ["n.npy: array holds NaN or infinite values"]),
    "config input that is not an image": (
        lambda d: ["run", not_an_image_input(d)], 1,
        ["cfg.json: input: ", "x.png: not an image (PNG, JPEG or BMP expected)"]),
    "--out under a file": (
        lambda d: ["run", write(d, GOOD), "--out", write(d, "x", "file.txt") / "sub"], 1,
        ["--out", "file.txt is not a folder"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_short_line_per_error(tmp_path, capsys, case):
    build, code, words = CASES[case]
    argv = [str(a) for a in build(tmp_path)]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "o")]
    got = cli.main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert got == code, err
    assert err.startswith("convexplorer: ") and err.count("\n") == 1, err
    assert len(err.replace(str(tmp_path), "DIR")) < 400, err  # short, whatever the folder
    assert "Traceback" not in err and captured.out == ""
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o" / "summary.json").exists()


def test_too_large_image_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("convexplorer.engine.inputs.MAX_IMAGE_PIXELS", 100)
    big = tmp_path / "big.png"
    Image.new("L", (20, 20)).save(big)
    assert cli.main(["run", str(write(tmp_path, GOOD)), "--out", str(tmp_path / "o"),
                     "--input", str(big)]) == 2
    err = capsys.readouterr().err
    assert err == (f"convexplorer: --input {big}: image is 20x20, larger than 100 pixels; "
                   "resize it first or set a smaller input size\n")


def test_unwritable_out_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("ran although --out cannot be written")

    monkeypatch.setattr("convexplorer.engine.run.run", must_not_run)
    target = write(tmp_path, "x", "taken")
    assert cli.main(["run", str(write(tmp_path, GOOD)), "--out", str(target)]) == 1
    assert capsys.readouterr().err == (f"convexplorer: --out {target}: cannot write (it is a "
                                       "file, not a folder)\n")


def test_runs_above_the_memory_limit_are_refused_unless_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONVEXPLORER_MEMORY_LIMIT_MB", "0.001")  # 1 KiB
    cfg = write(tmp_path, GOOD)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"convexplorer: {cfg}: this run needs about 9.3 KiB at its peak "
                          "(activations, gradients, working memory and images), more than "
                          "the 1.0 KiB limit")
    assert "--ignore-memory-limit" in err
    assert not (tmp_path / "o").exists()
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"),
                     "--ignore-memory-limit"]) == 0
    assert (tmp_path / "o" / "summary.json").is_file()


def test_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    def oom(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr("convexplorer.engine.run.run", oom)
    cfg = write(tmp_path, GOOD)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == (f"convexplorer: {cfg}: out of memory: use a smaller "
                                       "input, fewer channels or a larger stride\n")
