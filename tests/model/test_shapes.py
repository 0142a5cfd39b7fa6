"""Shape inference by formula, on known nets: output shapes, parameter and multiply-accumulate
counts, receptive fields and the formula lines shown to the user. (tests/engine/test_property.py
holds the formula equal to torch itself over random stacks.)"""

from __future__ import annotations

import pytest

from convexplorer.model.config_io import load_config
from convexplorer.model.shapes import fmt_shape, infer
from convexplorer.model.spec import LayerSpec

L = LayerSpec.make


def mnist(classifier: bool = False):
    layers = [L("Conv2d", "conv1", in_channels=1, out_channels=10, kernel_size=5),
              L("ReLU"), L("MaxPool2d", kernel_size=2, stride=2, return_indices=True),
              L("Conv2d", "conv2", in_channels=10, out_channels=20, kernel_size=5),
              L("ReLU"), L("MaxPool2d", kernel_size=2, stride=2, return_indices=True)]
    if classifier:
        layers += [L("Flatten"), L("Linear", in_features=320, out_features=50),
                   L("Linear", in_features=50, out_features=10)]
    return layers


def test_mnist_shapes_params_macs():
    report = infer(mnist(True), (1, 1, 28, 28))
    assert report.ok
    assert [i.output_shape for i in report.layers] == [
        (1, 10, 24, 24), (1, 10, 24, 24), (1, 10, 12, 12), (1, 20, 8, 8), (1, 20, 8, 8),
        (1, 20, 4, 4), (1, 320), (1, 50), (1, 10)]
    assert [i.params for i in report.layers] == [260, 0, 0, 5020, 0, 0, 0, 16050, 510]
    assert report.total_params == 21840
    assert [i.macs for i in report.layers] == [144000, 0, 0, 320000, 0, 0, 0, 16000, 500]
    assert report.total_macs == 480500
    assert report.output_shape == (1, 10)


def test_mnist_receptive_fields():
    report = infer(mnist(True), (1, 1, 28, 28))
    rfs = [(i.receptive_field.size, i.receptive_field.jump) for i in report.layers]
    assert rfs[:6] == [((5, 5), (1, 1)), ((5, 5), (1, 1)), ((6, 6), (2, 2)),
                       ((14, 14), (2, 2)), ((14, 14), (2, 2)), ((16, 16), (4, 4))]
    assert rfs[-1] == ((28, 28), (0, 0))  # after Flatten/Linear: the whole input
    assert str(report.layers[5].receptive_field) == "16x16 (jump 4x4)"


def test_dilation_widens_the_receptive_field_not_the_weights():
    plain = infer([L("Conv1d", out_channels=1, kernel_size=3)], (1, 1, 16)).layers[0]
    dilated = infer([L("Conv1d", out_channels=1, kernel_size=3, dilation=2)],
                    (1, 1, 16)).layers[0]
    assert plain.receptive_field.size == (3,) and dilated.receptive_field.size == (5,)
    assert plain.params == dilated.params == 4
    assert dilated.output_shape == (1, 1, 12)
    assert dilated.formula == ["floor((16 + 2*0 - 2*(3-1) - 1) / 1) + 1 = 12"]


def test_formula_lines_have_the_users_numbers():
    info = infer(mnist(), (1, 1, 28, 28)).layers[0]
    assert info.formula == ["floor((28 + 2*0 - 1*(5-1) - 1) / 1) + 1 = 24"] * 2
    pool = infer([L("MaxPool2d", kernel_size=(3, 2), stride=2, ceil_mode=True)],
                 (1, 1, 7, 6)).layers[0]
    assert pool.formula == ["ceil((7 + 2*0 - 1*(3-1) - 1) / 2) + 1 = 3",
                            "ceil((6 + 2*0 - 1*(2-1) - 1) / 2) + 1 = 3"]
    assert pool.output_shape == (1, 1, 3, 3)


def test_ceil_mode_last_window_rule():
    """torch drops a last window that would start in the right padding."""
    info = infer([L("MaxPool1d", kernel_size=3, stride=3, padding=1, ceil_mode=True)],
                 (1, 1, 5)).layers[0]
    assert info.output_shape == (1, 1, 2)
    assert "last window would start in the right padding" in info.formula[0]
    floor = infer([L("MaxPool1d", kernel_size=3, stride=3, padding=1)], (1, 1, 5)).layers[0]
    assert floor.output_shape == (1, 1, 2)
    gain = infer([L("MaxPool1d", kernel_size=2, ceil_mode=True)], (1, 1, 5)).layers[0]
    assert gain.output_shape == (1, 1, 3)  # floor mode would drop the last input


def test_ceil_mode_window_may_exceed_the_input():
    info = infer([L("MaxPool1d", kernel_size=4, ceil_mode=True)], (1, 1, 2)).layers[0]
    assert info.ok and info.output_shape == (1, 1, 1)


def test_same_and_valid_padding():
    same = infer([L("Conv2d", out_channels=3, kernel_size=(4, 3), padding="same",
                    dilation=2)], (1, 1, 9, 7)).layers[0]
    assert same.output_shape == (1, 3, 9, 7)
    assert same.formula[0].startswith("'same': 9")
    valid = infer([L("Conv2d", out_channels=3, kernel_size=3, padding="valid")],
                  (1, 1, 9, 7)).layers[0]
    assert valid.output_shape == (1, 3, 7, 5)


def test_transposed_conv_formula_and_counts():
    info = infer([L("ConvTranspose2d", out_channels=4, kernel_size=3, stride=2, padding=1,
                    output_padding=1, groups=2)], (2, 6, 5, 5)).layers[0]
    assert info.output_shape == (2, 4, 10, 10)
    assert info.formula[0] == "(5-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 10"
    assert info.params == 6 * (4 // 2) * 9 + 4
    assert info.macs == 2 * 6 * 25 * 2 * 9


def test_grouped_and_depthwise_conv_counts():
    depthwise = infer([L("Conv2d", out_channels=8, kernel_size=3, groups=8, bias=False)],
                      (1, 8, 10, 10)).layers[0]
    dense = infer([L("Conv2d", out_channels=8, kernel_size=3, bias=False)],
                  (1, 8, 10, 10)).layers[0]
    assert dense.params == 8 * depthwise.params == 576
    assert dense.macs == 8 * depthwise.macs


def test_unpool_pairs_with_its_pool_and_restores_its_input_size():
    layers = [L("MaxPool2d", kernel_size=2, return_indices=True),
              L("MaxPool2d", kernel_size=3, stride=2, return_indices=True, ceil_mode=True),
              L("ReLU"),
              L("MaxUnpool2d", kernel_size=3, stride=2),
              L("MaxUnpool2d", kernel_size=2)]
    report = infer(layers, (1, 2, 15, 15))
    assert report.ok, [str(p) for p in report.problems]
    assert [i.output_shape for i in report.layers] == [
        (1, 2, 7, 7), (1, 2, 3, 3), (1, 2, 3, 3), (1, 2, 7, 7), (1, 2, 15, 15)]
    assert report.layers[3].indices_from == 1 and report.layers[4].indices_from == 0
    assert report.layers[3].unpool_size == (7, 7) and report.layers[4].unpool_size == (15, 15)


def test_adaptive_pool_keeps_none_dimensions():
    info = infer([L("AdaptiveAvgPool2d", output_size=(None, 2))], (1, 3, 9, 8)).layers[0]
    assert info.output_shape == (1, 3, 9, 2)


def test_flatten_linear_batchnorm():
    report = infer([L("BatchNorm2d", affine=False), L("Flatten", start_dim=2),
                    L("Linear", out_features=5, bias=False), L("Flatten", 0, start_dim=0)],
                   (2, 3, 4, 4))
    assert [i.output_shape for i in report.layers] == [(2, 3, 4, 4), (2, 3, 16), (2, 3, 5),
                                                        (30,)]
    assert [i.params for i in report.layers] == [0, 0, 80, 0]
    assert report.layers[0].kwargs["num_features"] == 3  # auto resolved
    assert report.layers[2].kwargs["in_features"] == 16
    bn = infer([L("BatchNorm1d", bias=False)], (4, 6)).layers[0]
    assert bn.params == 6 and bn.output_shape == (4, 6)


@pytest.mark.parametrize("name, shape, ends", [
    ("tutorial_conv2d_stack.json", None, (2, 4, 3, 2)),
    ("tutorial_conv1d.json", None, (2, 3, 2)),
    ("tutorial_maxpool1d.json", None, (2, 3, 2)),
    ("mnist_convnet.json", (1, 1, 28, 28), (1, 20, 4, 4)),
    ("mnist_convnet_classifier.json", (1, 1, 28, 28), (1, 10)),
])
def test_tutorial_examples_end_in_the_issues_shapes(examples_dir, name, shape, ends):
    config = load_config(examples_dir / name)
    if shape is None:
        shape = config.input.shape
    else:
        assert config.input.source == "image" and config.input.path == "sample:digit7.png"
        assert tuple(config.input.size) == shape[2:]
    report = infer(config.layers, shape)
    assert report.ok and report.output_shape == ends


def test_tutorial_examples_are_the_issues_layers(examples_dir):
    def layers(name):
        return [spec.to_dict() for spec in load_config(examples_dir / name).layers]

    def resolved(name, keys):
        """The channel counts the layers get: the examples leave in_channels on auto, so that
        changing one layer's channels does not break the next."""
        config = load_config(examples_dir / name)
        report = infer(config.layers, config.input.shape)
        return [{k: info.kwargs[k] for k in keys} for info in report.layers
                if info.spec.type.startswith("Conv")]

    strip = [{k: v for k, v in d.items() if k != "name"} for d in layers(
        "tutorial_conv2d_stack.json")]
    assert strip == [
        {"type": "Conv2d", "out_channels": 20, "kernel_size": 3},
        {"type": "ReLU"},
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "ReLU"}]
    assert resolved("tutorial_conv2d_stack.json", ["in_channels", "out_channels"]) == [
        {"in_channels": 1, "out_channels": 20}, {"in_channels": 20, "out_channels": 4}]
    conv1d = load_config(examples_dir / "tutorial_conv1d.json")
    assert conv1d.input.shape == (2, 4, 5)
    assert conv1d.layers[0].kwargs == {"out_channels": 3, "kernel_size": 3, "stride": 2}
    assert resolved("tutorial_conv1d.json", ["in_channels"]) == [{"in_channels": 4}]
    pool = load_config(examples_dir / "tutorial_maxpool1d.json")
    assert pool.input.shape == (2, 3, 5)
    assert pool.layers[0].kwargs == {"kernel_size": 3, "stride": 2, "return_indices": True}
    classifier = layers("mnist_convnet_classifier.json")
    assert classifier[:6] == layers("mnist_convnet.json")
    assert [d["type"] for d in classifier[6:]] == ["Flatten", "Linear", "Linear"]


def test_fmt_shape():
    assert fmt_shape((1, 10, 24, 24)) == "torch.Size([1, 10, 24, 24])"
    assert fmt_shape(None) == "?"
    assert fmt_shape(()) == "torch.Size([])"


def test_groups_on_an_auto_in_channels_names_both_counts():
    report = infer([L("Conv2d", out_channels=10, kernel_size=3),
                    L("Conv2d", "c", out_channels=20, kernel_size=3, groups=3)], (1, 1, 9, 9))
    (problem,) = report.layers[1].problems
    assert str(problem) == ("c (Conv2d) groups: groups=3 must divide in_channels=10 and "
                            "out_channels=20; try 1, 2, 5 or 10")


def test_an_unpool_whose_own_pool_lost_return_indices_says_which_pool_and_the_fix():
    pool = L("MaxPool2d", "pool1", kernel_size=2, return_indices=True)
    conv = L("Conv2d", "conv", out_channels=4, kernel_size=3, padding=1)
    own = L("MaxPool2d", "pool2", kernel_size=2)  # return_indices lost
    unpool = L("MaxUnpool2d", "unpool", kernel_size=2)
    # shapes differ: the message names the pool it pairs with and the one to fix
    report = infer([pool, conv, own, unpool], (1, 1, 8, 8))
    (problem,) = report.layers[3].problems
    assert str(problem) == (
        "unpool (MaxUnpool2d): pairs with pool1 (MaxPool2d), because the nearer pool2 "
        "(MaxPool2d) has return_indices=False, and gets torch.Size([1, 4, 2, 2]) but the "
        "indices of pool1 (MaxPool2d) are torch.Size([1, 1, 4, 4]); set return_indices=True "
        "on pool2 (MaxPool2d), the nearest MaxPool2d before it, so that it pairs with that one")
    assert "layers between" not in str(problem)
    # no pool with indices at all: the nearest one is the fix
    report = infer([own, unpool], (1, 1, 8, 8))
    assert report.layers[1].problems[0].fix == ("set return_indices=True on pool2 (MaxPool2d), "
                                                "the nearest MaxPool2d before it, so that it "
                                                "pairs with that one")
    # shapes that happen to fit: it runs, with a warning that names both pools
    same = L("MaxPool2d", "pool2", kernel_size=1)
    report = infer([pool, same, unpool], (1, 1, 8, 8))
    assert report.ok and report.layers[2].indices_from == 0
    (note,) = report.layers[2].notes
    assert str(note) == ("unpool (MaxUnpool2d): pairs with pool1 (MaxPool2d), not with the "
                         "nearer pool2 (MaxPool2d), which has return_indices=False; set "
                         "return_indices=True on pool2 (MaxPool2d) if this unpool should undo it")
    # its own pool with indices: the layers in between are the cause
    report = infer([L("MaxPool2d", "pool1", kernel_size=2, return_indices=True), conv, unpool],
                   (1, 1, 8, 8))
    assert report.layers[2].problems[0].fix == ("it pairs with pool1 (MaxPool2d), so the layers "
                                                "between them must keep the shape")
    assert report.layers[2].notes == []


def test_a_linear_on_a_map_runs_with_a_warning_and_the_flatten_fix():
    report = infer([L("Conv2d", out_channels=20, kernel_size=5),
                    L("Linear", "fc", out_features=10)], (1, 1, 8, 8))
    assert report.ok and report.output_shape == (1, 20, 4, 10)
    (note,) = report.layers[1].notes
    assert str(note) == ("fc (Linear): acts on the last dimension only: it gets "
                         "torch.Size([1, 20, 4, 4]), treats each of its 80 rows of 4 values as a "
                         "separate input and gives torch.Size([1, 20, 4, 10]); insert a Flatten "
                         "before it so that it sees every value of a batch item")
    assert note.action == "insert_flatten" and report.notes == [note]
    flat = infer([L("Conv2d", out_channels=20, kernel_size=5), L("Flatten"),
                  L("Linear", "fc", out_features=10)], (1, 1, 8, 8))
    assert flat.ok and flat.notes == [] and flat.output_shape == (1, 10)


# -- a dilated max pool window that reads only padding (torch 2.13 crashes in backward) ------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _padding_only_windows(n, k, s, p, d, o) -> bool:
    """Brute force: some window has no tap inside the input."""
    return any(all(not 0 <= i * s - p + d * t < n for t in range(k)) for i in range(o))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 4),
       p=st.integers(0, 2), ceil=st.booleans(), rank=st.sampled_from([1, 2]))
def test_max_pool_windows_of_padding_only_are_refused(n, k, s, d, p, ceil, rank):
    from convexplorer.model.shapes import _window_out

    if 2 * p > k:
        return  # torch's own rule (padding at most half the kernel) refuses it first
    o, _ = _window_out(n, k, s, p, d, ceil)
    shape = (1, 1, n) if rank == 1 else (1, 1, 3, n)
    spec = LayerSpec.make(f"MaxPool{rank}d", kernel_size=k if rank == 1 else (1, k), stride=s
                          if rank == 1 else (1, s), padding=p if rank == 1 else (0, p),
                          dilation=d if rank == 1 else (1, d), ceil_mode=ceil)
    report = infer([spec], shape)
    fields = [pr.field for pr in report.problems]
    if o < 1:
        return
    assert ("dilation" in fields) == _padding_only_windows(n, k, s, p, d, o)


def test_the_torch_crash_config_is_refused_with_its_fix():
    spec = LayerSpec.make("MaxPool2d", kernel_size=(2, 1), stride=2, padding=(1, 0),
                          dilation=(2, 1), ceil_mode=True)
    (problem,) = infer([spec], (2, 1, 1, 7)).problems
    assert problem.field == "dilation"
    assert "reads only padding" in problem.message and "smaller dilation" in str(problem)
