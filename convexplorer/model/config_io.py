"""Config files (JSON, version 1): reading with clear errors, and atomic writing.

Structure is checked here (version, known keys and layer types); parameter values are kept as
written and checked by ``model.validate``, so a config with a bad value still loads and the bad
field can be shown and fixed instead of the whole file being refused.
"""

from __future__ import annotations

import difflib
import glob
import json
import math
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from . import locks
from .catalogue import CATALOGUE, some_types
from .files import FileProblem, read_regular, short_path
from .limits import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_FREQUENCY,
    MAX_IMAGE_SIDE,
    MAX_INT,
    MIN_FREQUENCY,
    fmt_number,
)
from .spec import (
    CONFIG_VERSION,
    DISTRIBUTIONS,
    IMAGE_MODES,
    INPUT_SOURCES,
    OBJECTIVE_KINDS,
    SIGNALS,
    Config,
    InputSpec,
    LayerSpec,
    Objective,
    freeze,
)
from .weights_io import WeightsError, split_document, weights_from_dict

TOP_KEYS = ("version", "name", "seed", "input", "device", "objective", "mode", "layers")
MODES = ("train", "eval")
INPUT_KEYS = {
    "random": ("source", "shape", "seed", "distribution"),
    "signal": ("source", "shape", "seed", "signal", "frequency"),
    "image": ("source", "path", "size", "mode"),
    "npy": ("source", "path"),
}
OBJECTIVE_KEYS = ("kind", "layer", "batch", "channel", "position", "target", "seed")


class ConfigError(ValueError):
    """A config that cannot be read. The message names the file, the layer and the key."""


# Messages: whole sentences with named placeholders (a translation needs them whole).
TOO_DEEP = ("{source}: the JSON is nested more than {limit} levels deep; a config has three "
            "(the config, its layers, a layer)")
TOO_MANY_DIGITS = ("{source}: line {line}, column {column}: a number of {digits} digits is far "
                   "beyond any field's limit (the largest is {limit})")
TOO_LONG_TEXT = "{source}: the text is {size} characters long, more than a config may be ({limit})"
NOT_A_NAME = "{where}: \"type\" must be a layer type name such as \"Conv2d\", got {value}"
NOT_A_VALUE = ("{where}: {key} must be a number, true or false, a string or a list, got "
               "{value}")
AT_MOST = "{where} must be at most {limit}, got {value}"
OUT_OF_RANGE = "{where} must be a finite number from {low} to {high}, got {value}"
SIGNAL_RANK = ("{where}: a signal has a shape (N, C, L) of 3 values (or up to 5: N, C, then "
               "sizes), got {value}")
DEVICE_NAME = 64  # characters: "cuda:0" is a device name, a long text is not


def _show(value: Any, limit: int = 60) -> str:
    """A JSON value as a message shows it: abbreviated, so a megabyte of input cannot make a
    megabyte of message."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt_number(value)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _keys_msg(valid, key: str | None = None) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1) if key else []
    hint = f"did you mean '{close[0]}'? " if close else ""
    return hint + "valid keys: " + ", ".join(valid)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _int(value: Any, where: str, *, minimum: int | None = None,
         maximum: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where} must be at least {minimum}, got {fmt_number(value)}")
    if value > maximum:
        raise ConfigError(AT_MOST.format(where=where, limit=fmt_number(maximum),
                                         value=fmt_number(value)))
    return value


def _int_list(value: Any, where: str, *, lengths, minimum: int = 1,
              maximum: int = MAX_INT) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or len(value) not in lengths:
        lengths = list(lengths)
        want = (f"{lengths[0]} to {lengths[-1]}" if len(lengths) > 2
                else " or ".join(str(n) for n in lengths))
        raise ConfigError(f"{where} must be a list of {want} integers, got {_show(value)}")
    return tuple(_int(v, where, minimum=minimum, maximum=maximum) for v in value)


def _choice(value: Any, where: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}; got {_show(value)}")
    return value


def _check_keys(d: dict, valid, where: str) -> None:
    for key in d:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key '{_short(key)}'; "
                              f"{_keys_msg(valid, key[:100])}")


def input_from_dict(d: Any, where: str = "input") -> InputSpec:
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be an object like {{\"source\": \"random\", ...}}")
    source = _choice(d.get("source", "random"), f"{where}.source", INPUT_SOURCES)
    _check_keys(d, INPUT_KEYS[source], f"{where} (source '{source}')")
    kw: dict[str, Any] = {"source": source}
    if source in ("random", "signal"):
        if "shape" in d:
            kw["shape"] = _int_list(d["shape"], f"{where}.shape", lengths=range(2, 6))
            if source == "signal" and len(kw["shape"]) < 3:
                raise ConfigError(SIGNAL_RANK.format(where=f"{where}.shape",
                                                     value=_show(d["shape"])))
        elif source == "signal":
            kw["shape"] = (1, 1, 64)
        if "seed" in d:
            kw["seed"] = _int(d["seed"], f"{where}.seed", minimum=0)
    if source == "random" and "distribution" in d:
        kw["distribution"] = _choice(d["distribution"], f"{where}.distribution", DISTRIBUTIONS)
    if source == "signal":
        if "signal" in d:
            kw["signal"] = _choice(d["signal"], f"{where}.signal", SIGNALS)
        if "frequency" in d:
            f = d["frequency"]
            if (isinstance(f, bool) or not isinstance(f, int | float)
                    or not MIN_FREQUENCY <= f <= MAX_FREQUENCY or not math.isfinite(f)):
                raise ConfigError(OUT_OF_RANGE.format(
                    where=f"{where}.frequency", low=fmt_number(MIN_FREQUENCY),
                    high=fmt_number(MAX_FREQUENCY), value=_show(f)))
            kw["frequency"] = float(f)
    if source in ("image", "npy"):
        path = d.get("path")
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{where}.path: an {source} input needs a file path")
        kw["path"] = path
    if source == "image":
        if d.get("size") is not None:
            kw["size"] = _int_list(d["size"], f"{where}.size", lengths=(2,),
                                   maximum=MAX_IMAGE_SIDE)
        if "mode" in d:
            kw["mode"] = _choice(d["mode"], f"{where}.mode", IMAGE_MODES)
    return InputSpec(**kw)


def objective_from_dict(d: Any, where: str = "objective") -> Objective:
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be an object like {{\"kind\": \"sum\"}}")
    _check_keys(d, OBJECTIVE_KEYS, where)
    kw: dict[str, Any] = {"kind": _choice(d.get("kind", "sum"), f"{where}.kind", OBJECTIVE_KINDS)}
    if "layer" in d:
        kw["layer"] = _int(d["layer"], f"{where}.layer", minimum=-1)
    for key in ("batch", "channel"):
        if key in d:
            kw[key] = _int(d[key], f"{where}.{key}", minimum=0)
    if "position" in d:
        kw["position"] = _int_list(d["position"], f"{where}.position", lengths=range(0, 4),
                                   minimum=0)
    if "target" in d:  # cross_entropy: a class per batch item (or one); mse: zeros or randn
        if kw["kind"] == "mse":
            kw["target"] = _choice(d["target"], f"{where}.target", ("zeros", "randn"))
        else:
            kw["target"] = _int_list(d["target"], f"{where}.target",
                                     lengths=range(1, 100_001), minimum=0)
    if "seed" in d:
        kw["seed"] = _int(d["seed"], f"{where}.seed", minimum=0)
    return Objective(**kw)


def layer_from_dict(d: Any, index: int, where: str = "", base_dir=None) -> LayerSpec:
    prefix = f"{where}layer {index}"
    if not isinstance(d, dict):
        raise ConfigError(f"{prefix} must be an object like {{\"type\": \"Conv2d\", ...}}")
    type_name = d.get("type")
    if type_name is None:
        raise ConfigError(f"{prefix}: missing \"type\"; known types: {some_types()}")
    if not isinstance(type_name, str):
        raise ConfigError(NOT_A_NAME.format(where=prefix, value=_show(type_name)))
    if type_name not in CATALOGUE:
        raise ConfigError(f"{prefix}: unknown layer type {_show(type_name)}; "
                          f"known types: {some_types(type_name[:100])}")
    lt = CATALOGUE[type_name]
    name = d.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{prefix} ({type_name}): name must be a string")
    label = f"{prefix} ({_short(name) + ', ' if name else ''}{type_name})"
    valid = ("type", "name", "weights") + lt.param_names
    params = {}
    for key, value in d.items():
        if key in ("type", "name", "weights"):
            continue
        if key not in lt.param_names:
            raise ConfigError(f"{label}: unknown key '{_short(key)}'; "
                              f"{_keys_msg(valid, key[:100])}")
        if isinstance(value, dict):  # no parameter takes an object
            raise ConfigError(NOT_A_VALUE.format(where=label, key=key, value=_show(value)))
        params[key] = freeze(value)
    spec = LayerSpec.make(type_name, name, **params)
    if "weights" in d:
        try:
            spec = spec.with_weights(weights_from_dict(d["weights"], label, base_dir))
        except WeightsError as exc:
            raise ConfigError(str(exc)) from None
    return spec


def config_from_dict(data: Any, source: str = "config", base_dir=None) -> Config:
    """Build a Config from parsed JSON; ConfigError names ``source``, the layer and the key.
    ``base_dir``: the config file's folder (where a sidecar of edited weights is)."""
    where = f"{source}: "
    if not isinstance(data, dict):
        raise ConfigError(f"{where}a config must be a JSON object with \"layers\"")
    version = data.get("version", CONFIG_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError(f"{where}\"version\" must be an integer")
    if version > CONFIG_VERSION:
        raise ConfigError(f"{where}config version {fmt_number(version)} is newer than this "
                          f"convexplorer reads (version {CONFIG_VERSION}); update convexplorer "
                          "to open it")
    if version < 1:
        raise ConfigError(f"{where}config version {fmt_number(version)} is not valid; use 1")
    try:
        _check_keys(data, TOP_KEYS, source)
        layers_raw = data.get("layers", [])
        if not isinstance(layers_raw, list):
            raise ConfigError(f"{where}\"layers\" must be a list of layer objects")
        layers = tuple(layer_from_dict(d, i, where, base_dir)
                       for i, d in enumerate(layers_raw))
        kw: dict[str, Any] = {"layers": layers}
        if "name" in data:
            if not isinstance(data["name"], str):
                raise ConfigError(f"{where}\"name\" must be a string")
            kw["name"] = data["name"]
        if "seed" in data:
            kw["seed"] = _int(data["seed"], f"{where}seed", minimum=0)
        if "device" in data:
            if (not isinstance(data["device"], str) or not data["device"]
                    or len(data["device"]) > DEVICE_NAME):
                raise ConfigError(f"{where}\"device\" must be a string such as \"cpu\" or "
                                  "\"cuda\"")
            kw["device"] = data["device"]
        if "input" in data:
            kw["input"] = input_from_dict(data["input"], f"{where}input")
        if "objective" in data:
            kw["objective"] = objective_from_dict(data["objective"], f"{where}objective")
        if "mode" in data:
            kw["mode"] = _choice(data["mode"], f"{where}mode", MODES)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(where) else where + msg) from None
    return Config(**kw)


def _depth(data: Any) -> int:
    """How deeply ``data`` nests, counted without recursion; stops past MAX_DEPTH."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def _long_number(text: str, source: str) -> ConfigError | None:
    """The error for an integer too long for Python to convert (over 4300 digits), located."""
    match = re.search(r"\d{4000,}", text)
    if match is None:
        return None
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - text.rfind("\n", 0, match.start())
    return ConfigError(TOO_MANY_DIGITS.format(source=source, line=line, column=column,
                                              digits=len(match.group()),
                                              limit=fmt_number(MAX_INT)))


def loads_config(text: str, source: str = "config", base_dir=None) -> Config:
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(TOO_LONG_TEXT.format(source=source, size=len(text),
                                               limit=MAX_CONFIG_BYTES))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from None
    except RecursionError:
        raise ConfigError(TOO_DEEP.format(source=source, limit=MAX_DEPTH)) from None
    except ValueError:  # an integer too long to convert: Python refuses over 4300 digits
        error = _long_number(text, source)
        if error is None:
            raise
        raise error from None
    if _depth(data) > MAX_DEPTH:
        raise ConfigError(TOO_DEEP.format(source=source, limit=MAX_DEPTH))
    return config_from_dict(data, source, base_dir)


def load_config(path: str | os.PathLike) -> Config:
    """Read a config file. Errors (missing file, not a regular file, too large, bad JSON,
    unknown key...) are ConfigError, naming the file."""
    shown = short_path(path)
    try:
        data = read_regular(path, MAX_CONFIG_BYTES, "config")
    except FileProblem as exc:
        raise ConfigError(f"{shown}: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: not a text (JSON) file") from None
    return loads_config(text, shown, Path(path).parent)


def dumps_config(config: Config) -> str:
    return json.dumps(config.to_dict(), indent=2) + "\n"


STALE_TEMP_S = 60  # where files cannot be locked, a temporary file this old is a leftover


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it: a crash or a full
    disk mid-write leaves the old file intact. The temporary file is locked while it is
    written, so the next save of the same file can tell what killed saves left behind
    (``.NAME.*.tmp``) and removes it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    locked = locks.try_lock(fd) and locks.fcntl is not None
    _remove_stale_temps(path, Path(tmp))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
            if locked:  # renamed while still locked: no cleanup can take it meanwhile
                os.replace(tmp, path)
        if not locked:  # Windows renames only a closed file
            os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _remove_stale_temps(path: Path, own: Path) -> None:
    """Remove the temporary files of ``path`` that no save is writing any more (best effort)."""
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return
    for stale in candidates:
        if stale == own:
            continue
        held = locks.held_elsewhere(stale)
        if held is None:  # no locks here: only what is clearly old
            try:
                held = time.time() - stale.stat().st_mtime < STALE_TEMP_S
            except OSError:
                continue
        if not held:
            try:
                stale.unlink()
            except OSError:
                pass


def save_config(config: Config, path: str | os.PathLike) -> None:
    """Write ``config`` atomically; large edited weights go to ``NAME.weights.npz`` beside it
    (written first, atomically too, and checked by a digest when read back), and a sidecar no
    longer needed is removed once the JSON is in place."""
    from .pytorch_export import module_names
    from .weights_io import sidecar_name

    path = Path(path)
    doc = config.to_dict()
    arrays = split_document(doc, config.layers, module_names(config.layers), path)
    sidecar = path.parent / sidecar_name(path)
    if arrays:
        atomic_write_npz(sidecar, arrays)
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    if not arrays and not _referenced(config, sidecar, path.parent):
        try:  # what an earlier save of this file wrote; no longer needed
            sidecar.unlink()
        except OSError:
            pass


def _referenced(config: Config, file: Path, folder: Path) -> bool:
    """Whether a layer reads its checkpoint from ``file`` (never removed then)."""
    for spec in config.layers:
        w = spec.weights
        if w.source == "checkpoint" and w.file and (folder / w.file).resolve() == file.resolve():
            return True
    return False


def atomic_write_npz(path: str | os.PathLike, arrays: dict) -> None:
    """``np.savez`` (uncompressed) through a temporary file renamed over ``path``."""
    import numpy as np

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
