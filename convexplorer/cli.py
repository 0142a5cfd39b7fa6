"""Command line: ``run`` and ``shapes`` work headless over model + engine; with no sub-command
the window opens (``gui.app``). Errors are one short line on stderr and a non-zero exit, never a
traceback."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .model.config_io import ConfigError, load_config
from .model.files import short_path
from .model.spec import Objective

SUBCOMMANDS = ("run", "shapes", "import", "print", "compute", "script")

EXIT_OK, EXIT_RUN, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_RUN):
        super().__init__(message)
        self.code = code


OBJECTIVE_USAGE = ("--objective: use sum, mean, sum:LAYER, channel:LAYER:BATCH:CHANNEL, "
                   "unit:LAYER:BATCH:CHANNEL:I[,J], cross_entropy[:LAYER]:CLASS[,CLASS...], "
                   "mse[:LAYER[:zeros|randn[:SEED]]] or gradient[:LAYER[:SEED]] (got {text!r})")


def _objective_layer(key: str, layer_names: list[str]) -> int:
    if key in layer_names:
        return layer_names.index(key)
    try:
        return int(key)
    except ValueError:
        raise CliError(f"--objective: no layer named {key!r}; layers: "
                       f"{', '.join(layer_names)}", EXIT_USAGE) from None


def parse_objective(text: str, layer_names: list[str]) -> Objective:
    """``sum`` | ``mean`` | ``sum:LAYER`` | ``channel:LAYER:BATCH:CHANNEL`` |
    ``unit:LAYER:BATCH:CHANNEL:I[,J]`` | ``cross_entropy[:LAYER]:CLASS[,CLASS...]`` |
    ``mse[:LAYER[:zeros|randn[:SEED]]]`` | ``gradient[:LAYER[:SEED]]``, where LAYER is a layer
    name or index (-1: last)."""
    parts = text.split(":")
    kind = parts[0]
    usage = OBJECTIVE_USAGE.format(text=text)
    need = {"sum": (1, 2), "mean": (1, 2), "channel": (4,), "unit": (4, 5),
            "cross_entropy": (2, 3), "mse": (1, 2, 3, 4), "gradient": (1, 2, 3)}
    if kind not in need or len(parts) not in need[kind]:
        raise CliError(usage, EXIT_USAGE)
    try:
        if kind == "cross_entropy":
            layer = _objective_layer(parts[1], layer_names) if len(parts) == 3 else -1
            target = tuple(int(t) for t in parts[-1].split(","))
            return Objective(kind, layer, target=target)
        layer = _objective_layer(parts[1], layer_names) if len(parts) > 1 else -1
        if kind == "mse":
            target = parts[2] if len(parts) > 2 else "zeros"
            if target not in ("zeros", "randn") or (len(parts) == 4 and target != "randn"):
                raise CliError(usage, EXIT_USAGE)
            return Objective(kind, layer, target=target,
                             seed=int(parts[3]) if len(parts) == 4 else 0)
        if kind == "gradient":
            return Objective(kind, layer, seed=int(parts[2]) if len(parts) == 3 else 0)
        batch = int(parts[2]) if len(parts) > 2 else 0
        channel = int(parts[3]) if len(parts) > 3 else 0
        position = tuple(int(p) for p in parts[4].split(",")) if len(parts) > 4 else ()
    except ValueError:
        raise CliError(usage, EXIT_USAGE) from None
    return Objective(kind, layer, batch, channel, position)


def _load(path: str):
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


OUT_UNWRITABLE = "--out {path}: cannot write ({reason})"


def _check_out_dir(out: str) -> None:
    """Refuse an output folder that cannot be written before a (possibly long) run."""
    path, shown = Path(out), short_path(out)
    try:
        if path.exists() and not path.is_dir():
            raise CliError(OUT_UNWRITABLE.format(path=shown, reason="it is a file, not a folder"))
        parent = path
        while not parent.exists():
            if parent.parent == parent:
                break
            parent = parent.parent
        if not parent.is_dir():
            raise CliError(OUT_UNWRITABLE.format(
                path=shown, reason=f"{short_path(parent)} is not a folder"))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CliError(OUT_UNWRITABLE.format(
                path=shown, reason=f"no permission to write in {short_path(parent)}"))
    except OSError as exc:  # e.g. a path too long for the system
        raise CliError(OUT_UNWRITABLE.format(path=shown, reason=exc.strerror or exc)) from None


def _check_memory(config, shape, ignore_limit: bool, where: str, decoded: int = 0) -> None:
    """Refuse a run whose estimated memory is above CONVEXPLORER_MEMORY_LIMIT_MB."""
    from .engine.devices import channel_block
    from .model.memory import estimate_bytes, memory_limit_bytes, over_limit_message
    from .model.shapes import infer

    limit = memory_limit_bytes()
    report = infer(config.layers, shape)
    if ignore_limit or limit is None or not report.ok:
        return  # problems are reported by the run itself, with their fields
    estimate = estimate_bytes(report, decoded, channel_block())
    if estimate > limit:
        raise CliError(f"{where}: {over_limit_message(estimate, limit)}; or pass "
                       "--ignore-memory-limit (or raise CONVEXPLORER_MEMORY_LIMIT_MB)")


OUT_OF_MEMORY = ("{config}: out of memory: use a smaller input, fewer channels or a larger "
                 "stride")


def run_for_cli(args, objective=None, config=None):
    """Load, check and run the config of ``args`` (its ``--input``, ``--device``,
    ``--weights``/``--mode`` and ``--ignore-memory-limit`` where the command has them):
    the (config, RunResult); CliError with the right exit code otherwise. Shared by ``run``
    and the numbers commands (``print``, ``compute``)."""
    from .cli_weights import apply_weight_options
    from .engine.inputs import (
        InputError,
        decoded_bytes,
        file_spec,
        input_file_shape,
        input_shape,
        load_input_file,
    )
    from .engine.run import RunError, config_dir, run

    config = config if config is not None else _load(args.config)
    where = short_path(args.config)
    base = config_dir(args.config)
    given = getattr(args, "input", None)
    if given:  # the header first: the memory check comes before the loading
        try:
            shape = input_file_shape(given)
        except InputError as exc:
            raise CliError(f"--input {exc}", EXIT_USAGE) from None
        decoded = decoded_bytes(file_spec(given))
    else:
        try:
            shape = input_shape(config.input, base)
        except InputError as exc:
            raise CliError(f"{where}: input: {exc}") from None
        decoded = decoded_bytes(config.input, base)
    _check_memory(config, tuple(shape), getattr(args, "ignore_memory_limit", False), where,
                  decoded)
    config = apply_weight_options(config, args, shape)
    x = None
    try:
        if given:
            x = load_input_file(given)
        result = run(config, base_dir=base, input_array=x, device=getattr(args, "device", None),
                     objective=objective)
    except InputError as exc:
        raise CliError(f"--input {exc}", EXIT_USAGE) from None
    except MemoryError:
        raise CliError(OUT_OF_MEMORY.format(config=where)) from None
    except RunError as exc:
        if exc.problems:
            msg = "\n".join(f"{where}: {p}" for p in exc.problems)
            raise CliError(msg, EXIT_USAGE) from None
        raise CliError(f"{where}: {exc}") from None
    return config, result


def cmd_run(args) -> int:
    from .engine.export import write_run

    config = _load(args.config)
    where = short_path(args.config)
    names = [spec.name or str(i) for i, spec in enumerate(config.layers)]
    objective = parse_objective(args.objective, names) if args.objective else None
    _check_out_dir(args.out)
    config, result = run_for_cli(args, objective, config)
    try:
        summary = write_run(result, args.out, channel_pngs=args.channel_pngs)
    except MemoryError:  # the PNGs of a very large run
        raise CliError(OUT_OF_MEMORY.format(config=where)) from None
    except OSError as exc:
        raise CliError(OUT_UNWRITABLE.format(path=short_path(args.out),
                                             reason=exc.strerror or exc)) from None
    last = result.layers[-1].output_shape if result.layers else result.input.shape
    n = len(result.layers)
    print(f"{config.name}: {n} layer{'' if n == 1 else 's'} on {result.device}, output "
          f"{list(last)}, {result.objective_label} = {result.objective_value:.6g}; "
          f"wrote {summary}")
    return EXIT_OK


def cmd_shapes(args) -> int:
    # The formulas are exact and need no torch: without --check this command never imports
    # it (importing torch costs seconds); --check also runs the stack on torch's meta device.
    from .engine.inputs import InputError, input_file_shape, input_shape
    from .model.shapes import fmt_shape, infer

    config = _load(args.config)
    try:
        shape = (input_file_shape(args.input) if args.input
                 else input_shape(config.input, Path(args.config).resolve().parent))
    except InputError as exc:
        raise CliError(f"input: {exc}", EXIT_USAGE) from None
    from .cli_weights import apply_weight_options

    config = apply_weight_options(config, args, shape)
    if args.check:
        from .engine.meta import infer_meta

        report = infer_meta(config.layers, shape)
    else:
        report = infer(config.layers, shape)
    rows = [("Layer", "Output shape", "Params", "Mult-adds", "Receptive field")]
    rows.append(("input", fmt_shape(report.input_shape), "", "", ""))
    for info in report.layers:
        rows.append((info.label, fmt_shape(info.output_shape), f"{info.params:,}",
                     f"{info.macs:,}", str(info.receptive_field or "")))
    rows.append(("total", "", f"{report.total_params:,}", f"{report.total_macs:,}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if args.formulas:
        for info in report.layers:
            merge = info.spec.layer_type is not None and info.spec.layer_type.is_merge
            for j, line in enumerate(info.formula):  # a merge's lines are not per dimension
                print(f"{info.label}: {line}" if merge else f"{info.label} dim {j}: {line}")
    for p in report.problems:
        print(f"{short_path(args.config)}: {p}", file=sys.stderr)
    for note in report.notes:  # torch accepts these: the exit code stays 0
        print(f"{short_path(args.config)}: warning: {note}", file=sys.stderr)
    return EXIT_USAGE if report.problems else EXIT_OK


def cmd_import(args) -> int:
    from .model.config_io import save_config
    from .model.files import FileProblem, read_regular
    from .model.import_notes import CLI, note
    from .model.pytorch_code import ImportError_, import_text
    from .model.pytorch_parse import MAX_TEXT_CHARS

    try:
        size = Path(args.file).stat().st_size
        if size > 4 * MAX_TEXT_CHARS:  # never read a huge file to refuse it afterwards
            message = note("file_too_long", size=size, limit=MAX_TEXT_CHARS).text(CLI)
            raise CliError(f"{args.file}: {message}", EXIT_USAGE)
        # a regular file only: a FIFO or /dev/zero would hang or fill the memory
        text = read_regular(args.file, 4 * MAX_TEXT_CHARS, "text file").decode("utf-8")
    except FileProblem as exc:
        raise CliError(f"{short_path(args.file)}: {exc}", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"{args.file}: cannot read ({exc.strerror or exc})", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise CliError(f"{args.file}: not a text file", EXIT_USAGE) from None
    try:
        result = import_text(text, shape=tuple(args.shape) if args.shape else None,
                             class_name=args.class_name, audience=CLI)
    except ImportError_ as exc:
        for line in exc.notes_text(CLI):
            print(f"{args.file}: {line}", file=sys.stderr)
        raise CliError(f"{args.file}: {exc.text(CLI)}", EXIT_USAGE) from None
    for line in result.notes:
        print(f"{args.file}: {line}", file=sys.stderr)
    config = result.config
    if result.suggestions and args.fix:
        config = result.fixed_config
        for s in result.suggestions:
            print(f"{args.file}: inserted {s.spec.type} ({s.spec.name})", file=sys.stderr)
    elif result.suggestions:
        print(f"{args.file}: nothing inserted; add --fix to insert the missing layers",
              file=sys.stderr)
    try:
        save_config(config, args.output)
    except OSError as exc:
        raise CliError(f"-o {args.output}: cannot write ({exc.strerror or exc})") from None
    print(f"wrote {args.output}: {len(config.layers)} layers, input "
          f"{list(result.input_shape)}{' (guessed)' if result.shape_guessed else ''}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="convexplorer",
        description="See what convolution and pooling layers do. With no command, opens the "
                    "window (on CONFIG, or the bundled MNISTConvNet example).",
        epilog="window: convexplorer [CONFIG.json] [--screenshot OUT.png]  (--screenshot saves "
               "the window as PNG once the first results are drawn, then exits; it works "
               "headless)",
    )
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run a config headless and write arrays, PNGs, summary.json")
    r.add_argument("config", help="config file (JSON)")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--input", help="input file instead of the config's: .npy, PNG, JPEG or BMP")
    r.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the config's)")
    r.add_argument("--objective", help="what backward differentiates: sum (default), mean, "
                                       "sum:LAYER, channel:LAYER:B:C, unit:LAYER:B:C:I[,J], "
                                       "cross_entropy[:LAYER]:CLASS[,CLASS...], "
                                       "mse[:LAYER[:zeros|randn[:SEED]]], "
                                       "gradient[:LAYER[:SEED]]")
    r.add_argument("--channel-pngs", action="store_true", help="also one PNG per channel")
    from .cli_weights import add_weight_options

    add_weight_options(r)
    r.add_argument("--ignore-memory-limit", action="store_true",
                   help="run even if the estimated memory is above "
                        "CONVEXPLORER_MEMORY_LIMIT_MB (default 2048)")
    s = sub.add_parser("shapes", help="print each layer's output shape, params, mult-adds")
    s.add_argument("config")
    s.add_argument("--input", help="input file instead of the config's")
    s.add_argument("--formulas", action="store_true", help="print the output-size formulas")
    s.add_argument("--check", action="store_true",
                   help="also run the stack on torch's meta device (imports torch: slower) and "
                        "report anything torch rejects")
    add_weight_options(s)
    i = sub.add_parser("import", help="turn print(model) output or nn.Sequential code into a "
                                      "config")
    i.add_argument("file", help="text file with print(model) output or PyTorch code")
    i.add_argument("-o", "--output", required=True, help="config file to write")
    i.add_argument("--shape", type=int, nargs="+",
                   help="input shape, e.g. 1 1 28 28 (default: guessed from the first layer)")
    i.add_argument("--fix", action="store_true",
                   help="insert the layers found missing (e.g. a Flatten before a Linear)")
    i.add_argument("--class", dest="class_name", metavar="NAME",
                   help="the class to read where the code defines several (default: the one "
                        "the others are built into)")
    from .cli_numbers import add_parsers

    add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS + ("-h", "--help"):
        from .gui.app import main as gui_main

        return gui_main(argv)
    args = build_parser().parse_args(argv)
    from .cli_numbers import HANDLERS

    handler = {"run": cmd_run, "shapes": cmd_shapes, "import": cmd_import, **HANDLERS}[
        args.command]
    try:
        return handler(args)
    except CliError as exc:
        print(f"convexplorer: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("convexplorer: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, unless CONVEXPLORER_DEBUG asks for more
        if os.environ.get("CONVEXPLORER_DEBUG"):
            raise
        print(f"convexplorer: internal error ({type(exc).__name__}: {exc}); set "
              "CONVEXPLORER_DEBUG=1 for the traceback", file=sys.stderr)
        return EXIT_INTERNAL
