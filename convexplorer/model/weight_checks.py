"""What a layer's parameters look like (their names and shapes, from the resolved keywords,
without torch) and whether its weight source fits them: a preset on a layer that is not a
convolution, or a kernel that cannot be made at the layer's size, is a problem on the layer's
``weights`` field; edited numbers that no longer fit the layer's shape are a note (the layer
then uses torch's initialisation, until the shape fits again). No Qt, no torch.
"""

from __future__ import annotations

from .kernels import KernelError, make_kernel
from .validate import Problem, expand
from .weights import KERNELS

# Messages: whole sentences with named placeholders, for translation.
PRESET_NOT_CONV = "preset kernels are for convolution layers; {type} takes init, edited or " \
                  "checkpoint weights"
PRESET_NOT_CONV_FIX = "choose init weights, or put the kernels on a Conv layer"
PRESET_KERNEL_FIX = "choose another kernel or another kernel_size"
PRESET_CHANNEL_FIX = "pick a channel inside the weight, or all"
EDITED_MISFIT = ("the edited weights are {old} but the layer's parameters are now {new}, so it "
                 "uses torch's initialisation until the shape fits again")
EDITED_MISFIT_FIX = "set the layer back to that shape to get the numbers back, or edit the new " \
                    "weights"
UNKNOWN_KERNEL = "unknown kernel {kernel!r}; kernels: {valid}"
CHANNEL_OUTSIDE = "{kernel}: {which}={value} is outside the weight's channels 0..{last}"


def _conv_kind(type_name: str) -> str | None:
    if type_name.startswith("ConvTranspose"):
        return "transpose"
    if type_name.startswith("Conv"):
        return "conv"
    return None


def param_shapes(type_name: str, kwargs: dict) -> dict[str, tuple[int, ...]] | None:
    """The parameters (not buffers) torch gives a layer of ``type_name`` built with the
    resolved ``kwargs``, by name, in torch's order; {} for a layer without any; None for a
    type this module does not know."""
    kind = _conv_kind(type_name)
    try:
        if kind is not None:
            dims = int(type_name[-2])
            cin, cout, groups = kwargs["in_channels"], kwargs["out_channels"], kwargs["groups"]
            size = tuple(expand(kwargs["kernel_size"], dims))
            w = (cout, cin // groups, *size) if kind == "conv" else (cin, cout // groups, *size)
            return {"weight": w, **({"bias": (cout,)} if kwargs.get("bias", True) else {})}
        if type_name == "Linear":
            w = (kwargs["out_features"], kwargs["in_features"])
            return {"weight": w, **({"bias": (w[0],)} if kwargs.get("bias", True) else {})}
        if type_name.startswith("BatchNorm"):
            c = kwargs["num_features"]
            if not kwargs.get("affine", True):
                return {}
            return {"weight": (c,), **({"bias": (c,)} if kwargs.get("bias", True) else {})}
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def fmt_params(shapes: dict) -> str:
    """weight torch.Size([4, 1, 3, 3]) and bias torch.Size([4])"""
    from .shapes import fmt_shape

    parts = [f"{name} {fmt_shape(tuple(s))}" for name, s in shapes.items()]
    return " and ".join(parts) if parts else "none"


def weight_problem(info) -> Problem | None:
    """The problem of a preset source on this inferred layer (None if it fits)."""
    spec, weights = info.spec, info.spec.weights
    if weights.source != "preset" or info.output_shape is None:
        return None

    def problem(message: str, fix: str) -> Problem:
        return Problem(info.index, info.label, "weights", message, fix)

    kind = _conv_kind(spec.type)
    shapes = param_shapes(spec.type, info.kwargs)
    if kind is None or not shapes:
        return problem(PRESET_NOT_CONV.format(type=spec.type), PRESET_NOT_CONV_FIX)
    w = shapes["weight"]
    n_out, n_in = (w[1], w[0]) if kind == "transpose" else (w[0], w[1])
    # every size rule of a kernel is about sizes under 3: checked on the size cut to 3, the
    # check costs nothing whatever the kernel_size
    small = tuple(min(k, 3) for k in w[2:])
    for k in weights.kernels:
        if k.kernel not in KERNELS:
            return problem(UNKNOWN_KERNEL.format(kernel=k.kernel, valid=", ".join(KERNELS)),
                           PRESET_KERNEL_FIX)
        try:
            make_kernel(k.kernel, small, k.params)
        except KernelError as exc:
            return problem(str(exc), PRESET_KERNEL_FIX)
        for which, value, n in (("out", k.out, n_out), ("in", k.in_, n_in)):
            if value is not None and not 0 <= value < n:
                return problem(CHANNEL_OUTSIDE.format(kernel=k.kernel, which=which, value=value,
                                                      last=n - 1), PRESET_CHANNEL_FIX)
    return None


def edited_fits(info) -> bool | None:
    """Whether an edited source's numbers fit the layer's parameters (None: not known). Other
    numbers it holds (BatchNorm's running statistics) do not count here."""
    shapes = param_shapes(info.spec.type, info.kwargs)
    if shapes is None:
        return None
    arrays = {k: v.shape for k, v in info.spec.weights.arrays}
    return all(arrays.get(k) == tuple(v) for k, v in shapes.items())


def check_weights(report) -> None:
    """Add each layer's weight-source problems and notes to ``report`` (after inference)."""
    from .shapes import Note

    for info in report.layers:
        weights = info.spec.weights
        if weights.is_init or info.output_shape is None:
            continue
        problem = weight_problem(info)
        if problem is not None:
            info.problems.append(problem)
        if weights.source == "edited" and edited_fits(info) is False:
            new = param_shapes(info.spec.type, info.kwargs)
            old = {k: v.shape for k, v in weights.arrays if k in new or k in ("weight", "bias")}
            info.notes.append(Note(info.index, info.label, EDITED_MISFIT.format(
                old=fmt_params(old), new=fmt_params(new)), EDITED_MISFIT_FIX))
