"""A runnable plain-PyTorch script for a config: the same layers with the same weights, the same
input, forward and the same objective's backward, printing what a tutorial prints (``x``,
``print(model)``, each layer's output, the objective, every parameter's ``.grad.size()`` and
``.grad.norm()``). It imports torch (and numpy/PIL for file inputs), never convexplorer.

Run on the same machine, its printed tensors are the app's ``print`` text digit for digit on
the CPU: it follows the documented rules (layer ``i`` made after ``torch.manual_seed(seed +
i)``, random input from ``torch.manual_seed(input seed)``, Dropout masks from
``torch.manual_seed(seed)`` before the forward pass). Torch-free: it writes text.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

from ..model.objectives import check_objective, target_classes
from ..model.pytorch_class import CLASS_NAME, class_lines, forward_lines, has_merges
from ..model.pytorch_export import class_parts, module_code, module_names, resolved_layers
from ..model.spec import Config, Objective, layer_label
from .inputs import SAMPLE_PREFIX, resolve_path, signal

MARK = "#>"  # the line before each printed tensor: "#> conv1 (Conv2d) output"


class ScriptError(ValueError):
    """A config that cannot be written as a script yet (an auto value that cannot be worked
    out, an input file that is missing)."""


@dataclass
class Script:
    """The script's text and the files to write beside it (name -> bytes); ``weights``: the
    ``.npz`` of the weights that are not torch's init, written as ``NAME.weights.npz`` beside
    ``NAME.py``."""

    text: str
    files: dict[str, bytes] = field(default_factory=dict)
    weights: bytes | None = None


def weights_npz(arrays: dict) -> bytes:
    """``np.savez`` of ``arrays`` (state_dict key -> array), as bytes."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def weights_from_result(result, config: Config) -> dict | None:
    """The state_dict entries (parameters and buffers, by module name) of the layers of
    ``config`` whose weights are not torch's init, as ``result`` made them; None when the
    result is of other layers (a run still to come). Torch-free: the window uses it."""
    if result is None or result.config.layers != config.layers or \
            result.config.seed != config.seed:
        return None
    names = module_names(config.layers)
    out = {}
    for spec, name, lr in zip(config.layers, names, result.layers):
        if not spec.weights.is_init:
            for key, array in {**lr.params, **lr.buffers}.items():
                out[f"{name}.{key}"] = array
    return out


_FORWARD_ALL = '''

def forward_all(model, x):
    """Every layer's output, by name. A max pool with return_indices=True hands its indices
    (and its input size) to the MaxUnpool that undoes it, which nn.Sequential cannot do."""
    outputs, pools = {}, []
    for name, layer in model.named_children():
        if isinstance(layer, (nn.MaxUnpool1d, nn.MaxUnpool2d, nn.MaxUnpool3d)):
            dims = len(layer.kernel_size)  # a tuple of 1, 2 or 3
            k = max(i for i, p in enumerate(pools) if p[0] == dims)
            _, indices, size = pools.pop(k)
            x = layer(x, indices, output_size=size)
        elif getattr(layer, "return_indices", False):
            size = x.shape[2:]
            x, indices = layer(x)
            if isinstance(layer, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
                pools.append((len(size), indices, size))
        else:
            x = layer(x)
        outputs[name] = x
    return outputs
'''

def _objective_code(objective: Objective, names: list[str], batch: int) -> list[str]:
    """The lines that compute ``objective``, print it and run backward."""
    if not names:
        target, where = "x", "the input"
    else:
        idx = objective.layer if objective.layer != -1 else len(names) - 1
        if not 0 <= idx < len(names):
            raise ScriptError("The objective's layer {layer} is not in the stack (layers 0 to "
                              "{last}).".format(layer=objective.layer, last=len(names) - 1))
        target, where = f"outputs[{names[idx]!r}]", names[idx]
    kind = objective.kind
    if kind == "gradient":  # the other idiom: backward of a tensor with a given gradient
        return [f"torch.manual_seed({objective.seed})",
                f"g = torch.randn({target}.shape)",
                f'print("{MARK} objective: {where}.backward(g), g = randn (seed '
                f'{objective.seed}); the same gradients as (output * g).sum()")',
                f"print(({target} * g).sum())",
                f"{target}.backward(g)"]
    lines = []
    if kind == "sum":
        expr, label = f"{target}.sum()", f"sum of {where}"
    elif kind == "mean":
        expr, label = f"{target}.mean()", f"mean of {where}"
    elif kind == "channel":
        expr = f"{target}[{objective.batch}, {objective.channel}].sum()"
        label = f"sum of {where}[{objective.batch}, {objective.channel}]"
    elif kind == "cross_entropy":
        classes = target_classes(objective, batch)
        expr = f"nn.functional.cross_entropy({target}, torch.tensor({classes}))"
        label = f"cross_entropy of {where}, target {classes}"
    elif kind == "mse":
        if objective.target == "randn":
            lines += [f"torch.manual_seed({objective.seed})",
                      f"goal = torch.randn({target}.shape)"]
            label = f"mse of {where} against randn (seed {objective.seed})"
        else:
            lines += [f"goal = torch.zeros_like({target})"]
            label = f"mse of {where} against zeros"
        expr = f"nn.functional.mse_loss({target}, goal)"
    else:  # unit
        index = ", ".join(str(i) for i in (objective.batch, objective.channel,
                                           *objective.position))
        expr, label = f"{target}[{index}]", f"{where}[{index}]"
    return lines + [f"objective = {expr}", f'print("{MARK} objective: {label}")',
                    "print(objective)", "objective.backward()"]


def _input_code(config: Config, base_dir) -> tuple[list[str], dict, bool]:
    """(lines that make ``x``, files to write beside the script, whether numpy is needed)."""
    spec = config.input
    files: dict[str, bytes] = {}
    shape = ", ".join(str(s) for s in spec.shape)
    if spec.source == "random":
        make = "torch.rand" if spec.distribution == "uniform" else "torch.randn"
        return ([f"torch.manual_seed({spec.seed})  # the input's seed",
                 f"x = {make}({shape})"], files, False)
    if spec.source == "signal":
        return ([f"x = torch.from_numpy(signal(({shape},), {spec.signal!r}, "
                 f"{spec.frequency!r}))"], files, True)
    path = spec.path or ""
    if spec.source == "image" and path.startswith(SAMPLE_PREFIX):
        name = path[len(SAMPLE_PREFIX):]
        source = resolve_path(path, base_dir)
        try:
            files[name] = source.read_bytes()
        except OSError as exc:
            raise ScriptError("The bundled sample {name} cannot be read ({error}).".format(
                name=name, error=exc.strerror or exc)) from None
        where = f"HERE / {name!r}"
    else:
        where = repr(str(resolve_path(path, base_dir).resolve()))
    if spec.source == "npy":
        load = f"np.load({where}, allow_pickle=False)"
        return ([f"x = torch.from_numpy({load}.astype(np.float32))"], files, True)
    lines = [f"image = Image.open({where}).convert({spec.mode!r})"]
    if spec.size is not None:
        h, w = spec.size
        lines.append(f"image = image.resize(({w}, {h}), Image.Resampling.BILINEAR)")
    lines += ["pixels = np.asarray(image, dtype=np.float32) / 255.0",
              "pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)",
              "x = torch.from_numpy(np.ascontiguousarray(pixels[None]))"]
    return lines, files, True


def make_script(config: Config, input_shape, base_dir=None, weights: dict | None = None) -> Script:
    """The runnable script for ``config`` (``input_shape`` resolves auto channel counts).
    ``weights``: the state_dict entries of the layers whose weights are not torch's init
    (``weights_from_result``, or ``engine.weights.custom_weights``), loaded by the script
    from ``NAME.weights.npz`` beside it."""
    from ..model.shapes import infer

    report = infer(config.layers, tuple(input_shape))
    problems = report.problems or check_objective(config.objective, report)
    if problems:
        raise ScriptError("The stack does not run yet ({problem}); fix it before writing a "
                          "script.".format(problem=problems[0]))
    try:
        layers = resolved_layers(config.layers, input_shape)
    except ValueError as exc:
        raise ScriptError(str(exc)) from None
    names = module_names(config.layers)
    labels = [layer_label(i, spec) for i, spec in enumerate(config.layers)]
    input_lines, files, needs_numpy = _input_code(config, base_dir)
    weights = weights or {}
    needs_numpy = needs_numpy or bool(weights)
    objective_lines = _objective_code(config.objective, names, int(input_shape[0]))
    image = config.input.source == "image"
    head = [f"# {config.name}: a plain PyTorch script made by convexplorer.",
            "# It needs torch" + (", numpy and Pillow" if image else (
                " and numpy" if needs_numpy else "")) + ", not convexplorer.",
            "# It builds the same layers with the same weights and input, runs forward and "
            "backward",
            "# of the same objective, and prints what convexplorer's Values tab and its "
            "`print`",
            "# command print (each tensor after a line that starts with \"#>\")."]
    if not has_merges(layers):
        head.append("from collections import OrderedDict")
    if files or weights:
        head.append("from pathlib import Path")
    head.append("")
    if needs_numpy:
        head.append("import numpy as np")
    head += ["import torch"]
    if image:
        head.append("from PIL import Image")
    head += ["from torch import nn", ""]
    if files:
        head += ["HERE = Path(__file__).resolve().parent  # the bundled image is beside me"]
    head += [f"SEED = {config.seed}  # layer i is made right after torch.manual_seed(SEED + i)",
             ""]
    if has_merges(layers):
        steps, codes = class_parts(layers)
        head += [""] + class_lines(steps, names, codes) + ["", ""]
        body = [f"model = {CLASS_NAME}()",
                "layers = [  # the stack in order (None: a merge, which has no module)"]
        body += [f"    model.{name}," if code else "    None," for name, code in zip(names, codes)]
        body += ["]"]
        helpers = ["", "def forward_all(model, x):",
                   '    """Every layer\'s output, by name: forward() written out, keeping each '
                   'output."""'] + forward_lines(steps, names, owner="model", record=True)
    else:
        body = ["model = nn.Sequential(OrderedDict(["]
        body += [f"    ({name!r}, {module_code(spec)})," for name, spec in zip(names, layers)]
        body += ["]))", "layers = model"]
        helpers = _FORWARD_ALL.rstrip("\n").split("\n")
    body += ["for i, layer in enumerate(layers):  # convexplorer's weights",
             "    if hasattr(layer, \"reset_parameters\"):",
             "        torch.manual_seed(SEED + i)",
             "        layer.reset_parameters()"]
    if weights:
        body += ["# the weights that are not torch's init (presets, edited numbers, a checkpoint),",
                 "# saved by convexplorer beside this script",
                 "weights_file = Path(__file__).with_suffix(\".weights.npz\")",
                 "WEIGHTS = np.load(weights_file, allow_pickle=False)",
                 "model.load_state_dict({k: torch.from_numpy(WEIGHTS[k]) for k in "
                 "WEIGHTS.files}, strict=False)"]
    body += ["model.eval()  # BatchNorm uses its running statistics, Dropout passes all"
             if config.mode == "eval" else
             "model.train()  # BatchNorm uses the batch's statistics, Dropout drops", ""]
    body += input_lines
    body += ["x.requires_grad_(True)", "",
             f'print("{MARK} input")', "print(x)",
             f'print("{MARK} print(model)")', "print(model)", "",
             "torch.manual_seed(SEED)  # the Dropout masks",
             "outputs = forward_all(model, x)"]
    for name, label in zip(names, labels):
        body += [f'print("{MARK} {label} output")', f"print(outputs[{name!r}])"]
    body += [""] + objective_lines + [
             f'print("{MARK} parameters: name, .grad.size(), .grad.norm()")',
             "for name, p in model.named_parameters():",
             "    if p.grad is None:  # a layer after the objective's: no gradient reaches it",
             "        print(name, None)",
             "    else:",
             "        print(name, p.grad.size(), p.grad.norm())"]
    if config.input.source == "signal":  # the app's own function, so they cannot differ
        helpers += ["", ""] + inspect.getsource(signal).rstrip("\n").split("\n")
    text = "\n".join(head + helpers[1:] + ["", ""] + body) + "\n"
    return Script(text, files, weights_npz(weights) if weights else None)


def write_script(script: Script, path) -> list[Path]:
    """Write the script and the files beside it; returns the paths written."""
    path = Path(path)
    written = []
    for name, data in script.files.items():
        side = path.parent / name
        side.write_bytes(data)
        written.append(side)
    if script.weights is not None:
        side = path.with_suffix(".weights.npz")
        side.write_bytes(script.weights)
        written.append(side)
    path.write_text(script.text, encoding="utf-8")
    return [path] + written


def split_printed(text: str) -> dict[str, str]:
    """What a script printed, by the ``#>`` line before each part (for tests and tools)."""
    parts: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith(MARK + " "):
            key = line[len(MARK) + 1:]
            parts[key] = ""
        elif key is not None:
            parts[key] += line + "\n"
    return {k: v.rstrip("\n") for k, v in parts.items()}
