"""The numbers on the command line: ``print`` (a tensor or the model, exactly as torch prints
it) and ``compute`` (how one output value is made). Errors are CliError lines, as for ``run``."""

from __future__ import annotations

import json
import math
import sys

from .cli import EXIT_OK, EXIT_USAGE, CliError, _load, run_for_cli
from .engine.printing import WHATS

LAYER_HELP = "a layer name, an index (-1: the last layer) or 'input'"


def resolve_layer(key: str, config) -> int | None:
    """A layer given by name, index (negative counts from the end) or 'input' (None)."""
    if key == "input":
        return None
    names = [spec.name or str(i) for i, spec in enumerate(config.layers)]
    if key in names:
        return names.index(key)
    try:
        index = int(key)
    except ValueError:
        raise CliError("--layer: there is no layer named {key!r}; layers: {names}, or "
                       "input.".format(key=key, names=", ".join(names) or "none"),
                       EXIT_USAGE) from None
    n = len(config.layers)
    if not -n <= index < n:
        raise CliError("--layer: there is no layer {index}; the stack has layers 0 to {last} "
                       "(or -1 for the last), or input.".format(index=index, last=n - 1),
                       EXIT_USAGE)
    return index % n


def run_headless(args, config, objective=None):
    """Run ``config`` (read from ``args.config``) as ``run`` does (``cli.run_for_cli``) and
    return the RunResult and the shape report of its layers."""
    from .model.shapes import infer

    config, result = run_for_cli(args, objective, config)
    return result, infer(config.layers, tuple(result.input.shape))


def cmd_print(args) -> int:
    config = _load(args.config)
    if args.model:
        print(_model_text(args, config), end="")
        return EXIT_OK
    layer = resolve_layer(args.layer, config) if args.layer is not None else (
        len(config.layers) - 1 if config.layers else None)
    from .engine.printing import PrintError, tensor_ref

    result, _report = run_headless(args, config)
    try:
        ref = tensor_ref(result, layer, args.what)
    except PrintError as exc:
        raise CliError(f"--what: {exc}", EXIT_USAGE) from None
    print(ref.text(result.tensor_device))
    return EXIT_OK


def _model_text(args, config) -> str:
    """print(model) of the config's stack; needs the input's shape (auto channel counts), not
    a run and not torch."""
    from .engine.inputs import InputError, input_shape, load_input_file
    from .engine.run import config_dir
    from .model.shapes import infer
    from .model.torch_text import model_str_from_report

    try:
        shape = (load_input_file(args.input).shape if args.input
                 else input_shape(config.input, config_dir(args.config)))
    except InputError as exc:
        raise CliError(f"input: {exc}", EXIT_USAGE) from None
    report = infer(config.layers, tuple(shape))
    if report.problems:
        raise CliError("\n".join(f"{args.config}: {p}" for p in report.problems), EXIT_USAGE)
    return model_str_from_report(report) + "\n"


def parse_unit(text: str, config):
    """``LAYER:B:C[:I[,J[,K]]]`` -> a Unit (LAYER a name, index or 'input')."""
    from .model.spec import Unit

    usage = ("--unit: use LAYER:BATCH:CHANNEL[:I[,J[,K]]], e.g. conv1:0:3:4,7 or 0:0:1:2 (a "
             "volume: D,H,W); got {text!r}.")
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise CliError(usage.format(text=text), EXIT_USAGE)
    layer = resolve_layer(parts[0], config)
    try:
        batch, channel = int(parts[1]), int(parts[2])
        position = tuple(int(p) for p in parts[3].split(",")) if len(parts) == 4 else ()
    except ValueError:
        raise CliError(usage.format(text=text), EXIT_USAGE) from None
    return Unit(layer, batch, channel, position)


def cmd_compute(args) -> int:
    from .engine.units import UnitError, breakdown

    config = _load(args.config)
    unit = parse_unit(args.unit, config)
    result, report = run_headless(args, config)
    try:
        b = breakdown(result, report, unit)
    except UnitError as exc:
        raise CliError(f"--unit: {exc}", EXIT_USAGE) from None
    if args.json:
        json.dump(strict_json(b.to_json()), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(b.text())
    return EXIT_OK


def cmd_script(args) -> int:
    from .engine.inputs import InputError, input_shape
    from .engine.run import config_dir
    from .engine.script import ScriptError, make_script, write_script

    config = _load(args.config)
    try:
        shape = input_shape(config.input, config_dir(args.config))
        from .cli_weights import apply_weight_options

        config = apply_weight_options(config, args, shape)
        weights = _custom_weights(config, tuple(shape), config_dir(args.config), args.config)
        script = make_script(config, tuple(shape), config_dir(args.config), weights)
    except InputError as exc:
        raise CliError(f"{args.config}: input: {exc}", EXIT_USAGE) from None
    except ScriptError as exc:
        raise CliError(f"{args.config}: {exc}", EXIT_USAGE) from None
    try:
        written = write_script(script, args.output)
    except OSError as exc:
        raise CliError(f"-o {args.output}: cannot write ({exc.strerror or exc})") from None
    print("wrote {files}; run it with: python {script}".format(
        files=", ".join(str(p) for p in written), script=written[0]))
    return EXIT_OK


def _custom_weights(config, shape, base_dir, where) -> dict | None:
    """The weights the script loads (those not torch's init), or None when every layer has
    torch's init (or the stack has problems, which make_script reports)."""
    from .model.shapes import infer

    if all(spec.weights.is_init for spec in config.layers):
        return None
    report = infer(config.layers, shape)
    if not report.ok:
        return None
    from .engine.weights import WeightError, custom_weights

    try:
        return custom_weights(config, report, base_dir)
    except WeightError as exc:
        raise CliError(f"{where}: {exc}", EXIT_USAGE) from None


def strict_json(value):
    """``value`` with every non-finite float written as the string "inf", "-inf" or "nan":
    JSON has no such numbers (Python's ``-Infinity`` is not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def _run_options(parser) -> None:
    """What a command that runs the config takes, as ``run`` does."""
    from .cli_weights import add_weight_options

    parser.add_argument("--input", help="input file instead of the config's: .npy, PNG, JPEG "
                                        "or BMP")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the config's)")
    parser.add_argument("--ignore-memory-limit", action="store_true",
                        help="run even if the estimated memory is above the limit")
    add_weight_options(parser)


def add_parsers(sub) -> None:
    """The ``print``, ``compute`` and ``script`` sub-commands."""
    from .cli_weights import add_weight_options

    p = sub.add_parser("print", help="print a tensor of a run (or the model) exactly as "
                                     "PyTorch's print() does")
    p.add_argument("config", help="config file (JSON)")
    p.add_argument("--layer", help=f"which layer: {LAYER_HELP} (default: the last layer)")
    p.add_argument("--what", default="output", choices=WHATS,
                   help="which tensor of the layer (default: output; grad_* are the .grad "
                        "after backward of the config's objective)")
    p.add_argument("--model", action="store_true",
                   help="print(model): the stack as an nn.Sequential (no run)")
    _run_options(p)
    c = sub.add_parser("compute", help="show how one output value is computed from the "
                                       "window and the kernel, with the run's numbers")
    c.add_argument("config", help="config file (JSON)")
    c.add_argument("--unit", required=True,
                   help="LAYER:BATCH:CHANNEL[:I[,J[,K]]], e.g. conv1:0:3:4,7 (LAYER: "
                        f"{LAYER_HELP})")
    c.add_argument("--json", action="store_true",
                   help="print a JSON object: layer, unit, value, recomputed, bias, terms")
    _run_options(c)
    s = sub.add_parser("script", help="write a plain PyTorch script that builds the same "
                                      "layers, weights and input and prints the same numbers")
    s.add_argument("config", help="config file (JSON)")
    s.add_argument("-o", "--output", required=True, help="the .py file to write (a bundled "
                                                         "sample image, and NAME.weights.npz "
                                                         "for weights that are not torch's "
                                                         "init, are written beside it)")
    add_weight_options(s)


HANDLERS = {"print": cmd_print, "compute": cmd_compute, "script": cmd_script}
