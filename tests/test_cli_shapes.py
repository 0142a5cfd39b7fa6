"""``python main.py shapes``: the formulas need no torch, so the command prints without
importing it (torch's import costs seconds); ``--check`` also verifies on the meta device."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "resources" / "examples"

PROBE = """
import sys
from convexplorer.cli import main
code = main(sys.argv[1:])
print("TORCH" if "torch" in sys.modules else "NO-TORCH", code)
"""


def probe(*args):
    return subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_shapes_prints_without_importing_torch():
    proc = probe("shapes", EXAMPLES / "mnist_convnet.json", "--formulas")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "NO-TORCH 0"
    assert any(line.startswith("pool2 (MaxPool2d)") and "torch.Size([1, 20, 4, 4])" in line
               for line in lines)


def test_shapes_check_verifies_on_the_meta_device():
    plain = probe("shapes", EXAMPLES / "mnist_convnet_classifier.json")
    checked = probe("shapes", EXAMPLES / "mnist_convnet_classifier.json", "--check")
    assert checked.stdout.splitlines()[-1] == "TORCH 0", checked.stderr
    assert checked.stdout.splitlines()[:-1] == plain.stdout.splitlines()[:-1]


def test_shapes_warns_of_a_linear_on_a_map_and_exits_0(tmp_path, capsys):
    import json

    from convexplorer import cli

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"input": {"shape": [1, 1, 8, 8]}, "layers": [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
        {"type": "Linear", "name": "fc", "out_features": 5}]}))
    assert cli.main(["shapes", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert err == (f"{cfg}: warning: fc (Linear): acts on the last dimension only: it gets "
                   "torch.Size([1, 2, 6, 6]), treats each of its 12 rows of 6 values as a "
                   "separate input and gives torch.Size([1, 2, 6, 5]); insert a Flatten before "
                   "it so that it sees every value of a batch item\n")
