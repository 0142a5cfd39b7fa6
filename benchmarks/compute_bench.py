"""How long one unit's breakdown takes (model.compute): a unit of a 3x3 convolution over 64
input channels (576 terms), the figure the GUI pays when a learner clicks a unit.

    python benchmarks/compute_bench.py [--repeats N]

Prints the median of compute_unit alone, and of compute_unit followed by the Term list and
to_json (what the GUI's table and a script would add). NumPy only: no torch needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convexplorer.model.compute import compute_unit  # noqa: E402
from convexplorer.model.shapes import infer  # noqa: E402
from convexplorer.model.spec import LayerSpec  # noqa: E402

SHAPE = (1, 64, 32, 32)


def conv_case():
    """(info, x, y, params) of a Conv2d(64, 64, 3, padding=1) on a 32x32 input."""
    info = infer([LayerSpec.make("Conv2d", "conv", in_channels=64, out_channels=64,
                                 kernel_size=3, padding=1)], SHAPE).layers[0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    y = rng.standard_normal(info.output_shape).astype(np.float32)  # torch's values: not needed
    params = {"weight": rng.standard_normal((64, 64, 3, 3)).astype(np.float32) * 0.05,
              "bias": rng.standard_normal(64).astype(np.float32)}
    return info, x, y, params


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def bench_compute_unit(repeats: int = 200) -> dict:
    info, x, y, params = conv_case()
    units = [(0, 5, 0, 0), (0, 17, 15, 16), (0, 63, 31, 31)]
    state = {"i": 0}

    def one():
        state["i"] += 1
        return compute_unit(info, x, y, params, units[state["i"] % len(units)])

    def full():
        bd = one()
        bd.terms  # noqa: B018 - the lazy Term list
        bd.to_json()

    return {"compute_unit_3x3x64_ms": median_ms(one, repeats),
            "compute_unit_terms_json_3x3x64_ms": median_ms(full, repeats),
            "terms": len(one().terms)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args(argv)
    figures = bench_compute_unit(args.repeats)
    print(f"compute_unit, 3x3 conv over 64 channels ({figures['terms']} terms): "
          f"{figures['compute_unit_3x3x64_ms']:.2f} ms median")
    print(f"  with the Term list and to_json: "
          f"{figures['compute_unit_terms_json_3x3x64_ms']:.2f} ms median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
