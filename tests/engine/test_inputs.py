"""Inputs: seeded random arrays, synthetic signals, the bundled sample images (grayscale, RGB,
resized), .npy files; and every bad input as an InputError that names the file and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from convexplorer.engine.inputs import (
    InputError,
    input_shape,
    load_image,
    load_input,
    load_input_file,
    resolve_path,
    sample_images,
)
from convexplorer.model.spec import SIGNALS, InputSpec
from convexplorer.resources_path import sample_image_path


def test_random_is_seeded_and_follows_the_distribution():
    a = load_input(InputSpec("random", (2, 3, 40, 40), seed=1))
    b = load_input(InputSpec("random", (2, 3, 40, 40), seed=1))
    c = load_input(InputSpec("random", (2, 3, 40, 40), seed=2))
    assert a.dtype == np.float32 and a.shape == (2, 3, 40, 40)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(a.mean()) < 0.05 and 0.95 < a.std() < 1.05 and a.min() < -2.5
    u = load_input(InputSpec("random", (2, 3, 40, 40), seed=1, distribution="uniform"))
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(
        u, load_input(InputSpec("random", (2, 3, 40, 40), seed=1, distribution="uniform")))


@pytest.mark.parametrize("signal", SIGNALS)
def test_signals(signal):
    x = load_input(InputSpec("signal", (2, 3, 64), signal=signal, frequency=2.0))
    assert x.shape == (2, 3, 64) and x.dtype == np.float32 and np.isfinite(x).all()
    assert x.max() > 0.5 and np.abs(x).max() <= 1.0
    if signal == "impulse":
        assert (x != 0).sum(axis=-1).tolist() == [[1, 1, 1], [1, 1, 1]]
    if signal == "sine":
        np.testing.assert_allclose(x[0, 0], np.sin(2 * np.pi * 2.0 * np.arange(64) / 64),
                                   atol=1e-6)
    assert input_shape(InputSpec("signal", (2, 3, 64), signal=signal)) == (2, 3, 64)


def test_signal_in_2d_shape_repeats_along_rows():
    x = load_input(InputSpec("signal", (1, 1, 4, 16)))
    assert x.shape == (1, 1, 4, 16)
    np.testing.assert_array_equal(x[0, 0, 0], x[0, 0, 3])


def test_sample_images_are_bundled():
    names = sample_images()
    assert "sample:digit7.png" in names and all(n.startswith("sample:") for n in names)
    for name in names:
        assert resolve_path(name).is_file()


def test_sample_digit_grayscale():
    spec = InputSpec("image", path="sample:digit7.png", mode="L")
    x = load_input(spec)
    assert x.shape == (1, 1, 28, 28) == input_shape(spec) and x.dtype == np.float32
    assert 0.0 <= x.min() < 0.1 and x.max() > 0.9  # dark background, bright stroke
    img = np.asarray(Image.open(sample_image_path("digit7.png")).convert("L"))
    np.testing.assert_allclose(x[0, 0], img / 255.0, atol=1e-6)


def test_sample_digit_rgb_and_resize():
    rgb = load_input(InputSpec("image", path="sample:digit7.png", mode="RGB"))
    assert rgb.shape == (1, 3, 28, 28)
    np.testing.assert_array_equal(rgb[0, 0], rgb[0, 2])  # a gray image: equal channels
    spec = InputSpec("image", path="sample:digit7.png", size=(14, 20), mode="L")
    small = load_input(spec)
    assert small.shape == (1, 1, 14, 20) == input_shape(spec)
    assert 0.0 <= small.min() and small.max() <= 1.0


def test_color_image_channels(tmp_path):
    path = tmp_path / "red.png"
    arr = np.zeros((5, 7, 3), np.uint8)
    arr[..., 0] = 255
    arr[0, 0] = (0, 0, 255)
    Image.fromarray(arr).save(path)
    x = load_image(path, mode="RGB")
    assert x.shape == (1, 3, 5, 7)
    assert x[0, 0, 2, 2] == 1.0 and x[0, 1, 2, 2] == 0.0 and x[0, 2, 0, 0] == 1.0
    gray = load_input_file(path)
    assert gray.shape == (1, 1, 5, 7)
    assert gray[0, 0, 2, 2] == pytest.approx(76 / 255, abs=1 / 255)  # ITU-R 601 luma of red


def test_bmp_and_jpeg(tmp_path):
    arr = (np.arange(48).reshape(6, 8) * 5).astype(np.uint8)
    for ext in ("bmp", "jpg"):
        path = tmp_path / f"a.{ext}"
        Image.fromarray(arr).save(path)
        assert load_input_file(path).shape == (1, 1, 6, 8)


def test_npy_any_numeric_dtype_becomes_float32(tmp_path):
    path = tmp_path / "x.npy"
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    np.save(path, data)
    x = load_input_file(path)
    assert x.dtype == np.float32 and x.shape == (2, 3, 4)
    assert x.flags.writeable and not isinstance(x, np.memmap)  # a copy, not the file's map
    np.save(path, data.astype(np.float32))  # the same dtype must still give a copy
    assert load_input_file(path).flags.writeable
    np.testing.assert_array_equal(x, data)
    assert input_shape(InputSpec("npy", path="x.npy"), base_dir=tmp_path) == (2, 3, 4)
    assert load_input(InputSpec("npy", path="x.npy"), base_dir=tmp_path).shape == (2, 3, 4)


def test_relative_paths_follow_the_config_folder(tmp_path):
    assert resolve_path("a/b.png", tmp_path) == tmp_path / "a" / "b.png"
    assert resolve_path("/abs/b.png", tmp_path).as_posix() == "/abs/b.png"
    assert resolve_path("sample:digit7.png", tmp_path) == sample_image_path("digit7.png")


def _npy(tmp_path, arr, name="bad.npy"):
    path = tmp_path / name
    np.save(path, arr)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "none.npy", ["none.npy: no such .npy file"]),
    (lambda d: d / "none.png", ["none.png: no such image file"]),
    (lambda d: _write(d / "text.png", b"hello, not a picture"),
     ["text.png: not an image", "PNG, JPEG or BMP"]),
    (lambda d: _write(d / "text.npy", b"hello"), ["text.npy: not a readable .npy array"]),
    (lambda d: _npy(d, np.array(["a", "b"])), ["dtype <U1 is not numeric", "float32"]),
    (lambda d: _npy(d, np.array([1 + 2j, 3j])), ["is not numeric"]),
    (lambda d: _npy(d, np.zeros(5)),
     ["shape [5]", "expected (N, C, L), (N, C, H, W) or (N, C, D, H, W)"]),
    (lambda d: _npy(d, np.zeros((1,) * 6)), ["shape [1, 1, 1, 1, 1, 1]", "batch dimension"]),
    (lambda d: _npy(d, np.zeros((1, 0, 4))), ["array is empty"]),
    (lambda d: _npy(d, np.array([[np.nan, 1.0]])), ["NaN or infinite"]),
    (lambda d: _npy(d, np.array([{"a": 1}], dtype=object)), ["bad.npy"]),
])
def test_bad_inputs_are_input_errors(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        load_input_file(path)
    msg = str(err.value)
    for w in words:
        assert w in msg, (w, msg)
    assert "Traceback" not in msg and len(msg) < 300


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_bad_shapes_and_sizes():
    with pytest.raises(InputError, match="at least 1"):
        load_input(InputSpec("random", (1, 0, 4)))
    with pytest.raises(InputError, match="more than"):
        load_input(InputSpec("random", (1024, 1024, 1024)))


def test_image_size_needs_an_existing_file():
    with pytest.raises(InputError, match="no such image file"):
        input_shape(InputSpec("image", path="nowhere.png", size=(4, 4)))


def test_a_volume_npy_is_read_as_it_is(tmp_path):
    arr = np.arange(2 * 3 * 4 * 5 * 6, dtype=np.float32).reshape(2, 3, 4, 5, 6)
    path = _npy(tmp_path, arr)
    out = load_input_file(path)
    assert out.shape == (2, 3, 4, 5, 6) and np.array_equal(out, arr)
