"""How much memory a run needs, estimated from the inferred shapes, and the limit above which
the window asks first and the command line refuses (``CONVEXPLORER_MEMORY_LIMIT_MB``).

Pure arithmetic: no torch, no Qt, so the window can show the estimate on every edit.

The estimate is the peak a run reaches, not only what it hands back. It counts:

- what a run holds: the input and its gradient, every output, its gradient and its pooling
  indices, the parameters and their gradients (``held_bytes``), and the host copy of the last
  output's gradient (an objective's gradient comes expanded and is made contiguous);
- the largest working set of one layer: a convolution's backward pass lays input and output
  out in oneDNN's blocked format, channels padded to blocks of 16, and keeps reordered copies
  (measured: 0.9 to 1.8 times the padded input and output; CONV_WORK); other layers
  materialise about one output (a gradient, a dropout mask);
- the PNG rendering of the largest layer (``python main.py run`` and the window's images): the
  RGB image and Pillow's 4-byte copy of it; a 1-D map is drawn as 8-pixel strips, 9 rows each;
- the input as decoded, before the run (an image's pixels through Pillow, a .npy file's values
  in their own dtype next to the float32 copy): ``decoded`` bytes, from engine.inputs.

tests/engine/test_memory_peak.py holds the estimate within 1.5 times the peak resident memory
measured in a fresh process, over several stacks.
"""

from __future__ import annotations

import math
import os

from .shapes import ShapeReport

LIMIT_ENV = "CONVEXPLORER_MEMORY_LIMIT_MB"
DEFAULT_LIMIT_MB = 2048  # most machines have it to spare; a run beyond it deserves a question


FLOAT, INDEX = 4, 8  # bytes of a float32 value and of an int64 index
CHANNEL_BLOCK = 16  # oneDNN pads channels to blocks of 16 with AVX-512, 8 without (see engine)
CONV_WORK = 1.25  # a convolution's working set, in padded inputs and outputs (see above)
PNG_BYTES = 3 + 4  # per pixel: the RGB image, and Pillow's copy (4 bytes a pixel)
STRIP_ROWS = 9  # engine.images.STRIP_HEIGHT + a gap: the rows of one 1-D channel


def held_bytes(report: ShapeReport) -> int:
    """What a run hands back: input, every output and their gradients (float32), pooling
    indices (int64), parameters and their gradients."""
    total = 2 * FLOAT * math.prod(report.input_shape) if report.input_shape else 0
    for info in report.layers:
        if info.output_shape is None:
            continue
        n = math.prod(info.output_shape)
        total += 2 * FLOAT * n + 2 * FLOAT * info.params
        if info.kwargs.get("return_indices"):
            total += INDEX * n
    return total


def _padded(shape, block: int) -> int:
    """Values of a tensor with its channels padded to a multiple of ``block``."""
    channels = -(-shape[1] // block) * block
    return shape[0] * channels * math.prod(shape[2:])


def work_bytes(report: ShapeReport, channel_block: int = CHANNEL_BLOCK) -> int:
    """The largest working set one layer needs on top of what the run holds."""
    most = 0
    for info in report.layers:
        if info.output_shape is None or info.input_shape is None:
            continue
        if info.spec.type.startswith(("Conv", "ConvTranspose")):
            padded = (_padded(info.input_shape, channel_block)
                      + _padded(info.output_shape, channel_block))
            need = int(CONV_WORK * FLOAT * padded)
        else:
            need = FLOAT * math.prod(info.output_shape)
        most = max(most, need)
    return most


def render_bytes(report: ShapeReport) -> int:
    """Drawing the largest layer output (one batch item) as a PNG."""
    most = 0
    for shape in [i.output_shape for i in report.layers]:
        if not shape or len(shape) < 2:
            continue
        item = math.prod(shape[1:])
        rows = STRIP_ROWS if len(shape) <= 3 else 1  # (N, F) and (N, C, L) become strips
        most = max(most, PNG_BYTES * rows * item)
    return most


def estimate_bytes(report: ShapeReport, decoded: int = 0,
                   channel_block: int = CHANNEL_BLOCK) -> int:
    """The peak memory of a run: what it holds, plus the larger of one layer's working set
    and the PNG rendering; or the input's decoding (``decoded`` bytes, before the run), if
    that is more. ``channel_block``: engine.devices.channel_block() where torch is loaded
    (the window, before it is, takes the larger 16: it asks a little early rather than late).
    See the module docstring."""
    if not report.input_shape:
        return decoded
    held = held_bytes(report)
    last = report.output_shape or report.input_shape
    held += FLOAT * math.prod(last)  # the contiguous copy of the objective's gradient
    work = work_bytes(report, channel_block)
    return max(decoded, held + max(work, render_bytes(report)))


def memory_limit_bytes() -> int | None:
    """The limit from ``CONVEXPLORER_MEMORY_LIMIT_MB`` (default 2048 MiB); 0 or less: no
    limit. A value that is not a number is ignored (the default applies)."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    try:
        mb = float(text) if text else DEFAULT_LIMIT_MB
    except ValueError:
        mb = DEFAULT_LIMIT_MB
    if not math.isfinite(mb):
        mb = DEFAULT_LIMIT_MB if math.isnan(mb) else 0
    return None if mb <= 0 else int(mb * 2**20)


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KiB', 3 * 2**30 -> '3.0 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover - the loop always returns


OVER_LIMIT = ("this run needs about {estimate} at its peak (activations, gradients, working "
              "memory and images), more than the {limit} limit; make the input smaller, use "
              "fewer channels or a larger stride")


def over_limit_message(estimate: int, limit: int) -> str:
    """Why a run is held: the estimate, the limit and what to do."""
    return OVER_LIMIT.format(estimate=fmt_bytes(estimate), limit=fmt_bytes(limit))
