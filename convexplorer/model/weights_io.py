"""The ``"weights"`` value of a layer in a config file, read with clear errors and written with
large numbers in a sidecar file.

```json
"weights": {"source": "preset", "kernel": "sobel_x"}
"weights": {"source": "preset", "kernels": [{"kernel": "sobel_x", "out": 0},
                                            {"kernel": "gaussian", "sigma": 1.5, "out": 1}]}
"weights": {"source": "edited", "weight": [[[[0, 1, 0], ...]]], "bias": [0.5]}
"weights": {"source": "edited", "file": "net.weights.npz", "key": "conv2", "digest": "..."}
"weights": {"source": "checkpoint", "file": "trained.pt", "key": "features.0"}
```

An edited layer with more than ``INLINE_LIMIT`` numbers is saved in ``NAME.weights.npz``
beside ``NAME.json`` (arrays ``KEY.weight``, ``KEY.bias``), with a digest of the numbers in the
JSON: a sidecar that does not match (replaced by hand, or left from another save) is refused,
never read as the layer's numbers. No Qt, no torch.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

import numpy as np

from .kernels import KERNELS
from .limits import MAX_CHANNELS, MAX_FLOAT
from .weight_files import WeightFileError, open_tensor_file
from .weights import CHECKPOINT_SUFFIXES, INIT, SOURCES, Numbers, PresetKernel, WeightSpec

INLINE_LIMIT = 400  # numbers of an edited layer kept in the JSON; more go to the sidecar
MAX_KERNELS = 4096
MAX_PARAMS = 16
MAX_EDITED = 50_000_000  # numbers of one edited layer
MAX_TEXT = 4096

PRESET_KEYS = ("source", "kernels", "kernel", "out", "in", "sigma", "wavelength")
KERNEL_KEYS = ("kernel", "out", "in", "sigma", "wavelength")
SIDECAR_KEYS = ("source", "file", "key", "digest")
CHECKPOINT_KEYS = ("source", "file", "key")

# Messages: whole sentences with named placeholders.
NOT_AN_OBJECT = ("{where}: \"weights\" must be an object such as {{\"source\": \"preset\", "
                 "\"kernel\": \"sobel_x\"}}, or \"init\"")
BAD_SOURCE = "{where}: weights source must be one of {valid}; got {value}"
UNKNOWN_KEY = "{where}: unknown key {key!r} in weights ({source}); valid keys: {valid}"
UNKNOWN_KERNEL = "{where}: unknown kernel {value}{hint}; kernels: {valid}"
NOT_A_CHANNEL = "{where}: weights {key} must be a channel number from 0 to {limit} (or left " \
                "out for all), got {value}"
NOT_A_WIDTH = "{where}: weights {key} must be a number above 0 and at most {limit}, got {value}"
NO_KERNELS = "{where}: preset weights need \"kernel\" or a list \"kernels\" of 1 to {limit}"
NOT_NUMBERS = ("{where}: edited weights {name} must be a list of numbers (nested, one level "
               "per dimension, every row as long), got {value}")
NOT_FINITE = "{where}: edited weights {name} hold {value}; every number must be finite"
TOO_MANY_NUMBERS = "{where}: edited weights {name} hold {count} numbers, more than {limit}"
BAD_PARAM_NAME = "{where}: edited weights: {name} is not a parameter name"
NO_NUMBERS = "{where}: edited weights need the numbers of at least one parameter, or a file"
NEEDS_FOLDER = "{where}: the edited weights are in {file}, and a config read from text has no " \
               "folder to find it in"
SIDECAR_MISSING = "{where}: {file} has no {key}.* arrays; save the config again from the " \
                  "window that has the numbers"
SIDECAR_DIGEST = ("{where}: the numbers of {key} in {file} are not the ones saved with this "
                  "config (digest {found}, expected {expected}); the file was replaced or "
                  "belongs to another save")
BAD_FILE = "{where}: weights file must be a path to a {suffixes} file, got {value}"
BAD_KEY = "{where}: weights key must be the layer's prefix in the file (a string), got {value}"


class WeightsError(ValueError):
    """A ``"weights"`` value that cannot be read; the message names the layer and the key."""


def _show(value: Any, limit: int = 40) -> str:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_keys(d: dict, valid, where: str, source: str) -> None:
    for key in d:
        if key not in valid:
            raise WeightsError(UNKNOWN_KEY.format(where=where, key=str(key)[:40], source=source,
                                                  valid=", ".join(valid)))


def _channel(d: dict, key: str, where: str) -> int | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_CHANNELS:
        raise WeightsError(NOT_A_CHANNEL.format(where=where, key=key, limit=MAX_CHANNELS - 1,
                                                value=_show(value)))
    return value


def _width(d: dict, key: str, where: str) -> float | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or not 0 < value <= MAX_FLOAT:
        raise WeightsError(NOT_A_WIDTH.format(where=where, key=key, limit=f"{MAX_FLOAT:g}",
                                              value=_show(value)))
    return float(value)


def _kernel(d: Any, where: str) -> PresetKernel:
    if not isinstance(d, dict):
        raise WeightsError(NO_KERNELS.format(where=where, limit=MAX_KERNELS))
    _check_keys(d, KERNEL_KEYS if "source" not in d else PRESET_KEYS, where, "preset")
    name = d.get("kernel")
    if not isinstance(name, str) or name not in KERNELS:
        close = difflib.get_close_matches(str(name)[:40], list(KERNELS), n=1)
        raise WeightsError(UNKNOWN_KERNEL.format(
            where=where, value=_show(name), hint=f" (did you mean {close[0]!r}?)" if close else "",
            valid=", ".join(KERNELS)))
    return PresetKernel(name, _channel(d, "out", where), _channel(d, "in", where),
                        _width(d, "sigma", where), _width(d, "wavelength", where))


def _numbers(value: Any, name: str, where: str) -> Numbers:
    try:
        a = np.asarray(value)
    except (ValueError, TypeError, RecursionError, OverflowError):
        a = None
    if a is None or a.dtype.kind not in "if" or a.ndim > 8:
        raise WeightsError(NOT_NUMBERS.format(where=where, name=name, value=_show(value)))
    if a.size > MAX_EDITED:
        raise WeightsError(TOO_MANY_NUMBERS.format(where=where, name=name, count=a.size,
                                                   limit=MAX_EDITED))
    a = a.astype(np.float64)
    bad = a[~np.isfinite(a)] if a.size else a
    if bad.size or (a.size and np.abs(a).max() > np.finfo(np.float32).max):
        shown = bad.flat[0] if bad.size else np.abs(a).max()
        raise WeightsError(NOT_FINITE.format(where=where, name=name, value=shown))
    return Numbers.of(a)


def _param_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or \
            len(name) > 64:
        raise WeightsError(BAD_PARAM_NAME.format(where=where, name=_show(name)))
    return name


def _sidecar(d: dict, where: str, base_dir) -> WeightSpec:
    _check_keys(d, SIDECAR_KEYS, where, "edited, in a file")
    file, key = d.get("file"), d.get("key")
    if not isinstance(file, str) or not file or len(file) > MAX_TEXT:
        raise WeightsError(BAD_FILE.format(where=where, suffixes=".npz", value=_show(file)))
    if not isinstance(key, str) or len(key) > MAX_TEXT:
        raise WeightsError(BAD_KEY.format(where=where, value=_show(key)))
    if base_dir is None and not Path(file).is_absolute():
        raise WeightsError(NEEDS_FOLDER.format(where=where, file=file))
    path = Path(base_dir or "") / file
    try:
        npz = open_tensor_file(path, file)
        prefix = f"{key}." if key else ""
        names = [n for n in npz.shapes if n.startswith(prefix) and "." not in n[len(prefix):]]
        if not names:
            raise WeightsError(SIDECAR_MISSING.format(where=where, file=file, key=key))
        spec = WeightSpec("edited", arrays=tuple(
            (_param_name(n[len(prefix):], where), Numbers.of(npz.array(n))) for n in names))
    except WeightFileError as exc:
        raise WeightsError(f"{where}: {exc}") from None
    digest = d.get("digest")
    if digest is not None and digest != edited_digest(spec):
        raise WeightsError(SIDECAR_DIGEST.format(where=where, key=key, file=file,
                                                 found=edited_digest(spec),
                                                 expected=_show(digest, 20)))
    return spec


def edited_digest(spec: WeightSpec) -> str:
    """One digest of an edited source's numbers (every parameter, in order)."""
    import hashlib

    h = hashlib.sha256()
    for name, numbers in spec.arrays:
        h.update(f"{name}:{numbers.digest};".encode())
    return h.hexdigest()[:16]


def weights_from_dict(value: Any, where: str, base_dir=None) -> WeightSpec:
    """The WeightSpec of a layer's ``"weights"`` value; WeightsError naming ``where``."""
    if value == "init":
        return INIT
    if not isinstance(value, dict):
        raise WeightsError(NOT_AN_OBJECT.format(where=where))
    source = value.get("source", "init")
    if source not in SOURCES:
        raise WeightsError(BAD_SOURCE.format(where=where, valid=", ".join(SOURCES),
                                             value=_show(source)))
    if source == "init":
        _check_keys(value, ("source",), where, source)
        return INIT
    if source == "preset":
        _check_keys(value, PRESET_KEYS, where, source)
        if "kernels" in value:
            items = value["kernels"]
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_KERNELS or \
                    "kernel" in value:
                raise WeightsError(NO_KERNELS.format(where=where, limit=MAX_KERNELS))
            return WeightSpec("preset", kernels=tuple(_kernel(k, where) for k in items))
        if "kernel" not in value:
            raise WeightsError(NO_KERNELS.format(where=where, limit=MAX_KERNELS))
        return WeightSpec("preset", kernels=(_kernel(value, where),))
    if source == "checkpoint":
        _check_keys(value, CHECKPOINT_KEYS, where, source)
        file, key = value.get("file"), value.get("key", "")
        if not isinstance(file, str) or len(file) > MAX_TEXT or \
                not file.lower().endswith(CHECKPOINT_SUFFIXES):
            raise WeightsError(BAD_FILE.format(where=where, value=_show(file),
                                               suffixes=", ".join(CHECKPOINT_SUFFIXES)))
        if not isinstance(key, str) or len(key) > MAX_TEXT:
            raise WeightsError(BAD_KEY.format(where=where, value=_show(key)))
        return WeightSpec("checkpoint", file=file, key=key)
    if "file" in value:
        return _sidecar(value, where, base_dir)
    names = [k for k in value if k != "source"]
    if not names:
        raise WeightsError(NO_NUMBERS.format(where=where))
    if len(names) > MAX_PARAMS:
        raise WeightsError(BAD_PARAM_NAME.format(where=where, name=_show(names[MAX_PARAMS])))
    return WeightSpec("edited", arrays=tuple(
        (_param_name(n, where), _numbers(value[n], n, where)) for n in names))


def sidecar_name(json_path) -> str:
    """``net.json`` -> ``net.weights.npz``: the file large edited weights go to."""
    return Path(json_path).with_suffix("").name + ".weights.npz"


def split_document(doc: dict, layers, keys, json_path) -> dict[str, np.ndarray]:
    """Move the numbers of large edited layers out of ``doc`` (a config's dict, changed in
    place) into the arrays of the sidecar, which this returns ({} when none is needed).
    ``keys``: each layer's key in the sidecar (its module name)."""
    arrays: dict[str, np.ndarray] = {}
    name = sidecar_name(json_path)
    for spec, key, layer_doc in zip(layers, keys, doc["layers"]):
        w = spec.weights
        if w.source != "edited" or w.size <= INLINE_LIMIT:
            continue
        layer_doc["weights"] = {"source": "edited", "file": name, "key": key,
                                "digest": edited_digest(w)}
        for param, numbers in w.arrays:
            arrays[f"{key}.{param}"] = numbers.array()
    return arrays


def rebase_weights(spec: WeightSpec, old_dir, new_dir) -> WeightSpec:
    """A checkpoint path relative to ``old_dir`` made relative to ``new_dir`` (Save As into
    another folder); absolute paths are kept."""
    import os
    from dataclasses import replace

    if spec.source != "checkpoint" or not spec.file or old_dir is None or \
            Path(spec.file).expanduser().is_absolute():
        return spec
    target = (Path(old_dir) / spec.file).resolve()
    try:
        new = os.path.relpath(target, Path(new_dir).resolve())
    except ValueError:  # another drive on Windows
        new = str(target)
    new = Path(new).as_posix()
    return spec if new == spec.file else replace(spec, file=new)
