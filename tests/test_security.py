"""Files are data, never code: configs are JSON, pasted PyTorch text is parsed and never run,
arrays are loaded without pickle, and weights never come from a torch file unless with
``weights_only=True``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from convexplorer.model.config_io import ConfigError, loads_config

PACKAGE = Path(__file__).resolve().parents[1] / "convexplorer"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def calls(pattern: str) -> list[tuple[Path, int, str]]:
    """Every source line (outside comments) that matches ``pattern``."""
    found = []
    for path in SOURCES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(pattern, code):
                found.append((path.relative_to(PACKAGE), n, line.strip()))
    return found


def test_the_package_loads_no_code_from_files():
    assert len(SOURCES) > 20
    unsafe_torch = [c for c in calls(r"torch\.load\(|torch\.jit\.load\(")
                    if "weights_only=True" not in c[2]]
    assert unsafe_torch == []
    assert calls(r"\bpickle\.|\bmarshal\.|\byaml\.load\(|\bshelve\.") == []
    assert calls(r"(?<![\w.])(eval|exec)\(|__import__\(|importlib\.import_module\(") == []
    # .npy files are read by their header and np.fromfile (engine.inputs), which never unpickle
    np_loads = calls(r"\bnp\.load\(|\bnumpy\.load\(")
    assert all("allow_pickle=False" in c[2] for c in np_loads)
    assert calls(r"np\.fromfile\(") and calls(r"read_array_header")


def test_a_config_cannot_name_code(tmp_path):
    for data in ({"layers": [{"type": "os.system", "name": "x"}]},
                 {"layers": [{"type": "Conv2d", "out_channels": 1, "kernel_size": 1,
                              "__class__": "builtins.exec"}]},
                 {"layers": [], "__reduce__": ["os.system", ["touch pwned"]]}):
        with pytest.raises(ConfigError):
            loads_config(json.dumps(data))
    assert not (tmp_path / "pwned").exists()


def test_pasted_pytorch_code_is_parsed_not_run(tmp_path, monkeypatch):
    from convexplorer.model.pytorch_code import ImportError_, import_text

    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    text = ("nn.Sequential(nn.Conv2d(1, 2, 3), "
            f"__import__('pathlib').Path({str(marker)!r}).touch())")
    try:
        result = import_text(text)
    except ImportError_:
        result = None
    assert not marker.exists()
    if result is not None:
        assert [s.type for s in result.config.layers] == ["Conv2d"]


def test_npy_holding_pickled_objects_is_refused(tmp_path):
    from convexplorer.engine.inputs import InputError, load_input_file

    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="not a readable .npy array"):
        load_input_file(path)
