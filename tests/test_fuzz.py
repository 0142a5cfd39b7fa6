"""Fuzz: configs, layer parameters and inputs through load -> validate -> run. Every case ends in
a result or a clean, typed error (ConfigError, RunError, InputError), never anything else.
Issue 16's classes too: absurd numbers, malformed structures, hostile files and the command
line, each case under a time cap and the file cases under a memory cap.

CX_FUZZ=long runs thousands of cases per test; the default keeps CI fast (a few hundred cases
in all, a few seconds).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import string
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer import cli
from convexplorer.engine.inputs import InputError, input_file_shape, load_input_file
from convexplorer.engine.run import RunError, run
from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.config_io import TOP_KEYS, ConfigError, config_from_dict, loads_config
from convexplorer.model.memory import LIMIT_ENV, estimate_bytes
from convexplorer.model.shapes import infer

from . import hostile

LONG = os.environ.get("CX_FUZZ") == "long"
FUZZ = settings(
    max_examples=3000 if LONG else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TYPES = sorted(CATALOGUE)
PARAM_NAMES = sorted({p.name for t in CATALOGUE.values() for p in t.params})

json_scalar = st.one_of(
    st.integers(1, 5), st.none(), st.booleans(), st.integers(-3, 40), st.floats(-2, 2),
    st.just(float("nan")),
    st.sampled_from(["same", "valid", "zeros", "reflect", "circular", "tanh", "none", ""]),
)
json_value = st.one_of(json_scalar, st.lists(st.one_of(st.none(), st.integers(-2, 9)),
                                             max_size=3))


@st.composite
def layer_dicts(draw):
    type_name = draw(st.sampled_from(TYPES * 4 + ["Conv4d", "conv2d", 7]))
    d = {"type": type_name}
    own = list(CATALOGUE[type_name].param_names) if type_name in CATALOGUE else []
    pool = own * 6 + ["name"] if own and draw(st.integers(0, 9)) else PARAM_NAMES + ["kernal_size"]
    keys = draw(st.lists(st.sampled_from(pool or ["name"]), max_size=5, unique=True))
    for k in keys:
        d[k] = draw(json_value) if k != "name" else draw(st.text(string.ascii_letters, max_size=6))
    return d


@st.composite
def config_dicts(draw):
    rank = draw(st.integers(2, 4))
    shape = [draw(st.integers(0 if LONG else 1, 2))] + [draw(st.integers(1, 4))] + [
        draw(st.integers(1, 12)) for _ in range(rank - 2)]
    cfg = {
        "version": draw(st.sampled_from([1] * 12 + [2, 0, "1"])),
        "seed": draw(st.integers(0, 3)),
        "input": {"source": "random", "shape": shape, "seed": 0},
        "layers": draw(st.lists(layer_dicts(), max_size=5)),
    }
    if draw(st.booleans()):
        cfg["objective"] = {"kind": draw(st.sampled_from(["sum", "mean", "channel", "unit",
                                                          "max"])),
                            "layer": draw(st.integers(-1, 5)),
                            "position": draw(st.lists(st.integers(0, 5), max_size=2))}
    if draw(st.integers(0, 9)) == 0:
        cfg[draw(st.sampled_from(["extra", "Layers", "devices"]))] = 1
    return cfg


def _through(cfg_dict) -> str:
    """load -> validate -> run; returns how it ended."""
    try:
        cfg = config_from_dict(cfg_dict, "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return "config error"
    report = infer(cfg.layers, cfg.input.shape)
    for p in report.problems:
        assert p.message and p.label
    try:
        result = run(cfg)
    except RunError as exc:
        assert str(exc)
        assert report.problems or "objective" in str(exc) or "rejects" in str(exc), str(exc)
        return "run error"
    assert not report.problems, [str(p) for p in report.problems]
    assert len(result.layers) == len(cfg.layers)
    for info, lr in zip(report.layers, result.layers):
        assert lr.output_shape == info.output_shape
    return "ok"


@FUZZ
@given(config_dicts())
def test_fuzz_config_dicts(cfg_dict):
    _through(cfg_dict)


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_config_text(text):
    try:
        loads_config(text, "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.json")


@settings(max_examples=200 if LONG else 30, deadline=None)
@given(st.sampled_from(["f4", "f8", "i4", "u1", "b1", "c8", "U3", "O"]),
       st.lists(st.integers(0, 5), min_size=0, max_size=6))
def test_fuzz_npy_inputs(tmp_path_factory, dtype, shape):
    path = tmp_path_factory.mktemp("npy") / "x.npy"
    if dtype == "O":
        np.save(path, np.array([object()], dtype=object), allow_pickle=True)
    else:
        np.save(path, np.zeros(shape, dtype=dtype))
    try:
        arr = load_input_file(path)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert arr.dtype == np.float32 and 2 <= arr.ndim <= 5 and arr.size > 0


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken",
                                     json.dumps({"a": 1}).encode()])
def test_files_that_are_not_images(tmp_path, content):
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match="picture.png"):
        load_input_file(path)


# -- issue 16: absurd numbers, malformed structures, hostile files, the command line -----------
# Each case must also end quickly (TIME_CAP) and the whole test within a memory cap: a
# hostile input may be refused, never waited on or allocated for.

TIME_CAP_S = 3.0
MEMORY_CAP = 1 << 30  # growth of the peak resident memory over one test


def _small(n: int, long_n: int) -> settings:
    return settings(max_examples=long_n if LONG else n, deadline=None,
                    suppress_health_check=list(HealthCheck))


class _Caps:
    """Times each case; checks the test's peak memory growth at the end (Linux only: the peak
    is reset through /proc/self/clear_refs)."""

    def __init__(self):
        self.base = self._reset()

    @staticmethod
    def _status(key: str) -> int | None:
        try:
            with open("/proc/self/status") as fh:
                lines = fh.readlines()
        except OSError:
            return None
        for line in lines:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
        return None

    def _reset(self) -> int | None:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            return None
        return self._status("VmRSS:")

    def check_memory(self) -> None:
        peak = self._status("VmHWM:")
        if self.base is not None and peak is not None:
            assert peak - self.base < MEMORY_CAP, f"peak grew by {(peak - self.base) >> 20} MiB"


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    took = time.perf_counter() - t0
    assert took < TIME_CAP_S, f"{took:.1f} s for {args!r:.200}"
    return out


ABSURD_INTS = st.one_of(
    st.sampled_from([0, -1, 1, 7, 2**31 - 1, 2**31, 2**32, 2**63, 2**64, 10**12, 10**400,
                     -(10**400), 10**4200]),
    st.integers(-(2**70), 2**70), st.integers(10**300, 10**399))
ABSURD_FLOATS = st.one_of(
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -0.0, 5e-324, 1e-300]),
    st.floats())
absurd = st.one_of(ABSURD_INTS, ABSURD_FLOATS, st.lists(st.one_of(ABSURD_INTS, st.none()),
                                                         max_size=3))


@st.composite
def absurd_configs(draw):
    """A small valid config with absurd numbers in some layer keywords and config fields."""
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        lt = CATALOGUE[draw(st.sampled_from(TYPES))]
        numeric = [p.name for p in lt.params if p.kind in ("int", "float", "size", "padding")]
        d = {"type": lt.name}
        for key in draw(st.lists(st.sampled_from(numeric), max_size=3, unique=True)
                        if numeric else st.just([])):
            d[key] = draw(absurd)
        if lt.name in ("Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"):
            d.setdefault("out_channels", 2)
            d.setdefault("kernel_size", 1)
        layers.append(d)
    cfg = {"input": {"source": "random", "shape": [1, 2, 6, 6]}, "layers": layers}
    field = draw(st.sampled_from(["seed", "input.seed", "input.shape", "objective.channel",
                                  "objective.position", "version", "frequency", None, None]))
    value = draw(absurd)
    if field == "seed" or field == "version":
        cfg[field] = value
    elif field == "input.seed":
        cfg["input"]["seed"] = value
    elif field == "input.shape":
        cfg["input"]["shape"] = [1, 2, value, 6]
    elif field == "frequency":
        cfg["input"] = {"source": "signal", "shape": [1, 2, 16], "frequency": value}
    elif field is not None:
        cfg["objective"] = {"kind": "unit", field.split(".")[1]: value}
    return cfg


@_small(100, 3000)
@given(absurd_configs())
def test_fuzz_absurd_numbers(cfg):
    """10**400, 2**31, 1e309, NaN anywhere: a ConfigError or problems naming the field, with a
    short message; never OverflowError, a hang or an allocation beyond the estimate."""
    text = json.dumps(cfg)
    try:
        config = timed(loads_config, text, "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.json: ") and len(str(exc)) < 600, str(exc)
        return
    report = timed(infer, config.layers, config.input.shape)
    for p in report.problems:
        assert p.message and len(str(p)) < 600, str(p)
    if report.ok and estimate_bytes(report) < 64 << 20:
        try:
            timed(run, config)
        except RunError as exc:
            assert len(str(exc)) < 600


json_any = st.recursive(
    st.one_of(st.none(), st.booleans(), ABSURD_INTS, ABSURD_FLOATS, st.text(max_size=8)),
    lambda kids: st.one_of(st.lists(kids, max_size=3),
                           st.dictionaries(st.sampled_from(list(TOP_KEYS) + ["type", "source",
                                                                              "shape", "x"]),
                                           kids, max_size=3)),
    max_leaves=12)


@st.composite
def malformed_configs(draw):
    """Config-shaped JSON with anything in any place: lists for objects, objects for names,
    deep nesting."""
    cfg = draw(st.dictionaries(st.sampled_from(TOP_KEYS), json_any, max_size=4))
    if draw(st.booleans()):
        cfg["layers"] = draw(st.lists(st.one_of(
            st.dictionaries(st.sampled_from(["type", "name", *PARAM_NAMES]), json_any,
                            max_size=3),
            st.fixed_dictionaries({"type": json_any}), json_any), max_size=3))
    text = json.dumps(cfg, allow_nan=True)
    depth = draw(st.sampled_from([0, 0, 0, 17, 100, 5000, 100_000]))
    if depth:
        text = text[:-1] + (", " if len(cfg) else "") + '"deep": ' + "[" * depth + "]" * depth + "}"
    return text


@_small(100, 3000)
@given(malformed_configs())
def test_fuzz_malformed_structures(text):
    try:
        config = timed(loads_config, text, "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.json: ") and len(str(exc)) < 600, str(exc)
        return
    timed(infer, config.layers, config.input.shape)


@st.composite
def hostile_file_bytes(draw):
    """The start of a PNG, BMP, JPEG, GIF or .npy with random sizes and fields, then noise."""
    kind = draw(st.sampled_from(["png", "bmp", "npy", "npy", "jpg", "gif", "noise"]))
    noise = draw(st.binary(max_size=64))
    if kind == "png":
        w, h = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
        if draw(st.booleans()):
            w, h = draw(st.integers(1, 5000)), draw(st.integers(1, 5000))
        return ".png", hostile.png_bytes(w, h, rows=1) if w * h < 10**8 and w < 10**6 else (
            b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", w, h)
            + noise)
    if kind == "bmp":
        w, h = draw(st.integers(-(2**31), 2**31 - 1)), draw(st.integers(-(2**31), 2**31 - 1))
        bpp = draw(st.sampled_from([1, 4, 8, 16, 24, 32, 0, 7]))
        return ".bmp", (b"BM" + struct.pack("<IHHI", 0, 0, 0, 54)
                        + struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, 0, 0, 0, 0, 0, 0) + noise)
    if kind == "npy":
        shape = draw(st.lists(st.one_of(st.integers(0, 6), ABSURD_INTS), max_size=6))
        dtype = draw(st.sampled_from(["<f4", "<f8", "|u1", "<i8", "|b1", "<c8", "|O", "<U3",
                                      "garbage", "<f2"]))
        header = "{" + f"'descr': '{dtype}', 'fortran_order': {draw(st.booleans())}, " \
                       f"'shape': {tuple(shape)!r}, " + "}"
        header = draw(st.sampled_from([header, header[:-3], header.replace("'", ""), ""]))
        body = header.encode() + b" " * (63 - len(header) % 64) + b"\n"
        return ".npy", (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body
                        + draw(st.binary(max_size=200)))
    if kind == "jpg":
        return ".jpg", b"\xff\xd8\xff\xe0" + noise
    if kind == "gif":
        return ".png", b"GIF89a" + noise
    return draw(st.sampled_from([".png", ".npy", ".bmp"])), noise


@_small(60, 2000)
@given(hostile_file_bytes())
def test_fuzz_hostile_files(tmp_path_factory, case):
    """Random headers that claim any size, dtype or shape: a float32 array or an InputError
    naming the file; quickly, and without allocating what the header claims."""
    caps = _Caps()
    suffix, data = case
    path = tmp_path_factory.mktemp("hostile") / f"f{suffix}"
    path.write_bytes(data)
    for read in (input_file_shape, load_input_file):
        try:
            out = timed(read, path)
        except InputError as exc:
            assert str(path) in str(exc) and len(str(exc)) < 600, str(exc)
            continue
        if read is load_input_file:
            assert out.dtype == np.float32 and 2 <= out.ndim <= 5 and out.size > 0
    caps.check_memory()


@_small(40, 1000)
@given(st.one_of(absurd_configs(), malformed_configs()), st.sampled_from(["shapes", "run"]))
def test_fuzz_command_line(tmp_path_factory, cfg, command):
    """The command line on the same inputs: exit 0, 1 or 2 with one line per message; never
    3 (internal error) or a traceback."""
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "cfg.json"
    path.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg), encoding="utf-8")
    argv = [command, str(path)] + (["--out", str(folder / "o")] if command == "run" else [])
    err = io.StringIO()
    os.environ[LIMIT_ENV] = "64"  # a run the estimate puts above 64 MiB is refused
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = timed(cli.main, argv)
    finally:
        del os.environ[LIMIT_ENV]
    text = err.getvalue()
    assert code in (0, 1, 2), text
    assert "Traceback" not in text and "internal error" not in text
    assert all(len(line) < 800 for line in text.splitlines()), text[:800]
