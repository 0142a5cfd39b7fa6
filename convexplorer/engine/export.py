"""Write a run to a folder: arrays as .npy, activation PNGs, and summary.json.

The layout is the same for ``python main.py run`` and the window's "Export run".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..model.files import safe_stem
from .images import save_activation_png, save_channel_pngs
from .results import RunResult


def _stem(index: int, name: str) -> str:
    """The file name part of layer ``index``: its number, then its name made safe and short
    (a layer name of a megabyte must not become a file name the system refuses)."""
    return f"{index:02d}_{safe_stem(name, 'layer')}"


def summary_dict(result: RunResult, files: dict | None = None,
                 layer_files: list[dict] | None = None) -> dict:
    """The summary.json layout of issue 2, exactly: paths in ``files`` are relative to the
    output folder."""
    return {
        "device": result.device,
        "input_shape": list(result.input.shape),
        "objective": result.objective_label,
        "files": files or {},
        "layers": [
            {
                "name": lr.name,
                "type": lr.type,
                "output_shape": list(lr.output_shape),
                "params": lr.param_count,
                "macs": lr.macs,
                "grad_norms": lr.grad_norms,
                "files": (layer_files[i] if layer_files else {}),
            }
            for i, lr in enumerate(result.layers)
        ],
    }


def write_run(
    result: RunResult,
    out_dir: str | Path,
    *,
    channel_pngs: bool = False,
    progress: Callable[[int, int], bool] | None = None,
) -> Path:
    """Write everything; returns the path of summary.json. ``progress(done, total)`` is called
    after each layer; returning False stops the export (the summary is still written)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def save(rel: str, arr: np.ndarray) -> str:
        np.save(out / rel, arr)
        return rel

    files = {"input": save("input.npy", result.input)}
    if result.grad_input is not None:
        files["grad_input"] = save("grad_input.npy", result.grad_input)
    layer_files: list[dict] = []
    total = len(result.layers)
    for i, lr in enumerate(result.layers):
        stem = _stem(i, lr.name)
        f: dict[str, str] = {"activation": save(f"{stem}_activation.npy", lr.activation)}
        save_activation_png(lr.activation, out / f"{stem}_activation.png")
        f["activation_png"] = f"{stem}_activation.png"
        if channel_pngs:
            chdir = out / f"{stem}_channels"
            chdir.mkdir(exist_ok=True)
            save_channel_pngs(lr.activation, chdir, "activation")
            f["channel_pngs"] = chdir.name
        if lr.indices is not None:
            f["indices"] = save(f"{stem}_indices.npy", lr.indices)
        for pname, arr in lr.params.items():
            f[pname] = save(f"{stem}_{pname}.npy", arr)
        for pname, arr in lr.grads.items():
            f[f"grad_{pname}"] = save(f"{stem}_grad_{pname}.npy", arr)
        if lr.grad_output is not None:
            f["grad_output"] = save(f"{stem}_grad_output.npy", lr.grad_output)
        layer_files.append(f)
        if progress is not None and progress(i + 1, total) is False:
            break
    layer_files += [{} for _ in range(total - len(layer_files))]
    path = out / "summary.json"
    path.write_text(json.dumps(summary_dict(result, files, layer_files), indent=2) + "\n")
    return path
