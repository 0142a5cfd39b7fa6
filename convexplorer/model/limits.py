"""The bounds of every number a user can give, in one place: the catalogue's layer parameters
take theirs from here, and so do the config's own fields (seeds, input shape, frequency). Each
bound is one torch accepts and a spin box can hold, so a value that enters through a config
file, the form or the importer is checked once against the same limit.

Also how a number is shown in a message: ``fmt_number`` abbreviates a 400-digit integer, so a
message stays one short line whatever the user typed. No Qt, no torch.
"""

from __future__ import annotations

import math
from typing import Any

# torch keeps sizes as int64 and a Qt spin box holds an int32: every integer stays below 2**31
# (the config's seeds, input sizes and objective indices go that far). Layer keywords have a
# saner bound, the same the PyTorch code importer refuses beyond: far past any real layer,
# small enough that shapes, parameter counts and divisors are computed at once.
MAX_INT = 2**31 - 1
MAX_CHANNELS = 1_000_000  # in/out_channels, num_features, in/out_features, groups, divisor
MAX_SIZE = 100_000  # kernel_size, stride, padding, dilation, output_padding, output_size
MAX_FLOAT = 1e6  # eps, negative_slope
MAX_SHAPE_RANK = 5
MIN_FREQUENCY, MAX_FREQUENCY = 0.01, 10_000.0  # cycles over a signal's length
MAX_IMAGE_SIDE = 4096  # an image input's resize target, per side
MAX_DEPTH = 16  # JSON nesting of a config: three levels are used, a few more are tolerated
MAX_CONFIG_BYTES = 16 << 20  # a config is a few KiB; 16 MiB leaves room for long names

DIGITS_SHOWN = 15  # integers longer than this are shown abbreviated in messages


def fmt_number(value: Any) -> str:
    """A number as a message shows it: exact up to 15 digits, ``1.00e+400`` beyond (Python
    cannot even turn such an int into a float), ``nan`` / ``inf`` as such."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    digits = str(abs(value)) if value.bit_length() < 14_000 else None
    if digits is not None and len(digits) <= DIGITS_SHOWN:
        return str(value)
    if digits is None:  # over ~4300 digits: str() itself refuses; say roughly how long
        exponent = int(value.bit_length() * math.log10(2))
        return f"{'-' if value < 0 else ''}about 1e+{exponent}"
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
