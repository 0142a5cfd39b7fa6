"""Skip connections against torch itself: random stacks with Add, Concat and Multiply agree
four ways (formula, meta device, real run, plain torch) in shapes, values and gradients; the
exported module computes what the app ran and prints what print(model) shows; a residual
block's gradient arrives along both paths; every unit of a merge is recomputed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.engine.inputs import load_input
from convexplorer.engine.printing import tensor_ref
from convexplorer.engine.run import run
from convexplorer.engine.units import breakdown
from convexplorer.model.config_io import load_config
from convexplorer.model.explain import receptive_boxes
from convexplorer.model.merges import broadcast
from convexplorer.model.pytorch_export import module_names, to_code
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, Objective, Unit
from convexplorer.model.torch_text import model_str_from_report
from convexplorer.resources_path import example_path

from .test_property import check_stack, specs
from .torch_reference import MERGES, reference

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def merge_stack(draw, max_layers: int = 7):
    """(input shape, layer dicts): layers that mostly keep the shape, with merges naming
    earlier layers by index, name, a string of digits or "input" (now and then forward)."""
    dims = draw(st.sampled_from([1, 2]))
    c = draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 2)), c) + tuple(draw(st.integers(4, 8)) for _ in range(dims))
    layers: list[dict] = []
    n = draw(st.integers(2, max_layers))
    for i in range(n):
        kind = draw(st.sampled_from(["conv", "conv", "elem", "norm", "pool", "up", "gate",
                                     "merge", "merge", "merge"]))
        d: dict
        if kind == "conv":
            d = {"type": f"Conv{dims}d", "out_channels": draw(st.sampled_from([c, c, 2 * c, 1])),
                 "kernel_size": draw(st.sampled_from([1, 3])), "padding": "same"}
        elif kind == "elem":
            d = {"type": draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid", "Dropout"]))}
        elif kind == "norm":
            d = {"type": f"BatchNorm{dims}d"}
        elif kind == "pool":
            d = {"type": f"MaxPool{dims}d", "kernel_size": 2,
                 "return_indices": draw(st.booleans())}
            if d["return_indices"] and draw(st.booleans()):
                layers.append(d)
                d = {"type": f"MaxUnpool{dims}d", "kernel_size": 2}
        elif kind == "up":
            d = {"type": f"ConvTranspose{dims}d", "out_channels": c, "kernel_size": 2,
                 "stride": 2}
        elif kind == "gate":
            d = {"type": f"AdaptiveAvgPool{dims}d", "output_size": 1}
        else:
            here = len(layers)
            t = draw(st.sampled_from(MERGES))
            options = [st.just("input")]
            if here:
                options += [st.integers(0, here - 1), st.integers(0, here - 1).map(str)]
                named = [x["name"] for x in layers if "name" in x]
                if named:
                    options.append(st.sampled_from(named))
                fitting = _fitting(shape, layers, t)
                if fitting and draw(st.integers(0, 9)):  # mostly one that fits
                    options = [st.sampled_from(fitting)]
            if draw(st.integers(0, 19)) == 0:
                options = [st.just(here + 1)]  # forward: torch has nothing to join
            ref = st.one_of(*options)
            d = {"type": t, "from": draw(st.lists(ref, min_size=1, max_size=2))
                 if t == "Concat" else draw(ref)}
            if t == "Concat" and draw(st.integers(0, 3)) == 0:
                d["dim"] = draw(st.sampled_from([0, -1, 2]))
        if draw(st.integers(0, 2)) == 0:
            d["name"] = f"n{i}"
        layers.append(d)
    return shape, layers


def _fitting(shape, layers: list[dict], type_name: str) -> list:
    """References (index, or "input") whose output fits the last output for ``type_name``."""
    report = infer(specs(layers), shape)
    if not report.ok:
        return []
    last = report.output_shape
    stages = [("input", tuple(shape))] + [(i.index, i.output_shape) for i in report.layers]
    out = []
    for ref, other in stages:
        if type_name == "Concat":
            fits = len(other) == len(last) and other[0] == last[0] and other[2:] == last[2:]
        else:
            fits = not isinstance(broadcast(last, other), int)
        if fits:
            out.append(ref)
    return out


@settings(max_examples=60, **SETTINGS)
@given(merge_stack())
def test_random_merge_stacks_agree_with_torch(case):
    """formula = meta device = real run = plain torch: shapes, parameters, multiply-adds
    (0 for a merge), values and pooling indices; torch rejects only what the formula flags."""
    check_stack(*case)


def test_merge_generator_mostly_produces_runnable_stacks():
    """Guard against vacuous tests: many stacks run with a merge in them, some are refused."""
    outcomes = {"ok": 0, "rejected": 0, "flagged": 0, "ok with a merge": 0}

    @settings(max_examples=60, database=None, **SETTINGS)
    @given(merge_stack())
    def count(case):
        outcome = check_stack(*case)
        outcomes[outcome] += 1
        if outcome == "ok" and any(d["type"] in MERGES for d in case[1]):
            outcomes["ok with a merge"] += 1

    count()
    assert outcomes["ok with a merge"] >= 20 and outcomes["rejected"] >= 5, outcomes


@settings(max_examples=25, **SETTINGS)
@given(merge_stack(max_layers=6))
def test_gradients_of_merge_stacks_are_torchs(case):
    """Every output's .grad and every parameter's .grad equal plain torch's backward of the
    same sum, with the gradient of an output that feeds a merge summed over its paths."""
    shape, layers = case
    report = infer(specs(layers), shape)
    if not report.ok:
        return
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    x_ref = x.clone().requires_grad_(True)
    ref = reference(layers, x_ref, requires_grad=True)
    ref.outputs[-1].sum().backward()
    result = run(Config(layers=tuple(specs(layers)), input=InputSpec(shape=shape)),
                 input_array=x.numpy())
    np.testing.assert_allclose(result.grad_input, x_ref.grad.numpy(), rtol=1e-4, atol=1e-5)
    for lr, y, module in zip(result.layers, ref.outputs, ref.modules):
        if y.grad is not None:
            np.testing.assert_allclose(lr.grad_output, y.grad.numpy(), rtol=1e-4, atol=1e-5)
        for name, p in module.named_parameters():
            if p.grad is not None:
                np.testing.assert_allclose(lr.grads[name], p.grad.numpy(), rtol=1e-4,
                                           atol=1e-5)


# -- the bundled examples ------------------------------------------------------------------------

def example(name: str):
    path = example_path(name)
    config = load_config(path)
    x = load_input(config.input, path.parent)
    return config, x, run(config, base_dir=path.parent)


def test_residual_blocks_gradient_flows_along_both_paths():
    """block_in's output feeds conv1 and the Add: its .grad is the Add's .grad (the skip)
    plus what comes back through conv1 .. bn2, and both parts are nonzero."""
    config, x, result = example("residual_block.json")
    names = [lr.name for lr in result.layers]
    block_in, bn2, res = names.index("block_in"), names.index("bn2"), names.index("res")
    layers = config.to_dict()["layers"]
    ref = reference(layers, torch.from_numpy(x.copy()).requires_grad_(True), config.seed,
                    requires_grad=True)
    ref.outputs[-1].sum().backward(retain_graph=True)
    skip = ref.outputs[res].grad
    through, = torch.autograd.grad(ref.outputs[bn2], ref.outputs[block_in], grad_outputs=skip)
    assert float(skip.norm()) > 0 and float(through.norm()) > 0
    np.testing.assert_allclose(result.layers[block_in].grad_output, (skip + through).numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.layers[res].grad_output, skip.numpy(), rtol=1e-5,
                               atol=1e-6)
    assert result.layers[res].grad_fn == "AddBackward0"
    assert tensor_ref(result, res).text() == str(ref.outputs[res])


@pytest.mark.parametrize("name, merge, grad_fn", [("residual_block.json", "res", "AddBackward0"),
                                                  ("unet_skip.json", "cat", "CatBackward0")])
def test_examples_export_a_module_that_computes_and_prints_what_the_app_shows(name, merge,
                                                                            grad_fn):
    config, x, result = example(name)
    report = infer(config.layers, x.shape)
    lr = next(r for r in result.layers if r.name == merge)
    assert lr.grad_fn == grad_fn and f"grad_fn=<{grad_fn}>" in tensor_ref(result, lr.index).text()
    check_export(config, x, result, report)


def check_export(config: Config, x: np.ndarray, result, report) -> None:
    """The exported class, run with the app's weights (layer i after manual_seed(seed + i)),
    gives the app's last output, and print(model) is the app's text."""
    code = to_code(config, x.shape)
    assert "class Net(nn.Module):" in code and "def forward(self, x):" in code
    scope: dict = {"__name__": "exported"}
    exec(compile(code, "<exported>", "exec"), scope)  # noqa: S102 - our own generated code
    model = scope["model"]
    assert str(model) == model_str_from_report(report)
    for i, (name, spec) in enumerate(zip(module_names(config.layers), config.layers)):
        module = getattr(model, name, None)
        if spec.layer_type.is_merge:
            assert module is None  # an operation in forward(), not a module
        elif hasattr(module, "reset_parameters"):
            torch.manual_seed(config.seed + i)
            module.reset_parameters()
    model.train()
    torch.manual_seed(config.seed)
    out = model(torch.from_numpy(x.copy()))
    np.testing.assert_allclose(out.detach().numpy(), result.layers[-1].activation, rtol=1e-5,
                               atol=1e-6)


@settings(max_examples=20, **SETTINGS)
@given(merge_stack(max_layers=6))
def test_random_merge_stacks_export_and_print_as_torch(case):
    shape, layers = case
    config = Config(layers=tuple(specs(layers)), input=InputSpec(shape=shape))
    report = infer(config.layers, shape)
    if not report.ok or not any(d["type"] in MERGES for d in layers):
        return
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1)).numpy()
    check_export(config, x, run(config, input_array=x), report)


# -- per-unit computations and receptive fields ----------------------------------------------

def test_every_unit_of_a_merge_is_recomputed():
    layers = [{"type": "Conv2d", "name": "feat", "out_channels": 3, "kernel_size": 1},
              {"type": "AdaptiveAvgPool2d", "output_size": 1}, {"type": "Sigmoid"},
              {"type": "Multiply", "name": "se", "from": "feat"},
              {"type": "Add", "from": "input"},
              {"type": "Concat", "from": ["feat", "input"]},
              {"type": "Concat", "name": "wide", "from": [5], "dim": -1}]
    shape = (2, 3, 2, 3)
    config = Config(layers=tuple(specs(layers)), input=InputSpec(shape=shape))
    report = infer(config.layers, shape)
    assert report.ok, [str(p) for p in report.problems]
    result = run(config)
    kinds = set()
    for lr in result.layers[3:]:
        for index in np.ndindex(lr.activation.shape):
            b = breakdown(result, report, Unit.at(lr.index, index))
            assert b.recomputed == pytest.approx(b.value, rel=1e-6, abs=1e-6), b.text()
            kinds.add(b.kind)
    assert kinds == {"multiply", "add", "concat"}
    gate = breakdown(result, report, Unit.at(3, (1, 2, 1, 2)))
    assert gate.operands == ("2 (Sigmoid) output", "feat (Conv2d) output")
    assert gate.data.input_index.tolist() == [[1, 2, 0, 0], [1, 2, 1, 2]]  # the gate at 0, 0
    assert "broadcasting" in gate.text()
    cat = breakdown(result, report, Unit.at(5, (0, 7, 1, 2)))  # channels 6..8: the input's
    assert cat.operands == ("input",) and cat.data.input_index.tolist() == [[0, 1, 1, 2]]
    assert cat.value == float(result.input[0, 1, 1, 2])
    wide = breakdown(result, report, Unit.at(6, (1, 8, 0, 4)))  # columns 3..5: layer 5's
    assert wide.operands == ("5 (Concat) output",)
    assert wide.data.input_index.tolist() == [[1, 8, 0, 1]]


def test_receptive_field_of_a_skip_is_where_the_gradient_reaches():
    """A strided path and the skip from the input meet: the positions with a nonzero gradient
    are the union the formula and the boxes give."""
    layers = [{"type": "Conv1d", "out_channels": 2, "kernel_size": 2, "stride": 2},
              {"type": "ConvTranspose1d", "out_channels": 2, "kernel_size": 2, "stride": 2},
              {"type": "Add", "from": "input"}]
    shape = (1, 2, 12)
    config = Config(layers=tuple(specs(layers)), input=InputSpec(shape=shape), seed=3)
    report = infer(config.layers, shape)
    rf = report.layers[2].receptive_field
    result = run(config, objective=Objective("unit", 2, 0, 0, (5,)))
    support = np.flatnonzero(np.abs(result.grad_input[0]).sum(axis=0))
    assert support.tolist() == [4, 5]
    assert rf.size == (2.0,) and rf.jump == (1.0,)
    assert receptive_boxes(report, 2, (5,))[0] == ((4, 5),)
