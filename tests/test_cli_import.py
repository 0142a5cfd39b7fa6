"""``python main.py import FILE -o CONFIG.json``: notes on stderr, nothing inserted unless
--fix, errors as one short line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convexplorer.cli import main
from convexplorer.model.config_io import load_config
from convexplorer.model.shapes import infer

REPO = Path(__file__).resolve().parents[1]

PRINTED = """MNISTConvNet(
  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))
  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (conv2): Conv2d(10, 20, kernel_size=(5, 5), stride=(1, 1))
  (drop): FeatureAlphaDropout(p=0.5, inplace=False)
  (pool2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (fc1): Linear(in_features=320, out_features=50, bias=True)
)
"""


def test_import_prints_notes_and_inserts_nothing(tmp_path, capsys):
    src, out = tmp_path / "model.txt", tmp_path / "model.json"
    src.write_text(PRINTED)
    assert main(["import", str(src), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}: 5 layers, input [1, 1, 28, 28] (guessed)" in captured.out
    assert "FeatureAlphaDropout" in captured.err and "skipped" in captured.err
    assert "insert a Flatten before fc1 (Linear): it gives the 320 features" in captured.err
    assert "add --fix" in captured.err
    config = load_config(out)
    assert [s.name for s in config.layers] == ["conv1", "pool1", "conv2", "pool2", "fc1"]
    assert config.name == "MNISTConvNet"


def test_import_fix_inserts_the_flatten(tmp_path, capsys):
    src, out = tmp_path / "model.txt", tmp_path / "model.json"
    src.write_text(PRINTED)
    assert main(["import", str(src), "-o", str(out), "--fix", "--shape", "1", "1", "28",
                 "28"]) == 0
    captured = capsys.readouterr()
    assert "inserted Flatten (flatten)" in captured.err and "(guessed)" not in captured.out
    config = load_config(out)
    assert [s.type for s in config.layers][-2:] == ["Flatten", "Linear"]
    assert infer(config.layers, (1, 1, 28, 28)).ok


def test_import_errors_are_one_line_and_exit_2(tmp_path, capsys):
    src = tmp_path / "x.py"
    src.write_text("nn.Sequential(nn.LSTM(3, 4))")
    assert main(["import", str(src), "-o", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"convexplorer: {src}: no supported layers found") and \
        err.count("\n") == 1
    assert main(["import", str(tmp_path / "missing.py"), "-o", str(tmp_path / "o.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    src.write_text("nn.ReLU()")
    assert main(["import", str(src), "-o", str(tmp_path / "o.json"), "--shape", "0", "1"]) == 2
    assert "give 2 to 5 sizes" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_import_through_main_py(tmp_path):
    src, out = tmp_path / "seq.py", tmp_path / "seq.json"
    src.write_text("import torch\nmodel = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), "
                   "torch.nn.MaxPool1d(3, stride=2))\n")
    proc = subprocess.run([sys.executable, "main.py", "import", str(src), "-o", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    config = load_config(out)
    assert [s.type for s in config.layers] == ["Conv1d", "MaxPool1d"]
    assert config.input.shape == (1, 2, 64)


def test_notes_on_the_command_line_name_no_form(tmp_path, capsys):
    """Item 17: "check them in the form" / "set it in the form": there is no form there."""
    src, out = tmp_path / "model.txt", tmp_path / "model.json"
    src.write_text(PRINTED)
    assert main(["import", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "form" not in err and "Input shape box" not in err
    assert "print(model) does not show MaxPool2d(return_indices): check them in the written " \
           "config" in err
    assert "give the real one with --shape if it differs" in err
    src.write_text("nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.Linear(8 * 26 * 26, n))")
    assert main(["import", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "out_features=n is not a literal value; set out_features in the written config " \
           "before running it" in err and "form" not in err


MODELS = """
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(8, 1, 3)
"""


def test_class_option_picks_the_class_to_read(tmp_path, capsys):
    """Item 22: several classes: the note says which was read and how to choose another."""
    src, out = tmp_path / "models.py", tmp_path / "model.json"
    src.write_text(MODELS)
    assert main(["import", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "the text defines several models (Encoder, Decoder); Decoder was read, choose " \
           "another with --class NAME" in err
    assert [s.type for s in load_config(out).layers] == ["ConvTranspose2d"]
    assert main(["import", str(src), "-o", str(out), "--class", "Encoder"]) == 0
    assert "Encoder was read, as asked" in capsys.readouterr().err
    assert [s.type for s in load_config(out).layers] == ["Conv2d"]
    assert main(["import", str(src), "-o", str(out), "--class", "Unet"]) == 2
    err = capsys.readouterr().err
    assert err == (f"convexplorer: {src}: --class Unet: there is no class Unet with layers in "
                   "the text; choose one of Encoder, Decoder\n")


def test_absurd_values_are_refused_and_no_json_is_written(tmp_path, capsys):
    """16.6: nn.Conv2d(1, 4, 1e309) was imported with exit 0 and Infinity in the JSON."""
    src, out = tmp_path / "model.py", tmp_path / "model.json"
    src.write_text("import torch.nn as nn\nmodel = nn.Sequential(\n"
                   "    nn.Conv2d(1, 4, 1e309),\n)\n")
    assert main(["import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (f"convexplorer: {src}: line 3: 0 (Conv2d): kernel_size=1e309 is out of range: "
                   "convexplorer takes at most 100,000 there; use a smaller value\n")
    assert not out.exists()


def test_hostile_files_get_a_line_or_a_size_never_none(tmp_path, capsys):
    """16.12: a NUL byte said "line None"; 16.3: a huge file is refused without reading it."""
    src, out = tmp_path / "model.txt", tmp_path / "model.json"
    src.write_text("nn.Sequential(\n    nn.ReLU(),\x00\n)\n")
    assert main(["import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"convexplorer: {src}: line 2: the text holds a NUL character")
    with open(src, "wb") as f:
        f.truncate(5_000_000)  # sparse: 5 MB of NULs
    assert main(["import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the file has 5,000,000 bytes, but convexplorer reads at most 1,000,000 characters" \
        in err and err.count("\n") == 1
    assert not out.exists()


def test_why_no_layers_came_of_the_code_is_said(tmp_path, capsys):
    src = tmp_path / "model.py"
    src.write_text("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                   "        self.features = make_layers(cfg)\n")
    assert main(["import", str(src), "-o", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"{src}: line 4: self.features = make_layers(cfg) is built by a function "
                      "call, which is not run, so its layers are not imported; write them out, "
                      "e.g. as nn.Sequential(...)")
    assert err[-1].startswith(f"convexplorer: {src}: no torch.nn modules found")


@pytest.mark.timeout(20)
def test_import_of_a_fifo_is_refused_without_waiting(tmp_path, capsys):
    import os

    from convexplorer.cli import main

    fifo = tmp_path / "model.txt"
    os.mkfifo(fifo)
    code = main(["import", str(fifo), "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "named pipe" in err and err.count("\n") == 1
