"""Models as ``print(model)`` shows them, character for character, without torch.

``model_str`` gives the text of ``nn.Sequential(OrderedDict([(name, module), ...]))`` for layers
of the catalogue's types: each module's ``extra_repr`` as torch writes it (torch 2.13,
``torch/nn/modules/*.py``), including how each class stores its arguments (convolutions turn
sizes into tuples, max pooling keeps them as given), inside ``nn.Module.__repr__``. One rule per
layer type, in ``EXTRA_REPR``; a test holds that every catalogue type that is a module has one
(a merge is an operation in forward()). No Qt and no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .catalogue import CATALOGUE
from .merges import is_merge
from .pytorch_class import CLASS_NAME, has_merges
from .pytorch_export import module_names

MSG_UNKNOWN_TYPE = "{type} is not a layer type that can be printed as torch prints it."
MSG_MISSING = "Layer {layer} ({type}) needs a value for {param} to be printed as torch prints it."
MSG_AUTO = ("Layer {layer} ({type}) takes {param} from the layer before, whose output is not "
            "known, so the model cannot be printed as torch prints it.")


def _ntuple(n: int) -> Callable[[Any], tuple]:
    """torch's ``_single`` / ``_pair``: a sequence becomes a tuple, a number is repeated."""
    def parse(x: Any) -> tuple:
        return tuple(x) if isinstance(x, tuple | list) else (x,) * n
    return parse


def _conv(dims: int, transposed: bool) -> Callable[[Mapping[str, Any]], str]:
    """``_ConvNd.extra_repr``: sizes stored as tuples, padding='same'/'valid' kept as a string
    (and printed bare, like padding_mode)."""
    as_tuple = _ntuple(dims)

    def extra(kw: Mapping[str, Any]) -> str:
        padding = kw["padding"]
        padding = padding if isinstance(padding, str) else as_tuple(padding)
        dilation = as_tuple(kw["dilation"])
        output_padding = as_tuple(kw["output_padding"] if transposed else 0)
        s = (f"{kw['in_channels']}, {kw['out_channels']}, "
             f"kernel_size={as_tuple(kw['kernel_size'])}, stride={as_tuple(kw['stride'])}")
        if padding != (0,) * len(padding):  # a string is never equal to a tuple
            s += f", padding={padding}"
        if dilation != (1,) * len(dilation):
            s += f", dilation={dilation}"
        if output_padding != (0,) * len(output_padding):
            s += f", output_padding={output_padding}"
        if kw["groups"] != 1:
            s += f", groups={kw['groups']}"
        if not kw["bias"]:
            s += ", bias=False"
        if kw["padding_mode"] != "zeros":
            s += f", padding_mode={kw['padding_mode']}"
        return s
    return extra


def _stride(kw: Mapping[str, Any]) -> Any:
    return kw["stride"] if kw["stride"] is not None else kw["kernel_size"]


def _max_pool(kw: Mapping[str, Any]) -> str:
    # _MaxPoolNd keeps the arguments as given (an int stays an int)
    return (f"kernel_size={kw['kernel_size']}, stride={_stride(kw)}, padding={kw['padding']}, "
            f"dilation={kw['dilation']}, ceil_mode={kw['ceil_mode']}")


def _window(as_tuple: Callable[[Any], Any]) -> Callable[[Mapping[str, Any]], str]:
    """AvgPool and MaxUnpool: ``kernel_size, stride, padding``, stored through ``as_tuple``."""
    def extra(kw: Mapping[str, Any]) -> str:
        return (f"kernel_size={as_tuple(kw['kernel_size'])}, stride={as_tuple(_stride(kw))}, "
                f"padding={as_tuple(kw['padding'])}")
    return extra


def _as_given(x: Any) -> Any:
    return x


def _output_size(kw: Mapping[str, Any]) -> str:
    return f"output_size={kw['output_size']}"


def _batch_norm(kw: Mapping[str, Any]) -> str:
    use_bias = bool(kw["affine"] and kw["bias"])  # the bias parameter exists
    return (f"{kw['num_features']}, eps={kw['eps']}, momentum={kw['momentum']}, "
            f"affine={kw['affine']}, bias={use_bias}, "
            f"track_running_stats={kw['track_running_stats']}")


def _inplace_only(kw: Mapping[str, Any]) -> str:
    return "inplace=True" if kw["inplace"] else ""


def _leaky_relu(kw: Mapping[str, Any]) -> str:
    return f"negative_slope={kw['negative_slope']}" + (", inplace=True" if kw["inplace"] else "")


def _nothing(kw: Mapping[str, Any]) -> str:
    return ""


def _elu(kw: Mapping[str, Any]) -> str:
    return f"alpha={kw['alpha']}" + (", inplace=True" if kw["inplace"] else "")


def _dim(kw: Mapping[str, Any]) -> str:
    return f"dim={kw['dim']}"


def _dropout(kw: Mapping[str, Any]) -> str:
    return f"p={kw['p']}, inplace={kw['inplace']}"


def _pad(dims: int, constant: bool = False) -> Callable[[Mapping[str, Any]], str]:
    """The padding layers store padding through ``_pair`` (1-D) or ``_quadruple`` (2-D)."""
    as_tuple = _ntuple(2 * dims)

    def extra(kw: Mapping[str, Any]) -> str:
        if constant:
            return f"padding={as_tuple(kw['padding'])}, value={kw['value']}"
        return f"{as_tuple(kw['padding'])}"
    return extra


def _group_norm(kw: Mapping[str, Any]) -> str:
    use_bias = bool(kw["affine"] and kw["bias"])
    return (f"{kw['num_groups']}, {kw['num_channels']}, eps={kw['eps']}, "
            f"affine={kw['affine']}, bias={use_bias}")


def _layer_norm(kw: Mapping[str, Any]) -> str:
    shape = kw["normalized_shape"]
    shape = tuple(shape) if isinstance(shape, tuple | list) else (shape,)
    use_bias = bool(kw["elementwise_affine"] and kw["bias"])
    return (f"{shape}, eps={kw['eps']}, elementwise_affine={kw['elementwise_affine']}, "
            f"bias={use_bias}")


def _upsample(kw: Mapping[str, Any]) -> str:
    # Upsample keeps size as given and turns scale_factor into floats (0 into None)
    scale = kw["scale_factor"]
    if isinstance(scale, tuple | list):
        scale = tuple(float(f) for f in scale)
    else:
        scale = float(scale) if scale else None
    info = f"scale_factor={scale!r}" if scale is not None else f"size={kw['size']!r}"
    return info + f", mode={kw['mode']!r}"


def _lp_pool(kw: Mapping[str, Any]) -> str:
    return (f"norm_type={kw['norm_type']}, kernel_size={kw['kernel_size']}, "
            f"stride={kw['stride']}, ceil_mode={kw['ceil_mode']}")


#: torch.nn class name -> its ``extra_repr`` from the constructor keywords (defaults filled in).
EXTRA_REPR: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "Conv1d": _conv(1, transposed=False),
    "Conv2d": _conv(2, transposed=False),
    "Conv3d": _conv(3, transposed=False),
    "ConvTranspose1d": _conv(1, transposed=True),
    "ConvTranspose2d": _conv(2, transposed=True),
    "ConvTranspose3d": _conv(3, transposed=True),
    "MaxPool1d": _max_pool,
    "MaxPool2d": _max_pool,
    "MaxPool3d": _max_pool,
    "AvgPool1d": _window(_ntuple(1)),
    "AvgPool2d": _window(_as_given),
    "AvgPool3d": _window(_as_given),
    "AdaptiveMaxPool1d": _output_size,
    "AdaptiveMaxPool2d": _output_size,
    "AdaptiveMaxPool3d": _output_size,
    "AdaptiveAvgPool1d": _output_size,
    "AdaptiveAvgPool2d": _output_size,
    "AdaptiveAvgPool3d": _output_size,
    "MaxUnpool1d": _window(_ntuple(1)),
    "MaxUnpool2d": _window(_ntuple(2)),
    "MaxUnpool3d": _window(_ntuple(3)),
    "BatchNorm1d": _batch_norm,
    "BatchNorm2d": _batch_norm,
    "BatchNorm3d": _batch_norm,
    "LPPool1d": _lp_pool,
    "LPPool2d": _lp_pool,
    **{f"{kind}{d}d": _pad(d, constant=kind == "ConstantPad")
       for kind in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad") for d in (1, 2)},
    "GroupNorm": _group_norm,
    "InstanceNorm1d": _batch_norm,  # _NormBase's, as BatchNorm's
    "InstanceNorm2d": _batch_norm,
    "LayerNorm": _layer_norm,
    "LocalResponseNorm": lambda kw: (f"{kw['size']}, alpha={kw['alpha']}, beta={kw['beta']}, "
                                     f"k={kw['k']}"),
    "ReLU6": _inplace_only,
    "SiLU": _inplace_only,
    "Hardswish": _nothing,
    "Hardsigmoid": _nothing,
    "ELU": _elu,
    "PReLU": lambda kw: f"num_parameters={kw['num_parameters']}",
    "Mish": _inplace_only,
    "Softmax": _dim,
    "LogSoftmax": _dim,
    "Dropout1d": _dropout,
    "Dropout2d": _dropout,
    "Upsample": _upsample,
    "PixelShuffle": lambda kw: f"upscale_factor={kw['upscale_factor']}",
    "PixelUnshuffle": lambda kw: f"downscale_factor={kw['downscale_factor']}",
    "Identity": _nothing,
    "Unflatten": lambda kw: f"dim={kw['dim']}, unflattened_size={kw['unflattened_size']}",
    "ReLU": _inplace_only,
    "LeakyReLU": _leaky_relu,
    "GELU": lambda kw: f"approximate={kw['approximate']!r}",
    "Sigmoid": _nothing,
    "Tanh": _nothing,
    "Dropout": _dropout,
    "Flatten": lambda kw: f"start_dim={kw['start_dim']}, end_dim={kw['end_dim']}",
    "Linear": lambda kw: (f"in_features={kw['in_features']}, "
                          f"out_features={kw['out_features']}, bias={bool(kw['bias'])}"),
}


def _addindent(text: str, spaces: int) -> str:
    """torch's ``_addindent``: indent every line but the first; blank lines stay empty."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    rest = [(" " * spaces + line) if line.strip() else "" for line in lines[1:]]
    return lines[0] + "\n" + "\n".join(rest)


def module_repr(type_name: str, extra: str = "",
                children: Iterable[tuple[str, str]] = ()) -> str:
    """``nn.Module.__repr__``: ``Name(extra)`` on one line, else the extra lines and the
    ``(name): child`` lines indented by two."""
    extra_lines = extra.split("\n") if extra else []
    child_lines = [f"({key}): {_addindent(text, 2)}" for key, text in children]
    lines = extra_lines + child_lines
    out = type_name + "("
    if lines:
        if len(extra_lines) == 1 and not child_lines:
            out += extra_lines[0]
        else:
            out += "\n  " + "\n  ".join(lines) + "\n"
    return out + ")"


def layer_str(type_name: str, kwargs: Mapping[str, Any], layer: str = "?") -> str:
    """``print(module)`` for one layer of a catalogue type; keywords not given take torch's
    default (the catalogue's)."""
    lt = CATALOGUE.get(type_name)
    rule = EXTRA_REPR.get(type_name)
    if lt is None or rule is None:
        raise ValueError(MSG_UNKNOWN_TYPE.format(type=type_name))
    kw = {p.name: kwargs.get(p.name, p.default) for p in lt.params}
    for p in lt.params:
        if p.required and kw[p.name] is None:
            message = MSG_AUTO if p.auto else MSG_MISSING
            raise ValueError(message.format(layer=layer, type=type_name, param=p.name))
    return module_repr(type_name, rule(kw))


def model_str(layers: Iterable[tuple[str, str, Mapping[str, Any]]]) -> str:
    """``print(model)`` for ``nn.Sequential(OrderedDict([(name, module), ...]))``, each layer given
    as ``(name, type_name, kwargs)`` with the constructor keywords (missing ones: torch's
    defaults)."""
    children = [(name, layer_str(type_name, kwargs, name))
                for name, type_name, kwargs in layers]
    return module_repr("Sequential", children=children)


def model_str_from_report(report: Any) -> str:
    """``print(model)`` for the stack a ``ShapeReport`` describes, named as the exported code
    names it (``pytorch_export.module_names``), with the auto values shape inference resolved.
    A layer inference stopped at keeps its own values; ValueError if a needed one is unknown."""
    specs = [info.spec for info in report.layers]
    names = module_names(specs)
    layers = []
    for name, info in zip(names, report.layers):
        if is_merge(info.spec):  # an operation in forward(), not a module: not printed
            continue
        kwargs = {**info.spec.kwargs, **info.kwargs}
        layers.append((name, info.spec.type, kwargs))
    if has_merges(specs):  # the exported class (model.pytorch_class)
        return module_repr(CLASS_NAME, children=[(name, layer_str(type_name, kwargs, name))
                                                 for name, type_name, kwargs in layers])
    return model_str(layers)
