"""Fuzz the "weights" key: any value in any layer, from plausible sources with absurd fields
to junk, ends in a ConfigError of one short line, or in a config whose inference and run end in
a result or a RunError (a field error), never anything else. Also random kernels at random
sizes: made as documented or refused with KernelError."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.engine.run import RunError, run
from convexplorer.model.config_io import ConfigError, loads_config
from convexplorer.model.kernels import KERNELS, KernelError, make_kernel
from convexplorer.model.shapes import infer

LONG = os.environ.get("CX_FUZZ") == "long"
FUZZ = settings(max_examples=2000 if LONG else 150, deadline=None,
                suppress_health_check=list(HealthCheck))

junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
              st.text(max_size=6), st.sampled_from(list(KERNELS) + ["init", "preset"])),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(
        ["source", "kernel", "kernels", "out", "in", "sigma", "wavelength", "file", "key",
         "weight", "bias", "digest", "__class__"]), kids, max_size=4)),
    max_leaves=10)

kernel_entry = st.fixed_dictionaries(
    {"kernel": st.sampled_from(list(KERNELS))},
    optional={"out": st.one_of(st.integers(0, 4), junk), "in": st.integers(0, 2),
              "sigma": st.one_of(st.floats(0.01, 5), junk),
              "wavelength": st.floats(0.5, 9)})
weights_value = st.one_of(
    junk,
    st.builds(lambda k: {"source": "preset", **k}, kernel_entry),
    st.builds(lambda ks: {"source": "preset", "kernels": ks}, st.lists(kernel_entry,
                                                                       max_size=4)),
    st.builds(lambda w, b: {"source": "edited", "weight": w, "bias": b},
              st.lists(st.lists(st.lists(st.lists(st.floats(-3, 3), min_size=3, max_size=3),
                                         min_size=3, max_size=3), min_size=1, max_size=1),
                       min_size=1, max_size=4), st.lists(st.floats(-1, 1), max_size=4)),
    st.builds(lambda f, k: {"source": "checkpoint", "file": f, "key": k},
              st.sampled_from(["x.pt", "x.npz", "x.safetensors", "x.pkl", ""]), junk),
)


@FUZZ
@given(weights_value, st.sampled_from(["Conv2d", "Conv1d", "ConvTranspose2d", "Linear",
                                       "BatchNorm2d", "ReLU"]), st.integers(1, 4),
       st.integers(1, 5))
def test_fuzz_weights_values(weights, type_name, out, k):
    dims = 1 if type_name.endswith("1d") else 2
    layer = {"type": type_name, "name": "layer", "weights": weights}
    if type_name.startswith("Conv"):
        layer.update(out_channels=out, kernel_size=k)
    elif type_name == "Linear":
        layer.update(out_features=out)
    shape = [1, 2, 7] if dims == 1 else [1, 2, 7, 7]
    if type_name == "Linear":
        shape = [1, 2]
    text = json.dumps({"input": {"source": "random", "shape": shape}, "layers": [layer]})
    try:
        config = loads_config(text, "fuzz.json")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json: layer 0") and "\n" not in message, message
        assert len(message) < 600, message
        return
    report = infer(config.layers, tuple(shape))
    for p in report.problems + report.notes:
        assert "\n" not in str(p) and len(str(p)) < 600
    if report.ok:
        try:
            result = run(config)
        except RunError as exc:
            assert exc.problems and exc.problems[0].field == "weights", str(exc)
        else:
            assert len(result.layers) == 1


@FUZZ
@given(st.sampled_from(list(KERNELS)), st.lists(st.integers(1, 9), min_size=1, max_size=3),
       st.integers(0, 7), st.integers(1, 8), st.floats(0.05, 10))
def test_fuzz_kernels(name, size, o, n, sigma):
    try:
        kernel = make_kernel(name, tuple(size), {"sigma": sigma}, min(o, n - 1), n)
    except KernelError as exc:
        assert name in str(exc)
        return
    assert kernel.shape == tuple(size)
    assert (kernel == kernel).all()  # no NaN
    if name in ("gaussian", "box", "moving_average", "identity"):
        assert abs(kernel.sum() - 1) < 1e-9
