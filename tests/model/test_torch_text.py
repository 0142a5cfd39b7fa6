"""model.torch_text prints tensors and models exactly as the installed torch does: every case
is compared with torch's own ``repr`` / ``str`` (torch is used here only to check the text)."""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from convexplorer.model import catalogue as cat
from convexplorer.model import tensor_text
from convexplorer.model.catalogue import BOOL, CATALOGUE, FLOAT, INT, PADDING, SIZE
from convexplorer.model.pytorch_export import to_code
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, LayerSpec
from convexplorer.model.torch_text import (
    EXTRA_REPR,
    element_formatter,
    layer_str,
    model_str,
    model_str_from_report,
    scalar_str,
    size_str,
    tensor_str,
)

FLOATS = ("float32", "float64", "float16")
INTS = ("int64", "int32", "int16", "int8", "uint8")
DTYPES = FLOATS + INTS + ("bool",)
# shapes over the threshold (1000 values): summarised with "..."
SUMMARISED = [(2, 1001), (40, 40), (3, 4, 100), (1001,), (1, 2, 1, 501), (7, 7, 7, 3),
              (2, 8, 3, 1, 11)]
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
# The types that are torch.nn modules (a merge is an operation in forward(), not printed).
MODULE_TYPES = sorted(name for name, lt in CATALOGUE.items() if not lt.is_merge)


# -- drawing tensors -------------------------------------------------------------------------

@st.composite
def shapes(draw):
    if draw(st.integers(0, 4)) == 4:
        return draw(st.sampled_from(SUMMARISED))
    ndim = draw(st.integers(0, 5))
    top = 12 if ndim <= 2 else 4

    def size(pick: int) -> int:  # 0 one time in 20 (an empty tensor), 1 one in 5
        return 0 if pick == 19 else 1 if pick >= 15 else draw(st.integers(1, top))

    return tuple(size(draw(st.integers(0, 19))) for _ in range(ndim))


def _recipe_values(draw, dtype: str, shape) -> np.ndarray:
    """Values built with numpy from a drawn recipe: magnitudes 1e-8..1e8 (or a mix), whole
    numbers stored as floats, sprinkled zeros, -0.0, inf, -inf, nan."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(np.prod(shape))
    if dtype == "bool":
        return rng.random(n) < draw(st.floats(0, 1)) if n else np.zeros(0, bool)
    if dtype in INTS:
        info = np.iinfo(dtype)
        hi = draw(st.sampled_from([1, 9, 100, 10**4, 10**9, info.max]))
        lo = 0 if dtype == "uint8" or draw(st.booleans()) else -hi
        lo, hi = max(lo, info.min), min(hi, info.max)
        return rng.integers(lo, hi, n, dtype=dtype, endpoint=True)
    if not draw(st.booleans()):  # activations, weights: normal values at some scale
        values = rng.standard_normal(n) * 10.0 ** draw(st.integers(-5, 5))
    else:  # magnitudes spread over 1e-8..1e8
        lo_exp = draw(st.integers(-8, 8))
        hi_exp = draw(st.integers(lo_exp, 8))
        values = 10.0 ** rng.uniform(lo_exp, hi_exp, n)
        if draw(st.booleans()):
            values *= rng.choice([-1.0, 1.0], n)
    if draw(st.integers(0, 3)) == 3:
        values = np.round(values)  # integer-valued floats: int_mode
    with np.errstate(over="ignore"):  # float16 tops out at 65504: inf beyond, as in torch
        values = values.astype(dtype)  # float32-representable (or float16/64)
    specials = draw(st.lists(st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan]), max_size=3)
                    if draw(st.integers(0, 2)) == 2 else st.just([]))
    if n:
        for s in specials:
            values[rng.integers(0, n, draw(st.integers(1, 3)))] = s
        if draw(st.integers(0, 9)) == 9:
            values[:] = draw(st.sampled_from([0.0, -0.0]))
    return values


def _float_elements(dtype: str):
    return st.floats(width={"float16": 16, "float32": 32, "float64": 64}[dtype])


@st.composite
def arrays(draw, dtypes=DTYPES):
    # float32 half the time: what the app's tensors hold
    dtype = draw(st.sampled_from(dtypes) if "float32" not in dtypes or draw(st.booleans())
                 else st.just("float32"))
    shape = draw(shapes())
    if dtype in FLOATS and np.prod(shape) <= 24 and draw(st.integers(0, 3)) == 3:
        # element by element: hypothesis's edge values (subnormals, the largest float, ...)
        return draw(hnp.arrays(dtype, shape, elements=_float_elements(dtype)))
    return _recipe_values(draw, dtype, shape).reshape(shape)


def _torch(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.copy())


def _on_device(t: torch.Tensor, device: str) -> str:
    """What torch prints for ``t`` on ``device``: its CPU text with ``device='...'`` as the
    first suffix (torch's _str_intern rule), wrapped by torch's own _add_suffixes."""
    from torch._tensor_str import _add_suffixes, _tensor_str

    text = repr(t)
    body = "[]" if t.numel() == 0 else _tensor_str(t.detach(), len("tensor("))
    head = "tensor(" + body
    assert text.startswith(head)
    tail = text[len(head):-1]
    suffixes = [s for s in re.split(r",(?: |\n +)(?=[a-z_]+=)", tail) if s]
    return _add_suffixes(head, [f"device='{device}'"] + suffixes, len("tensor("), False)


# -- tensors -----------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=SLOW)
@given(arrays())
def test_tensor_str_is_torchs_repr(a):
    assert tensor_str(a) == repr(_torch(a)) == str(_torch(a))


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(arrays(), st.sampled_from(["grad_fn", "requires_grad", "parameter", "frozen", "cuda"]))
def test_tensor_str_suffixes(a, suffix):
    t = _torch(a)
    floating = a.dtype.kind == "f"
    if suffix == "grad_fn" and floating:
        out = t.requires_grad_().clone()
        assert tensor_str(a, grad_fn="CloneBackward0") == repr(out)
    elif suffix == "requires_grad" and floating:
        assert tensor_str(a, requires_grad=True) == repr(t.requires_grad_())
    elif suffix == "parameter" and floating:
        assert tensor_str(a, parameter=True) == str(nn.Parameter(t)) == repr(nn.Parameter(t))
    elif suffix in ("parameter", "frozen"):
        frozen = nn.Parameter(t, requires_grad=False)
        assert tensor_str(a, parameter=True, requires_grad=False) == str(frozen)
    else:
        assert tensor_str(a, device="cuda:0") == _on_device(t, "cuda:0")
        assert tensor_str(a, device="cuda") == _on_device(t, "cuda:0")
        if floating:
            out = t.requires_grad_().clone()
            assert tensor_str(a, device="cuda:1", grad_fn="CloneBackward0") == _on_device(
                out, "cuda:1")


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(arrays())
def test_element_formatter_is_torchs_choice(a):
    from torch._tensor_str import _Formatter, get_summarized_data

    t = _torch(a)
    if t.numel() == 0:
        return
    summarize = t.numel() > tensor_text.THRESHOLD
    theirs = _Formatter(get_summarized_data(t) if summarize else t)
    mine = element_formatter(a)
    values = tensor_text._summarized(a).reshape(-1).tolist()
    assert [mine(v) for v in values] == [theirs.format(v).lstrip(" ") for v in values]


def _mps_precision(mp: pytest.MonkeyPatch) -> None:
    """Make CPU tensors take torch's MPS path for the format decision: min/max and their
    ratio in float32 instead of double (torch's tensor_totype)."""
    mp.setattr(torch._tensor_str, "tensor_totype", lambda t: t.to(dtype=torch.float))


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW)
@given(arrays(dtypes=("float32",)))
def test_mps_decides_in_float32(a):
    with pytest.MonkeyPatch.context() as mp:
        _mps_precision(mp)
        assert tensor_str(a, device="mps") == _on_device(_torch(a), "mps:0")


def test_float32_precision_of_mps_changes_the_format(monkeypatch):
    # float32(1e-4) is below 1e-4 in double, not in float32: scientific on CPU only
    a = np.array([1e-4, 0.05], np.float32)
    assert tensor_str(a) == "tensor([1.0000e-04, 5.0000e-02])"
    assert tensor_str(a, device="mps") == "tensor([0.0001, 0.0500], device='mps:0')"
    _mps_precision(monkeypatch)
    assert tensor_str(a, device="mps") == _on_device(_torch(a), "mps:0")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (0,), (0, 3), ()])
def test_meta_tensors_show_shape_and_dtype(dtype, shape):
    t = torch.empty(shape, dtype=getattr(torch, dtype), device="meta")
    assert tensor_str(np.zeros(shape, dtype), device="meta") == repr(t)


@pytest.mark.parametrize("a", [
    np.array([0.0, -0.0]), np.array([-0.0], np.float32), np.array([np.inf, -np.inf, np.nan]),
    np.array([1e-8, 1e8], np.float32), np.array([1.0, 1e8 + 8], np.float32),
    np.array([3.0, 4.0, 1e5], np.float32), np.array(7, np.int64), np.array(-0.0, np.float32),
    np.array(np.nan, np.float32), np.array(True), np.zeros((2, 0, 3), bool),
    np.zeros(0, np.int64), np.zeros(0, np.float32), np.arange(1001, dtype=np.uint8),
    np.full((2, 1001), 0.5, np.float32), np.array([0.1, 0.2], np.float16),
], ids=repr)
def test_edge_cases(a):
    assert tensor_str(a) == repr(_torch(a))


def test_long_suffix_moves_to_a_new_line():
    a = np.linspace(-1, 1, 8, dtype=np.float32)  # "tensor([...])" is 79 characters
    out = _torch(a).requires_grad_().clone()
    assert tensor_str(a, grad_fn="CloneBackward0") == repr(out)
    assert repr(out).endswith("1.0000],\n       grad_fn=<CloneBackward0>)")
    text = tensor_str(a, grad_fn="ConvolutionBackward0", device="cuda:0")
    assert text.endswith(",\n       device='cuda:0', grad_fn=<ConvolutionBackward0>)")
    assert text == _on_device(out, "cuda:0").replace("CloneBackward0", "ConvolutionBackward0")


def test_unsupported_dtype_is_one_sentence():
    with pytest.raises(TypeError, match=r"^A tensor of dtype complex64 cannot be printed here"):
        tensor_str(np.zeros(2, np.complex64))


# -- what the app shows: conv outputs, pooling indices, scalars, shapes ------------------------

def test_conv1d_output_with_grad_fn():
    torch.manual_seed(0)
    conv = nn.Conv1d(4, 3, 3, stride=2)
    x = torch.randn(2, 4, 5, requires_grad=True)
    y = conv(x)
    assert tuple(y.shape) == (2, 3, 2) and type(y.grad_fn).__name__ == "ConvolutionBackward0"
    assert tensor_str(y.detach().numpy(), grad_fn="ConvolutionBackward0") == repr(y) == str(y)
    assert tensor_str(conv.weight.detach().numpy(), parameter=True) == str(conv.weight)
    assert tensor_str(conv.bias.detach().numpy(), parameter=True) == str(conv.bias)
    assert tensor_str(x.detach().numpy(), requires_grad=True) == str(x)
    assert size_str(y.shape) == str(y.shape) == repr(y.shape) == "torch.Size([2, 3, 2])"
    norm = y.norm()
    assert scalar_str(norm.item(), grad_fn=type(norm.grad_fn).__name__) == str(norm)
    y.sum().backward()
    g = x.grad.norm()
    assert scalar_str(g.item()) == str(g)
    assert tensor_str(x.grad.numpy()) == str(x.grad)


def test_maxpool_indices():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 11)
    out, idx = nn.MaxPool1d(3, stride=2, return_indices=True)(x)
    assert idx.dtype == torch.int64
    assert tensor_str(idx.numpy()) == str(idx)
    assert tensor_str(out.numpy()) == str(out)
    big = torch.randn(1, 10, 48, 48)
    _, idx2 = nn.MaxPool2d(2, return_indices=True)(big)
    assert tensor_str(idx2.numpy()) == str(idx2)
    assert element_formatter(idx2.numpy())(idx2[0, 0, 0, 0].item()) == str(idx2[0, 0, 0, 0].item())


def test_large_activation_is_summarised():
    torch.manual_seed(2)
    y = torch.relu(nn.Conv2d(1, 10, 5)(torch.randn(1, 1, 28, 28)))
    assert tuple(y.shape) == (1, 10, 24, 24)
    text = tensor_str(y.detach().numpy(), grad_fn="ReluBackward0")
    assert text == str(y) and "..." in text


def test_element_formatter_examples():
    assert element_formatter(np.array([1.0, 2.0, 30.0], np.float32))(2.0) == "2."
    assert element_formatter(np.array([1e-5, 1.0], np.float32))(1.0) == "1.0000e+00"
    assert element_formatter(np.array([0.5, 2.25], np.float32))(0.5) == "0.5000"
    assert element_formatter(np.array([True, False]))(True) == "True"
    assert element_formatter(np.array([1, 200], np.int32))(7) == "7"
    assert element_formatter(np.array([0.1], np.float32))(0.1) == "0.1000"  # as float32


def test_scalar_str():
    assert scalar_str(0.41234) == "tensor(0.4123)" == str(torch.tensor(0.41234))
    assert scalar_str(3, dtype="int64") == str(torch.tensor(3))
    assert scalar_str(2.0, grad_fn="SumBackward0") == "tensor(2., grad_fn=<SumBackward0>)"
    assert size_str(()) == str(torch.Size([]))


# -- models ------------------------------------------------------------------------------------

def _value(draw, p, dims):
    if p.kind == INT:
        lo = -3 if p.minimum is None else max(int(p.minimum), -3)
        value = st.integers(lo, 6 if p.maximum is None else min(int(p.maximum), 6))
        return draw(st.one_of(st.none(), value) if p.nullable else value)
    if p.kind == FLOAT:
        hi = 1.0 if p.maximum is None else p.maximum
        value = st.one_of(st.floats(p.minimum or 0.0, hi), st.sampled_from([0, 1e-5, 0.25]))
        return draw(st.one_of(st.none(), value) if p.nullable else value)
    if p.kind in (cat.INTS, cat.FLOATS):
        item = st.integers(int(p.minimum), 4) if p.kind == cat.INTS else \
            st.one_of(st.floats(0.1, 4.0), st.integers(1, 4))
        options = [st.lists(item, min_size=1, max_size=3).map(tuple)]
        if not p.tuple_only:
            options.append(item)
        if p.nullable:
            options.append(st.none())
        return draw(st.one_of(*options))
    if p.kind == BOOL and p.nullable:
        return draw(st.one_of(st.none(), st.booleans()))
    if p.kind in (SIZE, PADDING):
        lo = int(p.minimum or 0)
        item = st.integers(lo, 4)
        if p.item_nullable:
            item = st.one_of(st.none(), item)
        options = [st.integers(lo, 4), st.tuples(*[item] * (p.count or dims))]
        if p.kind == PADDING:
            options.append(st.sampled_from(p.choices))
        if p.nullable:
            options.append(st.none())
        return draw(st.one_of(*options))
    if p.choices:
        return draw(st.sampled_from(p.choices))
    return draw(st.booleans())


@st.composite
def layer_kwargs(draw, type_name):
    """Random valid constructor keywords for a catalogue type, read from its Params (optional
    ones sometimes left to their default)."""
    lt = CATALOGUE[type_name]
    kw = {p.name: _value(draw, p, lt.dims or 1) for p in lt.params
          if p.required or draw(st.booleans())}
    if lt.is_conv:  # torch checks these in the constructor
        g = kw.get("groups", 1)
        kw["in_channels"] *= g
        kw["out_channels"] *= g
        if kw.get("padding") == "same":
            kw["stride"] = 1
    if type_name == "GroupNorm":  # torch checks it in the constructor
        kw["num_channels"] *= kw["num_groups"]
    return kw


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(st.sampled_from(MODULE_TYPES).flatmap(
    lambda t: st.tuples(st.just(t), layer_kwargs(t))))
def test_every_type_prints_as_torch(case):
    type_name, kw = case
    module = getattr(nn, type_name)(**kw)
    assert layer_str(type_name, kw) == repr(module) == str(module)


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW)
@given(st.lists(st.sampled_from(MODULE_TYPES).flatmap(
    lambda t: st.tuples(st.just(t), layer_kwargs(t))), max_size=5),
    st.booleans())
def test_sequential_by_index_and_by_name(cases, named):
    modules = [getattr(nn, t)(**kw) for t, kw in cases]
    if named:
        names = [f"{t.lower()}{i}" for i, (t, _) in enumerate(cases)]
        model = nn.Sequential(OrderedDict(zip(names, modules)))
    else:
        names = [str(i) for i in range(len(cases))]
        model = nn.Sequential(*modules)
    text = model_str([(n, t, kw) for n, (t, kw) in zip(names, cases)])
    assert text == repr(model) == str(model)


def test_every_catalogue_type_has_one_rule():
    assert set(EXTRA_REPR) == set(MODULE_TYPES)


L = LayerSpec.make


def _exported_model(layers, shape):
    namespace: dict = {}
    exec(to_code(Config(layers=tuple(layers)), shape), namespace)  # noqa: S102 - our own code
    return namespace["model"]


@pytest.mark.parametrize("named", [False, True])
def test_mnist_net_from_report_matches_the_exported_code(named):
    layers = [L("Conv2d", "conv1", out_channels=10, kernel_size=5),
              L("ReLU", "relu", inplace=True),
              L("MaxPool2d", "pool.1", kernel_size=2, stride=2, return_indices=True),
              L("Conv2d", "conv2", out_channels=20, kernel_size=(5, 5), padding="same",
                padding_mode="reflect", bias=False),
              L("BatchNorm2d", "train"),
              L("Dropout", "conv1", p=0.25),
              L("AvgPool2d", kernel_size=2),
              L("Flatten"), L("Linear", "fc1", out_features=50), L("GELU", approximate="tanh"),
              L("Linear", "fc2", out_features=10)]
    if not named:
        layers = [s.renamed(None) for s in layers]
    shape = (1, 1, 28, 28)
    report = infer(layers, shape)
    assert report.ok
    text = model_str_from_report(report)
    assert text == repr(_exported_model(layers, shape))
    assert "(relu): ReLU(inplace=True)" in text if named else "(1): ReLU(inplace=True)" in text
    if named:  # module_names: '.' -> '_', a reserved attribute, a repeated name
        assert "(pool_1): MaxPool2d" in text and "(layer_train): BatchNorm2d" in text
        assert "(conv1_1): Dropout" in text


def test_report_with_a_problem_keeps_the_users_values():
    layers = [L("Conv1d", in_channels=1, out_channels=2, kernel_size=50), L("ReLU")]
    report = infer(layers, (1, 1, 8))
    assert not report.ok
    assert model_str_from_report(report) == repr(nn.Sequential(nn.Conv1d(1, 2, 50), nn.ReLU()))
    layers = [L("Conv1d", in_channels=1, out_channels=2, kernel_size=50), L("BatchNorm1d")]
    with pytest.raises(ValueError, match=r"^Layer 1 \(BatchNorm1d\) takes num_features from"):
        model_str_from_report(infer(layers, (1, 1, 8)))


def test_messages_are_whole_sentences():
    with pytest.raises(ValueError, match=r"^Conv4d is not a layer type that can be printed"):
        model_str([("0", "Conv4d", {})])
    with pytest.raises(ValueError, match=r"^Layer c \(Linear\) needs a value for out_features"):
        model_str([("c", "Linear", {"in_features": 3})])


def test_empty_model():
    assert model_str([]) == repr(nn.Sequential()) == "Sequential()"
