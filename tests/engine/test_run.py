"""engine.run against torch recomputed independently: activations, max-pool indices, MaxUnpool
outputs, parameter gradients and their norms, each output's gradient and the input's gradient,
for every objective; seeded determinism; device and config errors as RunError."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convexplorer.engine.run import Cancelled, RunError, config_dir, estimate_bytes, run
from convexplorer.model.config_io import load_config
from convexplorer.model.shapes import infer
from convexplorer.model.spec import Config, InputSpec, LayerSpec, Objective

L = LayerSpec.make
TOL = {"rtol": 1e-5, "atol": 1e-6}


def functional_forward(config: Config, result, x: torch.Tensor, params: list[dict]):
    """Recompute every layer with torch.nn.functional from the run's own weights.

    ``params[i]`` maps "weight"/"bias" to leaf tensors. Returns outputs and pool indices."""
    outs, indices, pool_in = [], {}, {}
    pools: list[int] = []
    h = x
    for i, spec in enumerate(config.layers):
        kw = {**{k: v for k, v in spec.kwargs.items()}}
        w, b = params[i].get("weight"), params[i].get("bias")
        t = spec.type
        if t in ("Conv1d", "Conv2d"):
            conv = F.conv1d if t == "Conv1d" else F.conv2d
            h = conv(h, w, b, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1),
                     kw.get("groups", 1))
        elif t.startswith("ConvTranspose"):
            conv = F.conv_transpose1d if t.endswith("1d") else F.conv_transpose2d
            h = conv(h, w, b, kw.get("stride", 1), kw.get("padding", 0),
                     kw.get("output_padding", 0), kw.get("groups", 1), kw.get("dilation", 1))
        elif t.startswith("MaxPool"):
            pool = F.max_pool1d if t.endswith("1d") else F.max_pool2d
            pool_in[i] = h.shape
            h, idx = pool(h, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                          kw.get("dilation", 1), kw.get("ceil_mode", False), True)
            indices[i] = idx
            pools.append(i)
        elif t.startswith("MaxUnpool"):
            src = pools.pop()
            unpool = F.max_unpool1d if t.endswith("1d") else F.max_unpool2d
            h = unpool(h, indices[src], kw["kernel_size"], kw.get("stride"),
                       kw.get("padding", 0), output_size=pool_in[src][2:])
        elif t.startswith("AvgPool"):
            pool = F.avg_pool1d if t.endswith("1d") else F.avg_pool2d
            h = pool(h, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                     kw.get("ceil_mode", False), kw.get("count_include_pad", True))
        elif t.startswith("BatchNorm"):
            h = F.batch_norm(h, None, None, w, b, True, 0.1, kw.get("eps", 1e-5))
        elif t == "ReLU":
            h = F.relu(h)
        elif t == "LeakyReLU":
            h = F.leaky_relu(h, kw.get("negative_slope", 0.01))
        elif t == "Tanh":
            h = torch.tanh(h)
        elif t == "Sigmoid":
            h = torch.sigmoid(h)
        elif t == "GELU":
            h = F.gelu(h, approximate=kw.get("approximate", "none"))
        elif t == "AdaptiveAvgPool2d":
            h = F.adaptive_avg_pool2d(h, kw["output_size"])
        elif t == "Flatten":
            h = torch.flatten(h, kw.get("start_dim", 1), kw.get("end_dim", -1))
        elif t == "Linear":
            h = F.linear(h, w, b)
        else:  # pragma: no cover - the test configs use only the types above
            raise AssertionError(t)
        h.retain_grad()
        outs.append(h)
    return outs, indices


def objective_value(obj: Objective, outs, x):
    target = outs[obj.layer] if outs else x
    if obj.kind == "sum":
        return target.sum()
    if obj.kind == "mean":
        return target.mean()
    if obj.kind == "channel":
        return target[obj.batch, obj.channel].sum()
    return target[(obj.batch, obj.channel) + tuple(obj.position)]


def check_against_functional(config: Config, objective: Objective | None = None):
    result = run(config, objective=objective)
    obj = objective or config.objective
    x = torch.tensor(result.input, requires_grad=True)
    params = [{k: torch.tensor(v, requires_grad=True) for k, v in lr.params.items()}
              for lr in result.layers]
    outs, indices = functional_forward(config, result, x, params)
    value = objective_value(obj, outs, x)
    value.backward()
    assert result.objective_value == pytest.approx(float(value.detach()), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(result.grad_input, x.grad.numpy(), **TOL)
    for i, (lr, y) in enumerate(zip(result.layers, outs)):
        np.testing.assert_allclose(lr.activation, y.detach().numpy(), **TOL)
        if i in indices:
            np.testing.assert_array_equal(lr.indices, indices[i].numpy())
        else:
            assert lr.indices is None
        if y.grad is None:
            assert lr.grad_output is None
        else:
            np.testing.assert_allclose(lr.grad_output, y.grad.numpy(), **TOL)
        assert set(lr.grads) == set(lr.params) == set(params[i])
        for name, p in params[i].items():
            want = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
            np.testing.assert_allclose(lr.grads[name], want, **TOL)
            assert lr.grad_norms[name] == pytest.approx(float(np.linalg.norm(want)), rel=1e-5,
                                                        abs=1e-6)
    return result


def cfg(layers, shape, seed=0, **kw) -> Config:
    return Config(layers=tuple(layers), input=InputSpec(shape=shape, seed=seed), **kw)


STACK = [L("Conv2d", "conv", out_channels=4, kernel_size=3, padding=1, dilation=1),
         L("BatchNorm2d", "bn"),
         L("LeakyReLU", negative_slope=0.1),
         L("MaxPool2d", "pool", kernel_size=2, return_indices=True),
         L("Conv2d", "dw", out_channels=4, kernel_size=3, groups=4, dilation=2, padding=2),
         L("GELU"),
         L("MaxUnpool2d", "unpool", kernel_size=2),
         L("ConvTranspose2d", "up", out_channels=2, kernel_size=3, stride=2, output_padding=1),
         L("AvgPool2d", kernel_size=2, ceil_mode=True),
         L("AdaptiveAvgPool2d", output_size=3),
         L("Flatten"), L("Linear", "fc", out_features=5), L("Tanh"), L("Sigmoid")]


@pytest.mark.parametrize("objective", [
    Objective(), Objective("mean"), Objective("channel", -1, 1, 3),
    Objective("unit", -1, 0, 2), Objective("sum", 4), Objective("unit", 6, 1, 1, (5, 2)),
    Objective("channel", 0, 0, 0),
], ids=["sum", "mean", "channel", "unit", "sum-middle", "unit-unpool", "channel-first"])
def test_values_and_gradients_match_functional_torch(objective):
    check_against_functional(cfg(STACK, (2, 3, 10, 10), seed=3), objective)


def test_objective_on_a_middle_layer_leaves_later_layers_without_gradient():
    result = run(cfg(STACK, (2, 3, 10, 10)), objective=Objective("sum", 1))
    assert result.layers[0].grad_norms["weight"] > 0
    assert result.layers[1].grad_output is not None
    for lr in result.layers[2:]:
        assert lr.grad_output is None
        for name, g in lr.grads.items():
            assert not g.any() and lr.grad_norms[name] == 0.0
    assert "1 (BatchNorm2d)" in result.objective_label or "bn" in result.objective_label


def test_1d_stack_matches_functional_torch():
    layers = [L("Conv1d", out_channels=6, kernel_size=3, stride=2, padding=1),
              L("ReLU"),
              L("MaxPool1d", kernel_size=3, stride=2, padding=1, ceil_mode=True,
                return_indices=True),
              L("ConvTranspose1d", out_channels=6, kernel_size=2, groups=3),
              L("MaxPool1d", kernel_size=2, return_indices=True),
              L("MaxUnpool1d", kernel_size=2),
              L("AvgPool1d", kernel_size=3, padding=1, count_include_pad=False),
              L("BatchNorm1d", affine=False)]
    check_against_functional(cfg(layers, (3, 2, 23)), Objective("unit", -1, 2, 5, (2,)))


def test_maxpool_indices_and_unpool_by_hand(examples_dir):
    """The tutorial's MaxPool1d(3, stride=2, return_indices=True): argmax positions computed
    with numpy, and an unpool that puts each maximum back where it came from."""
    config = load_config(examples_dir / "tutorial_maxpool1d.json")
    config = config.with_layers(config.layers + (L("MaxUnpool1d", kernel_size=3, stride=2),))
    result = run(config)
    x = result.input
    pool, unpool = result.layers
    assert pool.output_shape == (2, 3, 2)
    want_idx = np.zeros((2, 3, 2), dtype=np.int64)
    for n in range(2):
        for c in range(3):
            for j, start in enumerate((0, 2)):
                want_idx[n, c, j] = start + int(np.argmax(x[n, c, start:start + 3]))
    np.testing.assert_array_equal(pool.indices, want_idx)
    np.testing.assert_array_equal(pool.activation, np.take_along_axis(x, want_idx, axis=2))
    want = np.zeros_like(x)
    np.put_along_axis(want, want_idx, pool.activation, axis=2)
    np.testing.assert_array_equal(unpool.activation, want)
    assert unpool.indices_from == 0 and unpool.output_shape == (2, 3, 5)
    # max pooling sends the gradient of a sum only to the winners (twice to a shared winner)
    counts = np.zeros_like(x)
    np.add.at(counts, (np.arange(2)[:, None, None], np.arange(3)[None, :, None], want_idx), 1)
    np.testing.assert_array_equal(result.grad_input, counts)


def test_maxpool2d_flat_indices_by_hand():
    result = run(cfg([L("MaxPool2d", kernel_size=2, return_indices=True)], (1, 2, 4, 6)))
    x, lr = result.input, result.layers[0]
    for c in range(2):
        for i in range(2):
            for j in range(3):
                win = x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                r, q = np.unravel_index(np.argmax(win), win.shape)
                assert lr.indices[0, c, i, j] == (2 * i + r) * 6 + (2 * j + q)
                assert lr.activation[0, c, i, j] == win.max()


def test_tutorial_examples_run_to_the_issues_shapes(examples_dir):
    ends = {"tutorial_conv2d_stack.json": (2, 4, 3, 2), "tutorial_conv1d.json": (2, 3, 2),
            "tutorial_maxpool1d.json": (2, 3, 2), "mnist_convnet.json": (1, 20, 4, 4),
            "mnist_convnet_classifier.json": (1, 10)}
    for name, end in ends.items():
        path = examples_dir / name
        result = run(load_config(path), base_dir=config_dir(path))
        assert result.layers[-1].output_shape == end, name
        assert result.layers[-1].activation.shape == end


@pytest.mark.parametrize("path", sorted(
    __import__("pathlib").Path(__file__).resolve().parents[2].joinpath(
        "resources", "examples").glob("*.json")), ids=lambda p: p.name)
def test_every_bundled_example_runs_and_matches_its_shapes(path):
    config = load_config(path)
    result = run(config, base_dir=config_dir(path))
    report = infer(config.layers, result.input.shape)
    assert [lr.output_shape for lr in result.layers] == [i.output_shape for i in report.layers]
    assert all(np.isfinite(lr.activation).all() for lr in result.layers)
    assert np.isfinite(result.grad_input).all()


def test_weights_follow_the_documented_rule(examples_dir):
    """Layer i is made right after torch.manual_seed(seed + i): built so, or re-initialised
    so with reset_parameters() (what the exported script does), torch gives the same weights."""
    config = load_config(examples_dir / "tutorial_conv2d_stack.json")
    config = Config(layers=config.layers, input=config.input, seed=7)
    result = run(config)
    torch.manual_seed(7 + 0)
    conv1 = torch.nn.Conv2d(1, 20, 3)
    conv2 = torch.nn.Conv2d(20, 4, 3)
    torch.manual_seed(7 + 2)
    conv2.reset_parameters()
    np.testing.assert_array_equal(result.layers[0].params["weight"], conv1.weight.detach())
    np.testing.assert_array_equal(result.layers[0].params["bias"], conv1.bias.detach())
    np.testing.assert_array_equal(result.layers[2].params["weight"], conv2.weight.detach())
    np.testing.assert_array_equal(result.layers[2].params["bias"], conv2.bias.detach())


def test_editing_one_layer_leaves_the_others_weights_as_they_were():
    layers = [L("Conv2d", out_channels=4, kernel_size=3), L("ReLU"),
              L("Conv2d", out_channels=5, kernel_size=3), L("Linear", out_features=3)]
    before = run(cfg(layers, (1, 2, 12, 12)))
    # conv1 gets another kernel (and padding, so its output keeps its size)
    edited = [layers[0].with_params(kernel_size=5, padding=1)] + layers[1:]
    after = run(cfg(edited, (1, 2, 12, 12)))
    assert after.layers[0].params["weight"].shape == (4, 2, 5, 5)
    for i in (2, 3):
        for name in ("weight", "bias"):
            np.testing.assert_array_equal(after.layers[i].params[name],
                                          before.layers[i].params[name])
    # more channels out of conv1: conv2 (whose in_channels follows) is made anew, the Linear
    # after it (on the last dimension, unchanged) keeps its weights
    wider = [layers[0].with_params(out_channels=6)] + layers[1:]
    again = run(cfg(wider, (1, 2, 12, 12)))
    assert again.layers[2].params["weight"].shape == (5, 6, 3, 3)
    np.testing.assert_array_equal(again.layers[3].params["weight"],
                                  before.layers[3].params["weight"])


def test_seeded_determinism():
    layers = STACK[:7] + [L("Dropout", p=0.5)]
    a = run(cfg(layers, (2, 3, 8, 8), seed=1), device="cpu")
    b = run(cfg(layers, (2, 3, 8, 8), seed=1))
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_array_equal(la.activation, lb.activation)
        for k in la.params:
            np.testing.assert_array_equal(la.params[k], lb.params[k])
            np.testing.assert_array_equal(la.grads[k], lb.grads[k])
    np.testing.assert_array_equal(a.grad_input, b.grad_input)
    # another weight seed: other weights, same input
    c = run(Config(layers=tuple(layers), input=InputSpec(shape=(2, 3, 8, 8), seed=1), seed=2))
    np.testing.assert_array_equal(c.input, a.input)
    assert not np.array_equal(c.layers[0].params["weight"], a.layers[0].params["weight"])
    # another input seed: other input, same weights
    d = run(cfg(layers, (2, 3, 8, 8), seed=5))
    assert not np.array_equal(d.input, a.input)
    np.testing.assert_array_equal(d.layers[0].params["weight"], a.layers[0].params["weight"])


def test_dropout_mask_repeats_and_scales():
    result = run(cfg([L("Dropout", p=0.25)], (1, 1, 50, 50), seed=0))
    x, y = result.input, result.layers[0].activation
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert 0.15 < 1 - kept.mean() < 0.35
    again = run(cfg([L("Dropout", p=0.25)], (1, 1, 50, 50), seed=0))
    np.testing.assert_array_equal(again.layers[0].activation, y)


def test_input_array_overrides_the_config_input():
    x = np.arange(2 * 1 * 5, dtype=np.float64).reshape(2, 1, 5)
    result = run(cfg([L("MaxPool1d", kernel_size=2, return_indices=True)], (1, 1, 28)),
                 input_array=x)
    assert result.input.dtype == np.float32 and result.input.shape == (2, 1, 5)
    np.testing.assert_array_equal(result.layers[0].indices[0, 0], [1, 3])
    frozen = np.zeros((1, 1, 4), np.float32)
    frozen.flags.writeable = False  # torch warns on read-only arrays; run copies them
    assert run(cfg([L("ReLU")], (1, 1, 4)), input_array=frozen).input.flags.writeable


def test_result_metadata():
    config = cfg([L("Conv1d", "c", out_channels=2, kernel_size=3), L("ReLU")], (1, 1, 9))
    result = run(config, generation=7)
    assert result.generation == 7 and result.device == "cpu"
    assert [lr.name for lr in result.layers] == ["c", "1"]
    assert [lr.label for lr in result.layers] == ["c (Conv1d)", "1 (ReLU)"]
    assert result.layer("c") is result.layers[0] and result.layer(1) is result.layers[1]
    assert result.layers[0].param_count == 8 and result.layers[0].macs == 2 * 7 * 3
    assert result.layers[1].input_shape == (1, 2, 7)
    assert result.objective_label == "sum of 1 (ReLU) output"
    assert all(lr.time_ms >= 0 for lr in result.layers) and result.total_ms > 0
    for lr in result.layers:
        assert isinstance(lr.activation, np.ndarray)
    with pytest.raises(KeyError):
        result.layer("nope")


def test_no_layers_differentiates_the_input():
    result = run(cfg([], (1, 2, 3)))
    assert result.layers == [] and result.objective_label == "sum of the input"
    np.testing.assert_array_equal(result.grad_input, np.ones((1, 2, 3), np.float32))


@pytest.mark.parametrize("objective, words", [
    (Objective("sum", 5), ["no layer 5", "-1 for the last layer"]),
    (Objective("channel", -1, 4, 0), ["objective batch: 4 is outside", "[2, 3, 4]"]),
    (Objective("channel", -1, 0, 3), ["objective channel: 3 is outside"]),
    (Objective("unit", -1, 0, 0, ()), ["objective position", "give 1 position value"]),
    (Objective("unit", -1, 0, 0, (4,)), ["objective position: 4 is outside"]),
])
def test_objective_errors(objective, words):
    with pytest.raises(RunError) as err:
        run(cfg([L("Conv1d", out_channels=3, kernel_size=3)], (2, 1, 6)), objective=objective)
    for w in words:
        assert w in str(err.value), (w, str(err.value))
    with pytest.raises(RunError, match="has no channels"):
        run(cfg([L("Flatten", start_dim=0)], (2, 1, 6)), objective=Objective("channel"))


def test_invalid_config_is_a_run_error_with_problems():
    config = cfg([L("Conv2d", "c", out_channels=2, kernel_size=9)], (1, 1, 5, 5))
    with pytest.raises(RunError) as err:
        run(config)
    assert err.value.problems and err.value.problems[0].field == "kernel_size"
    assert str(err.value).startswith("c (Conv2d) kernel_size: kernel 9 is larger")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_run_error():
    with pytest.raises(RunError) as err:
        run(cfg([L("ReLU")], (1, 1, 4)), device="cuda")
    msg = str(err.value)
    assert msg.startswith("CUDA: ") and "cpu" in msg and "Traceback" not in msg
    assert not err.value.problems
    with pytest.raises(RunError, match="(?i)cuda"):
        run(Config(layers=(L("ReLU"),), input=InputSpec(shape=(1, 1, 4)), device="cuda:0"))


@pytest.mark.parametrize("device, words", [
    ("mps", ["MPS", "cpu"]), ("gpu", ["'gpu' is not a device name", "cuda"]),
    ("meta", ["not supported"])])
def test_other_device_errors(device, words):
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and mps is not None and mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(RunError) as err:
        run(cfg([L("ReLU")], (1, 1, 4)), device=device)
    for w in words:
        assert w in str(err.value)


def test_input_errors_become_run_errors(tmp_path):
    config = Config(layers=(L("ReLU"),), input=InputSpec("npy", path="missing.npy"))
    with pytest.raises(RunError) as err:
        run(config, base_dir=tmp_path)
    assert str(err.value).startswith("input: ") and "missing.npy: no such .npy file" in str(
        err.value)


def test_cancel_between_layers():
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        run(cfg(STACK, (1, 3, 8, 8)), cancel=cancel)
    assert len(calls) == 3
    run(cfg(STACK, (1, 3, 8, 8)), cancel=lambda: False)


def test_held_bytes_count_outputs_grads_indices_and_params():
    from convexplorer.model.memory import held_bytes

    report = infer([L("Conv1d", out_channels=2, kernel_size=3),
                    L("MaxPool1d", kernel_size=2, return_indices=True)], (1, 1, 10))
    x, conv, pool = 10, 2 * 8, 2 * 4
    assert held_bytes(report) == 8 * x + 8 * conv + 8 * 8 + 8 * pool + 8 * pool
    assert estimate_bytes(report) > held_bytes(report)


def test_config_dir(tmp_path):
    assert config_dir(None) is None
    assert config_dir(tmp_path / "a.json") == tmp_path.resolve()


def test_a_matching_report_is_reused_and_a_stale_one_is_not():
    config = cfg([L("Conv2d", in_channels=1, out_channels=2, kernel_size=3)], (1, 1, 8, 8))
    own = infer(config.layers, (1, 1, 8, 8))
    assert run(config, report=own).layers[0].output_shape == (1, 2, 6, 6)
    # a report of another input shape, or of other (equal but different) specs, is redone
    other_shape = infer(config.layers, (1, 1, 10, 10))
    assert run(config, report=other_shape).layers[0].output_shape == (1, 2, 6, 6)
    other_specs = infer((L("Conv2d", in_channels=1, out_channels=5, kernel_size=3),),
                        (1, 1, 8, 8))
    assert run(config, report=other_specs).layers[0].output_shape == (1, 2, 6, 6)


def test_host_copy_brings_back_every_device_kind():
    """CPU tensors come back as views, None stays None, and a tensor of a device without the
    CUDA path (MPS) comes back through .cpu()."""
    from types import SimpleNamespace

    from convexplorer.engine.run import _HostCopy

    class OtherDevice:  # stands in for an MPS tensor
        device = SimpleNamespace(type="mps")

        def detach(self):
            return self

        def cpu(self):
            return torch.arange(3.0)

    cpu = torch.arange(4.0)
    copy = _HostCopy(torch.device("cpu"))
    batch = copy.start([cpu, None, OtherDevice()])
    got = copy.arrays(batch)
    assert np.shares_memory(got[0], cpu.numpy()) and got[1] is None
    np.testing.assert_array_equal(got[2], [0.0, 1.0, 2.0])
