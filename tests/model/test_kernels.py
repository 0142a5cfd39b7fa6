"""Preset kernels (model.kernels): the documented values at the classic size, the documented
extension to other sizes, and the refusals, with the message naming the kernel and size."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.model.kernels import KERNELS, KernelError, make_kernel
from convexplorer.model.weights import PresetKernel, WeightSpec, preset_arrays


def k(name, size, **params):
    return make_kernel(name, size, params)


def test_classic_3x3_kernels_are_the_textbook_ones():
    np.testing.assert_array_equal(k("identity", (3, 3)), [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(k("box", (3, 3)), np.full((3, 3), 1 / 9))
    np.testing.assert_array_equal(k("sharpen", (3, 3)), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(k("sobel_x", (3, 3)), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(k("sobel_y", (3, 3)), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(k("prewitt_x", (3, 3)), [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(k("prewitt_y", (3, 3)), [[-1] * 3, [0] * 3, [1] * 3])
    np.testing.assert_array_equal(k("laplacian", (3, 3)), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])


def test_one_d_kernels():
    np.testing.assert_array_equal(k("difference", (2,)), [-1, 1])
    np.testing.assert_array_equal(k("difference", (3,)), [-1, 0, 1])
    np.testing.assert_array_equal(k("difference", (5,)), [-1, 0, 0, 0, 1])
    np.testing.assert_allclose(k("moving_average", (4,)), [0.25] * 4)
    np.testing.assert_array_equal(k("laplacian", (3,)), [1, -2, 1])
    np.testing.assert_array_equal(k("identity", (4,)), [0, 1, 0, 0])  # (k-1)//2


def test_gaussian_of_any_size_sums_to_one_and_follows_sigma():
    for size in [(1, 1), (3, 3), (4, 6), (7, 7)]:
        g = k("gaussian", size, sigma=1.5)
        assert g.shape == size and g.sum() == pytest.approx(1.0)
    g = k("gaussian", (3,), sigma=1.0)
    e = np.exp(-0.5)
    np.testing.assert_allclose(g, np.array([e, 1, e]) / (1 + 2 * e))
    g2 = k("gaussian", (5, 5), sigma=1.0)
    np.testing.assert_allclose(g2, np.outer(g2.sum(1), g2.sum(0)))  # separable
    assert k("gaussian", (5, 5), sigma=3.0)[0, 0] > g2[0, 0]  # wider


def test_sobel_is_extended_as_opencv_does():
    np.testing.assert_array_equal(k("sobel_x", (5, 5)),
                                  np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1]))
    np.testing.assert_array_equal(k("sobel_y", (5, 5)),
                                  np.outer([-1, -2, 0, 2, 1], [1, 4, 6, 4, 1]))
    np.testing.assert_array_equal(k("sobel_x", (1, 2)), [[-1, 1]])
    np.testing.assert_array_equal(k("prewitt_x", (2, 4)), [[-1, -1, 1, 1]] * 2)


def test_larger_laplacian_and_sharpen_hold_the_3x3_at_the_centre():
    lap = k("laplacian", (5, 5))
    np.testing.assert_array_equal(lap[1:4, 1:4], k("laplacian", (3, 3)))
    assert np.count_nonzero(lap) == 5
    np.testing.assert_array_equal(k("sharpen", (4, 4))[0:3, 0:3], k("sharpen", (3, 3)))


def test_gabor_bank_turns_over_the_output_channels():
    a = make_kernel("gabor", (7, 7), {}, 0, 4)
    b = make_kernel("gabor", (7, 7), {}, 2, 4)  # 90 degrees
    np.testing.assert_allclose(a, b.T, atol=1e-12)  # theta 0 stripes vs theta 90
    assert a[3, 3] == pytest.approx(1.0)


@pytest.mark.parametrize("name, size, text", [
    ("sobel_x", (3, 1), "sobel_x needs a kernel of at least 2 along x"),
    ("sobel_y", (1, 3), "sobel_y needs a kernel of at least 2 along y"),
    ("laplacian", (2, 2), "laplacian needs a kernel of at least 3"),
    ("gabor", (5,), "gabor is a kernel for 2-D convolutions, and this layer is 1-D"),
    ("box", (3,), "kernels for 1-D: identity, moving_average"),
    ("difference", (1,), "difference needs a kernel of at least 2"),
])
def test_kernels_that_cannot_be_made_say_why(name, size, text):
    with pytest.raises(KernelError, match=text):
        make_kernel(name, size)


def test_every_kernel_has_help_and_a_label():
    for kernel in KERNELS.values():
        assert kernel.help.endswith(".") and kernel.label


def test_presets_on_pairs_and_bias_zero():
    spec = WeightSpec("preset", kernels=(PresetKernel("sobel_x"),
                                         PresetKernel("identity", out=1, in_=0)))
    arrays = preset_arrays(spec, (2, 3, 3, 3), False, 2)
    np.testing.assert_array_equal(arrays["weight"][0, 2], k("sobel_x", (3, 3)))
    np.testing.assert_array_equal(arrays["weight"][1, 0], k("identity", (3, 3)))
    np.testing.assert_array_equal(arrays["weight"][1, 1], k("sobel_x", (3, 3)))
    np.testing.assert_array_equal(arrays["bias"], [0, 0])
    only = preset_arrays(WeightSpec("preset", kernels=(PresetKernel("box", out=0, in_=1),)),
                         (2, 3, 3, 3), False, None)
    assert "bias" not in only
    assert np.count_nonzero(only["weight"]) == 9  # the pairs without a kernel are 0
    transposed = preset_arrays(WeightSpec("preset", kernels=(PresetKernel("identity", out=1),)),
                               (3, 2, 2, 2), True, 4)
    assert transposed["weight"][:, 1].sum() == 3 and transposed["weight"][:, 0].sum() == 0
    assert transposed["bias"].shape == (4,)
