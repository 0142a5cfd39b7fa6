"""``python main.py import FILE -o CONFIG.json``: notes on stderr, nothing inserted unless
--fix, errors as one short line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from convexplorer.cli import main
from convexplorer.model.config_io import load_config
from convexplorer.model.shapes import infer

REPO = Path(__file__).resolve().parents[1]

PRINTED = """MNISTConvNet(
  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))
  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (conv2): Conv2d(10, 20, kernel_size=(5, 5), stride=(1, 1))
  (drop): Dropout2d(p=0.5, inplace=False)
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
    assert "Dropout2d" in captured.err and "skipped" in captured.err
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
