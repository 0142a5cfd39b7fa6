"""Classic kernels for a convolution's weights (the ``preset`` weight source): identity, box
blur, Gaussian, sharpen, Sobel, Prewitt, Laplacian, a Gabor bank, and for 1-D the difference
and the moving average. Each is made at the layer's own kernel size; the help text says how a
size other than the classic 3x3 is handled. Pure NumPy: no Qt, no torch.

Kernels are read the way torch applies them: ``Conv2d`` computes a cross-correlation, so
``output[y, x] = sum over (i, j) of kernel[i, j] * input[y + i, x + j]`` (before padding). The
first kernel dimension runs down (y), the last across (x), as in an image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class KernelError(ValueError):
    """A kernel that cannot be made at this size (a Sobel of width 1, a Gabor in 1-D)."""


@dataclass(frozen=True)
class Kernel:
    """One classic kernel: its config name, what the form shows, which ranks it exists for,
    which parameters it takes, a help text, and how to make it."""

    name: str
    label: str
    dims: tuple[int, ...]
    params: tuple[str, ...]
    help: str
    make: Callable[..., np.ndarray]  # (size, params, out_index, out_count) -> array


def _centre(size: tuple[int, ...]) -> tuple[int, ...]:
    """The centre tap: (k - 1) // 2, the tap padding='same' lines up with the output (for an
    even size, the one left of the middle)."""
    return tuple((k - 1) // 2 for k in size)


def binomial(n: int) -> np.ndarray:
    """Row ``n`` of Pascal's triangle: 1; 1 1; 1 2 1; 1 3 3 1; ..."""
    row = np.ones(1)
    for _ in range(n):
        row = np.convolve(row, [1.0, 1.0])
    return row


def sobel_derivative(k: int) -> np.ndarray:
    """The Sobel difference of length ``k`` >= 2: [-1, 1] smoothed by a binomial, so
    3 gives [-1, 0, 1], 5 gives [-1, -2, 0, 2, 1] (as OpenCV extends Sobel)."""
    return np.convolve([-1.0, 1.0], binomial(k - 2))


def _need(name: str, size, at_least: int, axis_words) -> None:
    for k, word in zip(size, axis_words):
        if k < at_least:
            raise KernelError(NEEDS_SIZE.format(kernel=name, size=at_least, axis=word, got=k))


NEEDS_SIZE = "{kernel} needs a kernel of at least {size} along {axis}, got {got}"
AXES = {1: ("the signal",), 2: ("y (the first size)", "x (the second size)")}


def _embed(small: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """``small`` (3 or 3x3) placed with its centre on the centre tap of a kernel of ``size``,
    zeros around it."""
    out = np.zeros(size)
    at = tuple(c - s // 2 for c, s in zip(_centre(size), small.shape))
    out[tuple(slice(a, a + s) for a, s in zip(at, small.shape))] = small
    return out


def _identity(size, _p, _o, _n):
    out = np.zeros(size)
    out[_centre(size)] = 1.0
    return out


def _box(size, _p, _o, _n):
    return np.full(size, 1.0 / math.prod(size))


def _gaussian(size, p, _o, _n):
    sigma = p.get("sigma") or 1.0
    out = np.ones(())
    for k in size:
        x = np.arange(k) - (k - 1) / 2
        g = np.exp(-x * x / (2 * sigma * sigma))
        out = np.multiply.outer(out, g / g.sum())
    return out


LAPLACIAN_3 = {1: np.array([1.0, -2.0, 1.0]),
               2: np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])}


def _laplacian(size, _p, _o, _n):
    _need("laplacian", size, 3, AXES[len(size)])
    return _embed(LAPLACIAN_3[len(size)], size)


def _sharpen(size, p, o, n):
    _need("sharpen", size, 3, AXES[2])
    return _identity(size, p, o, n) - _laplacian(size, p, o, n)


def _sobel(axis: int):
    def make(size, _p, _o, _n):
        name = "sobel_x" if axis == 1 else "sobel_y"
        _need(name, size[axis:axis + 1], 2, AXES[2][axis:axis + 1])
        smooth, diff = binomial(size[1 - axis] - 1), sobel_derivative(size[axis])
        return np.outer(diff, smooth) if axis == 0 else np.outer(smooth, diff)
    return make


def prewitt_derivative(k: int) -> np.ndarray:
    """-1 on the first half, +1 on the second, 0 in the middle of an odd length."""
    out = np.zeros(k)
    out[:k // 2] = -1.0
    out[(k + 1) // 2:] = 1.0
    return out


def _prewitt(axis: int):
    def make(size, _p, _o, _n):
        name = "prewitt_x" if axis == 1 else "prewitt_y"
        _need(name, size[axis:axis + 1], 2, AXES[2][axis:axis + 1])
        smooth, diff = np.ones(size[1 - axis]), prewitt_derivative(size[axis])
        return np.outer(diff, smooth) if axis == 0 else np.outer(smooth, diff)
    return make


GABOR_GAMMA = 0.5  # the ellipse's aspect ratio: the stripes are twice as long as they are wide


def gabor_defaults(size) -> tuple[float, float]:
    """sigma and wavelength a Gabor kernel of ``size`` takes when none are given."""
    k = max(size)
    return k / 4.0, max(2.0, k / 2.0)


def _gabor(size, p, o, n):
    default_sigma, default_wavelength = gabor_defaults(size)
    sigma = p.get("sigma") or default_sigma
    wavelength = p.get("wavelength") or default_wavelength
    theta = math.pi * o / max(n, 1)
    y, x = np.meshgrid(np.arange(size[0]) - (size[0] - 1) / 2,
                       np.arange(size[1]) - (size[1] - 1) / 2, indexing="ij")
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(xr * xr + GABOR_GAMMA ** 2 * yr * yr) / (2 * sigma * sigma))
    return envelope * np.cos(2 * math.pi * xr / wavelength)


def _difference(size, _p, _o, _n):
    _need("difference", size, 2, AXES[1])
    out = np.zeros(size)
    out[0], out[-1] = -1.0, 1.0
    return out


KERNELS: dict[str, Kernel] = {k.name: k for k in (
    Kernel("identity", "identity", (1, 2), (),
           "1 at the centre tap, 0 elsewhere: the output copies the input (with padding='same', "
           "unshifted). For an even size the centre is the tap left of the middle, (k-1)//2.",
           _identity),
    Kernel("box", "box blur", (2,), (),
           "Every weight 1/(kh*kw): each output is the mean of its window, a blur.", _box),
    Kernel("moving_average", "moving average", (1,), (),
           "Every weight 1/k: each output is the mean of k neighbouring samples, which smooths "
           "the signal.", _box),
    Kernel("gaussian", "Gaussian blur", (1, 2), ("sigma",),
           "exp(-d^2 / (2 sigma^2)) around the centre, scaled to sum to 1: a blur that weighs "
           "near pixels more than far ones. Any size; sigma (default 1) sets how wide it is.",
           _gaussian),
    Kernel("sharpen", "sharpen", (2,), (),
           "identity minus the Laplacian, [[0,-1,0],[-1,5,-1],[0,-1,0]]: adds the difference "
           "to the neighbours, so edges stand out. Needs 3x3 or more; a larger kernel holds the "
           "3x3 one at its centre, zeros around it.", _sharpen),
    Kernel("sobel_x", "Sobel x", (2,), (),
           "[[-1,0,1],[-2,0,2],[-1,0,1]]: large where the image gets brighter from left to "
           "right, so vertical edges light up (negative where it gets darker). Other sizes are "
           "extended as OpenCV does: a binomial difference across x (5: [-1,-2,0,2,1]) times a "
           "binomial smoothing down y (5: [1,4,6,4,1]); x needs 2 or more.", _sobel(1)),
    Kernel("sobel_y", "Sobel y", (2,), (),
           "Sobel x turned a quarter: [[-1,-2,-1],[0,0,0],[1,2,1]], large where the image gets "
           "brighter downwards, so horizontal edges light up. Extended to other sizes as Sobel "
           "x; y needs 2 or more.", _sobel(0)),
    Kernel("prewitt_x", "Prewitt x", (2,), (),
           "[[-1,0,1],[-1,0,1],[-1,0,1]]: like Sobel x with equal weights on every row. Other "
           "sizes: -1 on the left half, +1 on the right half (0 on an odd middle column).",
           _prewitt(1)),
    Kernel("prewitt_y", "Prewitt y", (2,), (),
           "[[-1,-1,-1],[0,0,0],[1,1,1]]: horizontal edges, with equal weights on every column. "
           "Other sizes as Prewitt x.", _prewitt(0)),
    Kernel("laplacian", "Laplacian", (1, 2), (),
           "[[0,1,0],[1,-4,1],[0,1,0]] (1-D: [1,-2,1]): the neighbours minus the centre, zero "
           "on flat areas and on even slopes, large on both sides of an edge. Needs 3 or more; "
           "a larger kernel holds it at its centre, zeros around it.", _laplacian),
    Kernel("gabor", "Gabor bank", (2,), ("sigma", "wavelength"),
           "Stripes of the wavelength under a Gaussian envelope, exp(-(x'^2 + 0.25 y'^2) / "
           "(2 sigma^2)) * cos(2 pi x' / wavelength), turned by 180 * o / n degrees for output "
           "channel o of n: a bank of oriented edge and texture detectors, like a first conv "
           "layer learns. Defaults: sigma = k/4, wavelength = max(2, k/2) for the larger size "
           "k.", _gabor),
    Kernel("difference", "difference", (1,), (),
           "-1 on the first tap, +1 on the last, 0 between ([-1, 1], [-1, 0, 1], ...): each "
           "output is how much the signal rose across the window. Needs 2 or more.",
           _difference),
)}

WRONG_RANK = ("{kernel} is a kernel for {ranks} convolutions, and this layer is {dims}-D; "
              "kernels for {dims}-D: {valid}")


def kernels_for(dims: int) -> list[Kernel]:
    return [k for k in KERNELS.values() if dims in k.dims]


def make_kernel(name: str, size: tuple[int, ...], params: dict | None = None,
                out_index: int = 0, out_count: int = 1) -> np.ndarray:
    """Kernel ``name`` of ``size`` (one int per spatial dimension) as float64. ``out_index``
    of ``out_count`` turns a Gabor kernel of a bank. KernelError where it cannot be made."""
    kernel = KERNELS[name]
    size = tuple(int(k) for k in size)
    if len(size) not in kernel.dims:
        ranks = " or ".join(f"{d}-D" for d in kernel.dims)
        valid = ", ".join(k.name for k in kernels_for(len(size)))
        raise KernelError(WRONG_RANK.format(kernel=name, ranks=ranks, dims=len(size),
                                            valid=valid))
    return kernel.make(size, dict(params or {}), out_index, out_count)
