"""Hostile inputs on the command line (issue 16): a FIFO or a device as a config, files that
claim huge images, malformed .npy files, 5,000-character paths, absurd numbers, malformed
structures. Each ends in one short line naming the file and the fix and a documented exit code
(1 or 2), within a few seconds; never "internal error" (exit 3), a traceback or a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convexplorer import cli

from . import hostile

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
GOOD = {"input": {"source": "random", "shape": [1, 1, 8, 8]},
        "layers": [{"type": "Conv2d", "name": "c", "out_channels": 2, "kernel_size": 3}]}


def check_one_line(capsys, got: int, code: int, words: list[str], tmp_path: Path,
                   prefix: str = "convexplorer: ") -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert got == code, err
    assert err.startswith(prefix) and err.count("\n") == 1, err
    assert len(err.replace(str(tmp_path), "DIR")) < 400, err
    assert "Traceback" not in err and "internal error" not in err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.mark.parametrize("case", list(hostile.INPUT_FILES))
@pytest.mark.parametrize("command", ["run", "shapes"])
def test_hostile_input_files(tmp_path, capsys, case, command):
    path = hostile.INPUT_FILES[case](tmp_path)
    if path is None:
        pytest.skip("no FIFOs here")
    cfg = hostile.config_file(tmp_path, GOOD)
    argv = [command, str(cfg), "--input", str(path)]
    if command == "run":
        argv += ["--out", str(tmp_path / "o")]
    t0 = time.perf_counter()
    got = cli.main(argv)
    assert time.perf_counter() - t0 < 10
    if command == "shapes" and case in hostile.VALUE_PROBLEMS:
        assert got == 0  # shapes reads headers only; the values are a run's business
        return
    check_one_line(capsys, got, 2, ["--input" if command == "run" else "input: ",
                                    hostile.INPUT_WORDS[case]], tmp_path)


@pytest.mark.parametrize("case", list(hostile.INPUT_FILES))
def test_hostile_files_named_in_a_config(tmp_path, capsys, case):
    path = hostile.INPUT_FILES[case](tmp_path)
    if path is None:
        pytest.skip("no FIFOs here")
    source = "npy" if path.suffix == ".npy" else "image"
    cfg = hostile.config_file(tmp_path, {**GOOD, "input": {"source": source, "path": str(path)}})
    got = cli.main(["run", str(cfg), "--out", str(tmp_path / "o")])
    check_one_line(capsys, got, 1, ["input: ", hostile.INPUT_WORDS[case]], tmp_path)


CONFIGS = {
    "a FIFO": (lambda d: hostile.fifo(d), "is a named pipe (FIFO), not a regular file"),
    "/dev/zero": (lambda d: hostile.device_file(), "/dev/zero: is a device"),
    "a path of 5000 characters": (lambda d: hostile.long_path(d, ".json"),
                                  "cannot read (File name too long)"),
    "too large": (lambda d: hostile.config_file(d, " " * (16 << 20) + "{}"),
                  "larger than the 16.0 MiB a config may be"),
    "JSON nested 100k deep": (
        lambda d: hostile.config_file(d, '{"layers": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "nested more than 16 levels deep"),
    "an integer of 5000 digits": (
        lambda d: hostile.config_file(d, '{"seed": ' + "7" * 5000 + "}"),
        "a number of 5000 digits is far beyond any field's limit"),
    "type given as a list": (
        lambda d: hostile.config_file(d, {**GOOD, "layers": [{"type": ["Conv2d"]}]}),
        '"type" must be a layer type name'),
    "type given as an object": (
        lambda d: hostile.config_file(d, {**GOOD, "layers": [{"type": {"Conv2d": 1}}]}),
        '"type" must be a layer type name'),
    "seed 2**70": (lambda d: hostile.config_file(d, {**GOOD, "seed": 2**70}),
                   "seed must be at most 2147483647"),
    "frequency NaN": (
        lambda d: hostile.config_file(d, json.dumps({**GOOD, "input": {
            "source": "signal", "shape": [1, 1, 16], "frequency": float("nan")}})),
        "input.frequency must be a finite number"),
    "a signal of shape [1, 8]": (
        lambda d: hostile.config_file(d, {**GOOD, "input": {"source": "signal",
                                                            "shape": [1, 8]}}),
        "a signal has a shape (N, C, L)"),
}


@pytest.mark.parametrize("case", list(CONFIGS))
@pytest.mark.parametrize("command", ["run", "shapes"])
def test_hostile_config_files(tmp_path, capsys, case, command):
    make, words = CONFIGS[case]
    path = make(tmp_path)
    if path is None:
        pytest.skip("not on this system")
    argv = [command, str(path)] + (["--out", str(tmp_path / "o")] if command == "run" else [])
    t0 = time.perf_counter()
    got = cli.main(argv)
    assert time.perf_counter() - t0 < 10
    check_one_line(capsys, got, 2, [words], tmp_path)


@pytest.mark.parametrize("field, value", [
    ("out_channels", 10**12), ("stride", 10**400), ("kernel_size", 2**31),
    ("groups", 7), ("dilation", 2**62)])
@pytest.mark.parametrize("command", ["run", "shapes"])
def test_absurd_layer_numbers(tmp_path, capsys, command, field, value):
    layer = {**GOOD["layers"][0], field: value}
    if field == "groups":  # item 1: 1e12 channels and groups=7 searched divisors forever
        layer["out_channels"] = 999_998
    cfg = hostile.config_file(tmp_path, {**GOOD, "layers": [layer]})
    argv = [command, str(cfg)] + (["--out", str(tmp_path / "o")] if command == "run" else [])
    t0 = time.perf_counter()
    got = cli.main(argv)
    assert time.perf_counter() - t0 < 5
    limit = "1000000" if field == "out_channels" else "100000"
    words = ["c (Conv2d) groups: groups=7 must divide"] if field == "groups" else [
        f"c (Conv2d) {field}: ", f"must be at most {limit}"]
    # shapes prints each problem as "CONFIG: problem", as the shapes table's footnote
    check_one_line(capsys, got, 2, words, tmp_path,
                   "convexplorer: " if command == "run" else f"{cfg}: ")


def test_an_out_folder_path_of_5000_characters(tmp_path, capsys):
    cfg = hostile.config_file(tmp_path, GOOD)
    got = cli.main(["run", str(cfg), "--out", str(hostile.long_path(tmp_path, ""))])
    check_one_line(capsys, got, 1, ["--out ", "...", "cannot write (File name too long)"],
                   tmp_path)


def test_a_layer_name_of_a_megabyte_is_exported_under_a_short_file_name(tmp_path, capsys):
    """Item 10: the file names were made from the whole name ("File name too long")."""
    long_name = "n" * (1 << 20)
    cfg = hostile.config_file(tmp_path, {**GOOD, "layers": [
        {**GOOD["layers"][0], "name": long_name},
        {**GOOD["layers"][0], "name": long_name + "2", "in_channels": 2}]})
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert len(out) < 400 and "nnnn..." in out
    files = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert all(len(name) < 100 for name in files), files
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    first, second = (layer["files"]["activation"] for layer in summary["layers"])
    assert first != second and (tmp_path / "o" / first).is_file()
    assert summary["layers"][0]["name"] == long_name  # the summary keeps the whole name


def test_screenshot_into_an_unwritable_place_is_one_line(tmp_path):
    """Item 8: --screenshot under a file printed a raw traceback."""
    blocker = hostile.config_file(tmp_path, "x", "file.txt")
    proc = subprocess.run([sys.executable, "main.py", "--screenshot",
                           str(blocker / "sub" / "shot.png")], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (f"convexplorer: --screenshot {blocker}/sub/shot.png: cannot write "
                           "(Not a directory)\n")


def test_out_of_memory_while_writing_the_images_is_exit_1(tmp_path, capsys, monkeypatch):
    """Item 9: with --ignore-memory-limit, out_channels=1e6 ran, then ran out of memory in the
    PNG rendering: "internal error", exit 3, instead of the documented exit 1."""
    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr("convexplorer.engine.export.save_activation_png", no_memory)
    cfg = hostile.config_file(tmp_path, GOOD)
    got = cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--ignore-memory-limit"])
    check_one_line(capsys, got, 1, [f"{cfg}: out of memory: use a smaller input"], tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
def test_a_run_beyond_the_memory_there_is_is_exit_1(tmp_path):
    """The real thing, in a process allowed 1 GiB more than it has: a million channels."""
    cfg = hostile.config_file(tmp_path, {"input": {"source": "random", "shape": [1, 1, 28, 28]},
                                         "layers": [{"type": "Conv2d", "kernel_size": 3,
                                                     "out_channels": 1_000_000}]})
    script = (
        "import resource, sys, torch\n"
        "torch.nn.Conv2d(1, 2, 3)(torch.ones(1, 1, 8, 8, requires_grad=True)).sum().backward()\n"
        "vm = [l for l in open('/proc/self/status') if l.startswith('VmSize')][0]\n"
        "limit = int(vm.split()[1]) * 1024 + (1 << 30)\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))\n"
        "from convexplorer import cli\n"
        "sys.exit(cli.main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", script, "run", str(cfg), "--out",
                           str(tmp_path / "o"), "--ignore-memory-limit"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"convexplorer: {cfg}: out of memory on cpu")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
