"""``--weights FILE`` and ``--mode train|eval`` for the commands that build the stack (``run``,
``shapes``, ``print``, ``compute``, ``script``): a checkpoint for the whole stack, matched by the
layers' names, its report (matched, missing, unexpected and mismatched keys) on stderr; and the
mode the model runs in."""

from __future__ import annotations

import sys
from dataclasses import replace

from .cli import EXIT_USAGE, CliError
from .model.files import short_path

WEIGHTS_HELP = ("a checkpoint for the whole stack (.pt/.pth state_dict, .safetensors or .npz), "
                "matched by layer names (a prefix such as 'module.' is found and stripped); "
                "the report goes to stderr")
MODE_HELP = ("train (the default: BatchNorm uses the batch's statistics, Dropout drops) or "
             "eval (BatchNorm uses its running statistics, Dropout passes everything); "
             "default: the config's")


def add_weight_options(parser) -> None:
    parser.add_argument("--weights", metavar="FILE", help=WEIGHTS_HELP)
    parser.add_argument("--mode", choices=("train", "eval"), help=MODE_HELP)


def apply_weight_options(config, args, shape):
    """``config`` with ``--mode`` and the checkpoint of ``--weights`` applied (CliError, exit
    code 2, naming the key and both shapes when the checkpoint does not fit: nothing is
    loaded then)."""
    if getattr(args, "mode", None):
        config = replace(config, mode=args.mode)
    path = getattr(args, "weights", None)
    if not path:
        return config
    from .engine.weights import apply_checkpoint
    from .model.shapes import infer
    from .model.weight_files import WeightFileError

    report = infer(config.layers, tuple(shape))
    if report.problems:  # the command reports them, with their fields
        return config
    try:
        config, matched = apply_checkpoint(config, report, path, short_path(path))
    except WeightFileError as exc:
        raise CliError(f"--weights {exc}", EXIT_USAGE) from None
    for line in matched.lines():
        print(line, file=sys.stderr)
    if not matched.ok:
        raise CliError("\n".join(f"--weights: {p}" for p in matched.problems), EXIT_USAGE)
    return config
