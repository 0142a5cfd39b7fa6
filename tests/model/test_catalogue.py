"""The layer catalogue against torch itself: every type's parameters are torch's constructor
keywords, in torch's order, with torch's defaults; bounds are sane; every parameter has help."""

from __future__ import annotations

import inspect

import pytest

from convexplorer.model.catalogue import (
    AUTO_PARAMS,
    BOOL,
    CATALOGUE,
    CHOICE,
    FLOAT,
    FLOATS,
    INT,
    INTS,
    LAYERS,
    PADDING,
    SIZE,
    layer_type,
    types_in_group,
)

torch_nn = pytest.importorskip("torch.nn")

ISSUE_TYPES = (
    "Conv1d Conv2d ConvTranspose1d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d "
    "AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d MaxUnpool1d "
    "MaxUnpool2d BatchNorm1d BatchNorm2d ReLU LeakyReLU GELU Sigmoid Tanh Dropout Flatten Linear"
).split() + (  # issue 14
    "ReLU6 SiLU Hardswish Hardsigmoid ELU PReLU Mish Softmax LogSoftmax Identity Dropout1d "
    "Dropout2d ZeroPad1d ZeroPad2d ConstantPad1d ConstantPad2d ReflectionPad1d ReflectionPad2d "
    "ReplicationPad1d ReplicationPad2d GroupNorm InstanceNorm1d InstanceNorm2d LayerNorm "
    "LocalResponseNorm Upsample PixelShuffle PixelUnshuffle LPPool1d LPPool2d Unflatten "
    "Conv3d ConvTranspose3d MaxPool3d AvgPool3d AdaptiveMaxPool3d AdaptiveAvgPool3d MaxUnpool3d "
    "BatchNorm3d"
).split()

# Skip connections: operations in forward(), not torch.nn modules (issue 14).
MERGE_TYPES = ["Add", "Concat", "Multiply"]

KINDS = (INT, FLOAT, BOOL, CHOICE, SIZE, PADDING, INTS, FLOATS, LAYERS)


def torch_params(name: str) -> list[inspect.Parameter]:
    """The constructor keywords torch documents, without self, device and dtype (and the
    *args/**kwargs of the parameter-free activations)."""
    sig = inspect.signature(getattr(torch_nn, name).__init__)
    return [p for p in sig.parameters.values()
            if p.name not in ("self", "device", "dtype")
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def test_catalogue_has_exactly_the_issue_types():
    assert sorted(CATALOGUE) == sorted(ISSUE_TYPES + MERGE_TYPES)
    assert {lt.name for lt in CATALOGUE.values() if lt.is_merge} == set(MERGE_TYPES)
    for name in ISSUE_TYPES:
        assert layer_type(name).name == name
        assert hasattr(torch_nn, name)


@pytest.mark.parametrize("name", ISSUE_TYPES)
def test_params_match_torch_signature(name):
    lt = CATALOGUE[name]
    tp = torch_params(name)
    assert lt.param_names == tuple(p.name for p in tp), "names and order as in torch"
    for p in tp:
        mine = lt.param(p.name)
        if p.default is inspect.Parameter.empty:
            assert mine.required, f"{name}.{p.name} has no default in torch"
        else:
            assert not mine.required, f"{name}.{p.name}"
            assert mine.default == p.default and type(mine.default) is type(p.default), (
                f"{name}.{p.name}: catalogue default {mine.default!r}, torch {p.default!r}")
        assert mine.keyword_only == (p.kind == p.KEYWORD_ONLY), f"{name}.{p.name}"


@pytest.mark.parametrize("name", ISSUE_TYPES + MERGE_TYPES)
def test_param_kinds_bounds_and_help(name):
    lt = CATALOGUE[name]
    assert lt.help.strip() and lt.group in {g for g, _ in
                                            __import__("convexplorer.model.catalogue",
                                                       fromlist=["GROUPS"]).GROUPS}
    assert lt.dims in (None, 1, 2, 3)
    if lt.dims is not None:
        assert name.endswith(f"{lt.dims}d")
    for key in lt.key_params:
        assert key in lt.param_names
    for p in lt.params:
        assert p.kind in KINDS, f"{name}.{p.name}"
        assert len(p.help.split()) >= 5, f"{name}.{p.name} needs a help text in plain words"
        assert p.help.strip().lower() != p.name.replace("_", " ")
        if p.minimum is not None and p.maximum is not None:
            assert p.minimum <= p.maximum
        if p.kind in (CHOICE,):
            assert p.choices and p.default in p.choices
        if p.kind in (INT, FLOAT) and p.default is not None:
            assert p.minimum is None or p.default >= p.minimum, f"{name}.{p.name}"
            assert p.maximum is None or p.default <= p.maximum, f"{name}.{p.name}"
        if p.kind in (SIZE, PADDING) and isinstance(p.default, int):
            assert p.minimum is None or p.default >= p.minimum, f"{name}.{p.name}"
        if p.default is None and not p.required:
            assert p.nullable, f"{name}.{p.name} defaults to None so None must be valid"
        if p.name in AUTO_PARAMS:
            assert p.auto and p.required and lt.auto_param is p
        # sizes and counts can never be negative; strides, kernels and channels never zero
        if p.name in ("kernel_size", "stride", "dilation", "groups", "out_channels",
                      "out_features", "output_size") or p.auto:
            assert p.minimum == 1, f"{name}.{p.name}"
        if p.name in ("padding", "output_padding"):
            assert p.minimum == 0, f"{name}.{p.name}"
        if p.name in ("p", "momentum"):
            assert (p.minimum, p.maximum) == (0.0, 1.0)
        if p.count is not None:  # padding layers: (left, right[, top, bottom])
            assert p.count == 2 * lt.dims and len(p.item_names) == p.count
    # the help says what the layer is and why one would use it
    assert len(lt.help.split()) >= 10, f"{name}: say what it is and why to use it"


def test_instance_norm_defaults_differ_from_batch_norm():
    for d in (1, 2):
        lt = CATALOGUE[f"InstanceNorm{d}d"]
        assert lt.param("affine").default is False
        assert lt.param("track_running_stats").default is False
        assert "unlike" in lt.param("affine").help.lower()


def test_new_choices_are_torchs():
    import torch.nn.functional as F

    assert set(CATALOGUE["Upsample"].param("mode").choices) <= {
        "nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact"}
    for mode in CATALOGUE["Upsample"].param("mode").choices:
        assert mode in F.interpolate.__doc__


def test_merges_name_earlier_layers_in_from():
    for name in MERGE_TYPES:
        lt = CATALOGUE[name]
        ref = lt.param("from")
        assert lt.group == "merge" and lt.dims is None and ref.required and ref.is_reference
        assert ref.multiple == (name == "Concat")
        assert "from" in lt.key_params and "earlier" in ref.help
    assert CATALOGUE["Concat"].param("dim").default == 1  # channels, as in torch.cat(..., 1)


def test_padding_choices_match_torch():
    for name in ("Conv1d", "Conv2d", "Conv3d"):
        pad = CATALOGUE[name].param("padding")
        assert pad.kind == PADDING and set(pad.choices) == {"same", "valid"}
        assert set(CATALOGUE[name].param("padding_mode").choices) == {
            "zeros", "reflect", "replicate", "circular"}
    for name in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        assert CATALOGUE[name].param("padding").kind == SIZE  # torch: no 'same' for transpose
        assert CATALOGUE[name].param("padding_mode").choices == ("zeros",)


def test_groups_cover_every_type():
    groups = {lt.group for lt in CATALOGUE.values()}
    assert sum(len(types_in_group(g)) for g in groups) == len(CATALOGUE)
    assert {lt.name for lt in types_in_group("pooling") if lt.has_indices} == {
        f"{kind}{d}d" for kind in ("MaxPool", "AdaptiveMaxPool") for d in (1, 2, 3)}


# The four parameters students ask about: the help must say what it is and why to use it.
WHAT_AND_WHY = {
    "dilation": (("spacing", "gap", "hole"), ("wider", "context", "receptive"),
                 ("without", "same", "parameters", "weights")),
    "groups": (("split", "group", "independent"), ("depthwise",),
               ("parameters", "compute", "cost", "cut")),
    "return_indices": (("position", "where", "index", "indices"), ("maxunpool", "unpool"),
                       ("gradient",)),
    "ceil_mode": (("round", "ceil", "up"), ("partial", "edge", "last"),
                  ("drop", "keep", "cover", "lost")),
}


@pytest.mark.parametrize("param", sorted(WHAT_AND_WHY))
def test_help_answers_what_and_why(param):
    owners = [lt for lt in CATALOGUE.values() if param in lt.param_names]
    assert owners
    for lt in owners:
        text = lt.param(param).help.lower()
        for alternatives in WHAT_AND_WHY[param]:
            assert any(word in text for word in alternatives), (
                f"{lt.name}.{param} help should mention one of {alternatives}: {text}")
        assert len(text.split()) >= 20, f"{lt.name}.{param}: say what it is and why"
        assert any(w in text for w in ("use it", "use ", "why", "so ", "lets", "to ")), text


def test_catalogue_is_torch_and_qt_free():
    import subprocess
    import sys

    code = ("import sys, convexplorer.model.catalogue, convexplorer.model.spec, "
            "convexplorer.model.config_io, convexplorer.model.validate, convexplorer.model.shapes;"
            "bad = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
