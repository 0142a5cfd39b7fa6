"""Giving a freshly built module the weights its spec asks for (``model.weights``): a preset's
kernels, edited numbers, or a checkpoint's tensors; ``init`` leaves torch's own. Also the
state_dict shapes a stack's layers have (built on the meta device: nothing is computed), which
checkpoint matching compares with, and a checkpoint applied to a whole config (``--weights``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..model.checkpoint_match import LayerState, MatchReport, match
from ..model.kernels import KernelError
from ..model.pytorch_export import module_names
from ..model.shapes import ShapeReport, fmt_shape
from ..model.spec import Config
from ..model.validate import Problem
from ..model.weight_files import WeightFileError
from ..model.weights import preset_arrays
from .checkpoints import file_stamp, open_checkpoint

# Messages: whole sentences with named placeholders.
CHECKPOINT_SHAPE = ("checkpoint key {key} in {file} is {found} but the layer's {param} is "
                    "{wanted}")
CHECKPOINT_SHAPE_FIX = "give the layer that shape again, or choose other weights"
CHECKPOINT_NONE = "{file} has none of {keys}"
CHECKPOINT_NONE_FIX = "load the weights again (File > Load Weights) or choose init weights"
CHECKPOINT_FILE_FIX = "choose the file again (File > Load Weights) or choose init weights"


class WeightError(Exception):
    """A layer's weights that cannot be given: a field error on its ``weights``."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _problem(info, message: str, fix: str) -> WeightError:
    return WeightError(Problem(info.index, info.label, "weights", message, fix))


def checkpoint_path(file: str, base_dir) -> Path:
    p = Path(file).expanduser()
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def _state_entries(module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's own parameters and persistent buffers, as its state_dict names them."""
    return dict(module.state_dict(keep_vars=True))


@torch.no_grad()
def apply_weights(module: nn.Module, info, base_dir=None) -> None:
    """Give ``module`` (just built for ``info``) the weights of ``info.spec.weights``."""
    weights = info.spec.weights
    if weights.is_init:
        return
    entries = _state_entries(module)
    if weights.source == "preset":
        w = entries.get("weight")
        if w is None:
            return  # model.weight_checks reports it; the run does not get here
        bias = entries.get("bias")
        try:
            arrays = preset_arrays(weights, tuple(w.shape), info.spec.type.startswith(
                "ConvTranspose"), None if bias is None else int(bias.shape[0]))
        except (KernelError, IndexError) as exc:
            raise _problem(info, str(exc), "choose another kernel or kernel_size") from None
        _copy(entries, arrays)
    elif weights.source == "edited":
        arrays = {k: n.array() for k, n in weights.arrays}
        params = {k: tuple(p.shape) for k, p in module.named_parameters(recurse=False)}
        if all(k in arrays and arrays[k].shape == s for k, s in params.items()):
            # the parameters, and the buffers (running statistics) kept with them that fit
            _copy(entries, {k: a for k, a in arrays.items()
                            if k in entries and tuple(entries[k].shape) == a.shape})
        # otherwise the numbers no longer fit: torch's initialisation, as the layer's note says
    elif weights.source == "checkpoint":
        _apply_checkpoint(entries, info, weights, base_dir)


def _copy(entries: dict[str, torch.Tensor], arrays: dict[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        target = entries[name]
        target.copy_(torch.tensor(np.asarray(array), dtype=target.dtype))  # a copy: read-only ok


def _apply_checkpoint(entries, info, weights, base_dir) -> None:
    shown = Path(weights.file).name  # the layer's message names the file, not its folders
    try:
        ckpt = open_checkpoint(checkpoint_path(weights.file, base_dir), shown)
    except WeightFileError as exc:
        raise _problem(info, str(exc), CHECKPOINT_FILE_FIX) from None
    found = {}
    for name, tensor in entries.items():
        key = f"{weights.key}.{name}" if weights.key else name
        if key not in ckpt.shapes:
            continue  # missing: keeps its init value, as load_state_dict(strict=False)
        if tuple(ckpt.shapes[key]) != tuple(tensor.shape):
            raise _problem(info, CHECKPOINT_SHAPE.format(
                key=key, file=shown, found=fmt_shape(ckpt.shapes[key]), param=name,
                wanted=fmt_shape(tuple(tensor.shape))), CHECKPOINT_SHAPE_FIX)
        found[name] = key
    if not found:
        keys = ", ".join(f"{weights.key}.{n}" if weights.key else n for n in entries)
        raise _problem(info, CHECKPOINT_NONE.format(file=shown, keys=keys),
                       CHECKPOINT_NONE_FIX)
    try:
        _copy(entries, {name: ckpt.array(key) for name, key in found.items()})
    except WeightFileError as exc:
        raise _problem(info, str(exc), CHECKPOINT_FILE_FIX) from None


def weights_key(report: ShapeReport, base_dir) -> tuple:
    """What the weights of a stack depend on beyond its specs: each checkpoint file's
    size and time (a file written again gives new weights)."""
    out = []
    for info in report.layers:
        w = info.spec.weights
        if w.source == "checkpoint":
            out.append((w, file_stamp(checkpoint_path(w.file, base_dir))))
        else:
            out.append(w)
    return tuple(out)


def snapshot_buffers(modules) -> list[dict[str, torch.Tensor]]:
    """A copy of every module's buffers (BatchNorm's running statistics), as made."""
    return [{k: b.detach().clone() for k, b in m.named_buffers(recurse=False)} for m in modules]


@torch.no_grad()
def restore_buffers(modules, snapshot) -> None:
    """Put the buffers back as made: a run in training mode updates BatchNorm's running
    statistics, and the next run must start from the same ones (as a fresh script does)."""
    for m, saved in zip(modules, snapshot):
        for k, b in m.named_buffers(recurse=False):
            b.copy_(saved[k])


def layer_states(report: ShapeReport) -> list[LayerState]:
    """Every layer's state_dict shapes (parameters and persistent buffers), from modules
    built on the meta device; layers without any are left out."""
    from .build import build_module

    names = module_names([i.spec for i in report.layers])
    out = []
    for info, module_name in zip(report.layers, names):
        if info.output_shape is None:
            continue
        with torch.device("meta"):
            module = build_module(info)
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        if expected:
            own = info.spec.name or str(info.index)
            names_ = (own,) if own == module_name else (own, module_name)
            out.append(LayerState(info.index, info.label, names_, expected))
    return out


def read_for_matching(path, shown: str, report: ShapeReport):
    """What the window's mapping dialog needs, read in the worker: the checkpoint's keys and
    shapes, a note on where its state_dict was, and the stack's layers' state shapes."""
    listing = dict(open_checkpoint(path, shown).shapes)
    note = getattr(open_checkpoint(path, shown), "note", "")
    return listing, note, layer_states(report)


def custom_weights(config: Config, report: ShapeReport, base_dir=None) -> dict[str, np.ndarray]:
    """The state_dict entries (by module name) of the layers whose weights are not torch's
    init, as a run makes them: what the runnable script loads."""
    from .build import build_modules

    names = module_names(config.layers)
    modules = build_modules(report.layers, config.seed, "cpu", base_dir)
    out = {}
    for spec, name, module in zip(config.layers, names, modules):
        if not spec.weights.is_init:
            for key, value in module.state_dict().items():
                out[f"{name}.{key}"] = value.detach().numpy().copy()
    return out


def apply_checkpoint(config: Config, report: ShapeReport, path, shown: str | None = None,
                     prefix: str | None = None) -> tuple[Config, MatchReport]:
    """``config`` with every layer the checkpoint at ``path`` matches reading its weights from
    it (``--weights``), and the match report. When shapes do not fit, the report has the
    problems and the config comes back unchanged: nothing is half-loaded."""
    listing = dict(open_checkpoint(path, shown).shapes)
    stored = str(Path(path).resolve())
    result = match(listing, layer_states(report), shown or str(path), prefix)
    if not result.ok:
        return config, result
    layers = list(config.layers)
    for index, spec in result.weights().items():
        layers[index] = layers[index].with_weights(replace(spec, file=stored))
    return config.with_layers(layers), result
