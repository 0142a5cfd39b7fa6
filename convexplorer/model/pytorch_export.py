"""PyTorch code out: an ``nn.Sequential`` that rebuilds exactly the current stack (a stack
with skip connections: a small ``nn.Module`` subclass, ``model.pytorch_class``).

Names are kept (an ``OrderedDict`` when any layer has one), in_channels / num_features /
in_features left on auto are written with the value shape inference gives them, and only
keywords that differ from torch's default are written -- in_channels, out_channels,
kernel_size (and the other leading required arguments) positionally, as people write them.
No Qt and no torch here; the tests run the code with torch and compare the modules.
"""

from __future__ import annotations

from typing import Any

from . import pytorch_class
from .catalogue import auto_value
from .pytorch_code import is_default
from .shapes import fmt_shape, infer
from .spec import Config, LayerSpec, layer_label

# Attribute names of nn.Sequential: add_module refuses a layer named like one of them.
_RESERVED = frozenset("""
T_destination add_module append apply bfloat16 buffers call_super_init children compile cpu
cuda double dump_patches eval extend extra_repr float forward get_buffer get_extra_state
get_parameter get_submodule half insert ipu load_state_dict modules mtia named_buffers
named_children named_modules named_parameters parameters pop register_backward_hook
register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule share_memory state_dict to to_empty train training type xpu zero_grad
""".split())


class CodeExportError(ValueError):
    """The stack cannot be written as code yet (an auto value cannot be worked out)."""


def module_names(layers) -> list[str]:
    """The names nn.Sequential will get: the layer's name (or its index), made acceptable to
    add_module ('.' -> '_', not an attribute name) and unique. With skip connections the
    attribute names of the exported class (Python identifiers: ``layer_3`` for layer 3)."""
    if pytorch_class.has_merges(layers):
        return pytorch_class.identifier_names(layers, _RESERVED)
    taken: set[str] = set()
    out = []
    for i, spec in enumerate(layers):
        name = (spec.name or str(i)).replace(".", "_") or str(i)
        if name in _RESERVED or name.startswith("_"):
            name = f"layer_{name.lstrip('_')}"
        base, k = name, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        out.append(name)
    return out


def resolved_layers(layers, input_shape) -> list[LayerSpec]:
    """The layers with their auto value (in_channels...) set to what arrives from the layer
    before; CodeExportError where that cannot be worked out."""
    report = infer(layers, tuple(input_shape)) if input_shape is not None else None
    out = []
    for i, spec in enumerate(layers):
        lt = spec.layer_type
        auto = lt.auto_param if lt else None
        if auto is None or spec.is_set(auto.name):
            out.append(spec)
            continue
        info = report.layers[i] if report else None
        shape = info.input_shape if info else None
        if shape is None or len(shape) < 2:
            first = report.problems[0] if report and report.problems else None
            why = f": {first}" if first else " (no input shape)"
            raise CodeExportError(f"{layer_label(i, spec)}: {auto.name} follows the previous "
                                  f"layer, which cannot be worked out{why}")
        value = auto_value(auto.name, shape)
        out.append(spec.with_params(**{auto.name: value}))
    return out


def _fmt(value: Any) -> str:
    return repr(value)


def module_code(spec: LayerSpec) -> str:
    """``nn.Conv2d(1, 10, 5, stride=2)`` for one (resolved) layer spec."""
    lt = spec.layer_type
    if lt is None:
        raise CodeExportError(f"{spec.type}: not a supported layer type")
    parts = []
    positional = True
    for p in lt.params:
        set_ = spec.is_set(p.name)
        if positional and p.required and not p.keyword_only and set_:
            parts.append(_fmt(spec.value(p.name)))
            continue
        positional = False
        if set_ and not is_default(p, spec.value(p.name)):
            parts.append(f"{p.name}={_fmt(spec.value(p.name))}")
    return f"nn.{spec.type}({', '.join(parts)})"


_FORWARD = '''

def forward(model, x):
    """Runs the layers in turn; a MaxPool with return_indices=True hands its indices (and its
    input size) to the MaxUnpool that undoes it, which nn.Sequential cannot do."""
    pools = []
    for layer in model:
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
    return x
'''


def to_code(config: Config, input_shape=None) -> str:
    """A Python script that builds the stack as ``model`` (and runs it when run as a script).
    ``input_shape`` resolves the auto values; needed unless they are all set."""
    layers = resolved_layers(config.layers, input_shape)
    names = module_names(config.layers)
    named = any(spec.name for spec in config.layers)
    lines = [f"# {config.name}: made with convexplorer"]
    report = infer(config.layers, tuple(input_shape)) if input_shape is not None else None
    if report is not None and report.ok:
        lines.append(f"# input {fmt_shape(report.input_shape)} -> output "
                     f"{fmt_shape(report.output_shape)}")
    elif report is not None:
        lines.append(f"# input {fmt_shape(report.input_shape)}; note: {report.problems[0]}")
    if pytorch_class.has_merges(layers):
        return "\n".join(lines + _class_code(layers, names, input_shape, report)) + "\n"
    lines += (["from collections import OrderedDict", ""] if named else []) + \
        ["import torch", "from torch import nn", ""]
    body = [module_code(spec) for spec in layers]
    if not body:
        lines.append("model = nn.Sequential()")
    elif named:
        lines.append("model = nn.Sequential(OrderedDict([")
        lines += [f"    ({name!r}, {code})," for name, code in zip(names, body)]
        lines.append("]))")
    else:
        lines.append("model = nn.Sequential(")
        lines += [f"    {code}," for code in body]
        lines.append(")")
    indices = any(s.type.startswith("MaxUnpool") or s.value("return_indices") is True
                  for s in layers)
    if indices:
        lines.append(_FORWARD.rstrip("\n"))
    if input_shape is not None:
        call = "forward(model, x)" if indices else "model(x)"
        expected = f"  # {fmt_shape(report.output_shape)}" if report and report.ok else ""
        lines += ["", "", 'if __name__ == "__main__":',
                  f"    x = torch.randn({', '.join(str(s) for s in input_shape)})",
                  f"    print({call}.shape){expected}"]
    return "\n".join(lines) + "\n"


def class_parts(layers) -> tuple[list, list[str | None]]:
    """(forward()'s steps, each layer's ``nn.X(...)`` or None for a merge) of resolved
    layers; CodeExportError for a merge whose ``from`` names no earlier layer."""
    try:
        steps = pytorch_class.plan(layers)
    except pytorch_class.ReferenceError_ as exc:
        raise CodeExportError(str(exc)) from None
    codes = [None if pytorch_class.merges.is_merge(s) else module_code(s) for s in layers]
    return steps, codes


def _class_code(layers, names, input_shape, report) -> list[str]:
    steps, codes = class_parts(layers)
    lines = ["import torch", "from torch import nn", "", ""]
    lines += pytorch_class.class_lines(steps, names, codes)
    lines += ["", "", f"model = {pytorch_class.CLASS_NAME}()"]
    if input_shape is not None:
        expected = f"  # {fmt_shape(report.output_shape)}" if report and report.ok else ""
        lines += ["", "", 'if __name__ == "__main__":',
                  f"    x = torch.randn({', '.join(str(s) for s in input_shape)})",
                  f"    print(model(x).shape){expected}"]
    return lines
