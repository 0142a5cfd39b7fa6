"""forward() read (issue 14): tutorial-style classes, written here the way tutorials write them,
import to stacks in the order the model runs; every layer that is one of the class's modules
gets the output shape the real module gets (forward hooks on the same class run in plain torch),
and the stack's output is the model's. What the reader cannot follow falls back, naming the
line."""

from __future__ import annotations

import pytest
import torch

from convexplorer.model.catalogue import CATALOGUE
from convexplorer.model.pytorch_code import import_text
from convexplorer.model.shapes import infer

TUTORIAL = '''
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 20, 5)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        return F.relu(self.conv2(x))
'''

MNIST = '''
import torch.nn as nn
import torch.nn.functional as F


class MNISTConvNet(nn.Module):

    def __init__(self):
        super(MNISTConvNet, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, input):
        x = self.pool1(F.relu(self.conv1(input)))
        x = self.pool2(F.relu(self.conv2(x)))

        # In your model definition you can go full crazy and use arbitrary
        # python code to define your model structure
        # all these are perfectly legal, and will be handled correctly
        # by autograd:
        # if x.gt(0) > x.numel() / 2:
        #      ...
        #
        # you can even do a loop and reuse the same module inside it
        # modules no longer hold ephemeral state, so you can use them
        # multiple times during your forward pass
        # while x.norm(2) < 10:
        #    x = self.conv1(x)

        return x
'''

LENET = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

    def num_flat_features(self, x):
        size = x.size()[1:]
        num_features = 1
        for s in size:
            num_features *= s
        return num_features
'''

FLATTENS = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Flattens(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(2))
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = self.features(x)
        x = {flatten}
        x = self.drop(x)
        x = self.fc(x)
        return F.log_softmax(x, dim=1)
'''

UNPOOL = '''
import torch.nn as nn


class Seg(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)

    def forward(self, x):
        x = self.conv(x)
        x, idx = self.pool(x)
        x = self.unpool(x, idx)
        return x
'''

SHARED = '''
import torch.nn as nn
import torch.nn.functional as F


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.stem = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        x = self.stem(x)
        x = F.relu(self.conv(x))
        x = F.relu(self.conv(x))
        return x
'''

BLOCKS = '''
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn = nn.BatchNorm2d(c_out)
        self.extra = None

    def forward(self, x):
        out = F.relu(self.bn(self.conv(x)))
        if self.extra is not None:
            out = self.extra(out)
        return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1 = Block(3, 8)
        self.stage2 = nn.Sequential(Block(8, 16), Block(16, 16))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stage2(self.stage1(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)
'''


def run_class(source: str, name: str, shape):
    """Build the class in plain torch (the test may run code; the app never does) and record
    each module's output shape with forward hooks."""
    namespace: dict = {}
    exec(compile("import torch\n" + source, "<tutorial>", "exec"), namespace)
    model = namespace[name]()
    shapes = {}

    def hook(qual):
        def record(_module, _inputs, output):  # returns None: the output stays torch's
            shapes.setdefault(qual, tuple((output[0] if isinstance(output, tuple)
                                           else output).shape))
        return record

    for qual, module in model.named_modules():
        if qual and not list(module.children()):
            module.register_forward_hook(hook(qual))
    with torch.no_grad():
        out = model(torch.randn(shape))
    return shapes, tuple(out.shape)


def imported(source: str, shape):
    result = import_text(source, shape=shape)
    report = infer(result.config.layers, shape)
    assert report.ok, report.problems
    return result, report


@pytest.mark.parametrize("source, cls, shape, types", [
    (TUTORIAL, "Model", (1, 1, 28, 28), ["Conv2d", "ReLU", "Conv2d", "ReLU"]),
    (MNIST, "MNISTConvNet", (1, 1, 28, 28), ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU",
                                             "MaxPool2d"]),
    (LENET, "Net", (1, 1, 32, 32), ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU",
                                    "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear", "ReLU",
                                    "Linear"]),
    (UNPOOL, "Seg", (1, 1, 8, 8), ["Conv2d", "MaxPool2d", "MaxUnpool2d"]),
])
def test_tutorial_classes_import_in_the_order_they_run(source, cls, shape, types):
    result, report = imported(source, shape)
    assert [s.type for s in result.config.layers] == types
    hooks, out = run_class(source, cls, shape)
    for info in report.layers:
        if info.spec.name in hooks:
            assert info.output_shape == hooks[info.spec.name], info.label
    assert report.output_shape == out
    assert any("was read: the" in n for n in result.notes)


def test_modules_declared_but_never_called_are_left_out_with_a_note():
    result, report = imported(MNIST, (1, 1, 28, 28))
    assert report.output_shape == (1, 20, 4, 4)  # the tutorial's torch.Size([1, 20, 4, 4])
    names = [s.name for s in result.config.layers]
    assert "fc1" not in names and "fc2" not in names
    assert any("never called in forward() are left out: fc1, fc2" in n for n in result.notes)
    assert not result.suggestions  # no Flatten proposed for layers that never run


@pytest.mark.parametrize("flatten", ["x.view(x.size(0), -1)", "x.view(-1, 8 * 8 * 8)",
                                     "torch.flatten(x, 1)", "x.flatten(1)",
                                     "x.reshape(x.shape[0], -1)", "x.view(-1, 512)"])
def test_every_way_of_flattening_is_a_flatten(flatten):
    if "LogSoftmax" not in CATALOGUE:
        pytest.skip("LogSoftmax is not a layer type yet")
    source = FLATTENS.replace("{flatten}", flatten)
    result, report = imported(source, (2, 3, 16, 16))
    assert [s.type for s in result.config.layers] == [
        "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Dropout", "Linear", "LogSoftmax"]
    hooks, out = run_class(source, "Flattens", (2, 3, 16, 16))
    assert report.output_shape == out


def test_a_view_that_does_not_fit_the_shape_is_said():
    source = FLATTENS.replace("{flatten}", "x.view(-1, 100)").replace(
        "F.log_softmax(x, dim=1)", "x")
    result = import_text(source, shape=(2, 3, 16, 16))
    assert any("views the tensor as (100 features per item), but a Flatten here gives "
               "torch.Size([2, 512])" in n for n in result.notes)


def test_a_module_called_twice_is_two_layers_with_a_note():
    result, report = imported(SHARED, (1, 1, 10, 10))
    assert [s.name for s in result.config.layers] == ["stem", "conv", "relu1", "conv_2",
                                                      "relu2"]
    assert any("calls self.conv again" in n and "conv_2" in n for n in result.notes)
    hooks, out = run_class(SHARED, "Twice", (1, 1, 10, 10))
    assert report.output_shape == out


def test_custom_blocks_are_read_through_their_forward():
    result, report = imported(BLOCKS, (1, 3, 12, 12))
    names = [s.name for s in result.config.layers]
    assert names[:3] == ["stage1.conv", "stage1.bn", "relu1"]
    assert names[3:6] == ["stage2.0.conv", "stage2.0.bn", "relu2"]
    assert [s.type for s in result.config.layers][-3:] == ["AdaptiveAvgPool2d", "Flatten",
                                                          "Linear"]
    hooks, out = run_class(BLOCKS, "Net", (1, 3, 12, 12))
    for info in report.layers:
        if info.spec.name in hooks:
            assert info.output_shape == hooks[info.spec.name], info.label
    assert report.output_shape == out
    assert not any("is a custom module" in n for n in result.notes)


@pytest.mark.parametrize("body, line, words", [
    ("for _ in range(3):\n            x = self.conv(x)", 13, "a loop"),
    ("if x.sum() > 0:\n            x = self.conv(x)", 13, "the condition depends"),
    ("x = self.helper(x)", 13, "self.helper is no module"),
    ("x = torch.sort(x)[0]", 13, "not a layer, a merge or a reshape"),
])
def test_forward_it_cannot_follow_falls_back_naming_the_line(body, line, words):
    source = f'''
import torch
import torch.nn as nn


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        {body}
        return x
'''
    result = import_text(source, shape=(1, 1, 8, 8))
    stop = next(n for n in result.notes if "forward() is not followed" in n)
    assert stop.startswith(f"line {line}:") and words in stop
    assert any("in the order __init__ declares them" in n for n in result.notes)
    assert [s.name for s in result.config.layers] == ["conv"]


RESIDUAL = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        identity = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return F.relu(out)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = ResidualBlock(8)
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x = self.stem(x)
        skip = self.block(x)
        x = self.up(self.down(skip))
        x = torch.cat([x, skip], 1)
        return x * self.gate(x)
'''


def test_skip_connections_become_merges():
    if not {"Add", "Concat", "Multiply"} <= set(CATALOGUE):
        pytest.skip("the merge layer types are not in the catalogue yet")
    result, report = imported(RESIDUAL, (1, 3, 8, 8))
    specs = result.config.layers
    types = [s.type for s in specs]
    assert types == ["Conv2d", "Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "Add",
                     "ReLU", "Conv2d", "ConvTranspose2d", "Concat", "Sigmoid", "Multiply"]
    add = specs[types.index("Add")]
    assert add.value("from") == "stem"
    cat = specs[types.index("Concat")]
    assert cat.value("from") in (("relu2",), "relu2") and cat.value("dim") == 1
    assert specs[-1].value("from") == cat.name
    hooks, out = run_class(RESIDUAL, "Net", (1, 3, 8, 8))
    assert report.output_shape == out
