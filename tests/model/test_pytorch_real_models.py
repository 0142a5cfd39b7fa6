"""PyTorch code in, on models written the way they are in the wild (torchvision, the PyTorch
tutorials, popular CIFAR repositories): MobileNetV2's InvertedResidual, ResNet's BasicBlock, a
squeeze-and-excitation block, a pool/unpool pair used twice, DCGAN's ``ngf * 8``, constructor
defaults, several classes in one file, AlexNet's Dropout before its Linear and ShuffleNet's empty
Sequential. Each source is imported as code and, built with torch, as its ``print(model)`` text:
the import must never be silently wrong about what it could not read."""

from __future__ import annotations

import pytest
import torch

from convexplorer.model.pytorch_code import ImportError_, import_text
from convexplorer.model.shapes import infer
from convexplorer.model.spec import LayerSpec


def printed(source: str, name: str = "model") -> str:
    """``print(model)`` of the model the source builds (tests only run code, to get torch's
    own text)."""
    scope: dict = {"__name__": "real_model"}
    exec(compile(source, "<model>", "exec"), scope)  # noqa: S102 - test only
    return str(scope[name])


def built(source: str, name: str = "model") -> torch.nn.Module:
    scope: dict = {"__name__": "real_model"}
    exec(compile(source, "<model>", "exec"), scope)  # noqa: S102 - test only
    return scope[name]


def names(result) -> list[str | None]:
    return [s.name for s in result.config.layers]


def joined(result) -> str:
    return "\n".join(result.notes)


MOBILENET_V2 = '''
import torch
from torch import nn


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(nn.Conv2d(inp, hidden_dim, 1, bias=False))
        layers.extend([
            nn.Conv2d(hidden_dim, hidden_dim, 3, stride, 1, groups=hidden_dim, bias=False),
            nn.BatchNorm2d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ])
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            InvertedResidual(32, 32, 1, 1),
            InvertedResidual(32, 24, 2, 6),
            InvertedResidual(24, 24, 1, 6),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(24, num_classes)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


model = MobileNetV2()
'''


def test_mobilenet_inverted_residuals_are_named_as_custom_modules():
    """Item 18: the stack runs (every residual addition gone), so a note must say so."""
    r = import_text(printed(MOBILENET_V2))
    assert "features.3.conv.0" in names(r)
    assert infer(r.fixed_config.layers, r.input_shape).ok  # it runs: hence the note
    text = joined(r)
    assert ("InvertedResidual (3 of them, e.g. features.3) is a custom module: its forward() "
            "may do more than run the layers it holds in order (skip connections, "
            "concatenation)") in text
    # the code: the same note, and what could not be read is named
    r = import_text(MOBILENET_V2)
    text = joined(r)
    assert "InvertedResidual (3 of them, e.g. features.3) is a custom module" in text
    assert "*layers is not read" in text and "layers made inside a loop or condition" in text
    # return x + self.conv(x) / return self.conv(x) is one call, not a module used twice
    assert "self.conv more than once" not in text


RESNET = '''
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3,
                               stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion*planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion*planes,
                          kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion*planes)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, num_classes=10):
        super(ResNet, self).__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.linear = nn.Linear(128, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer2(self.layer1(out))
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        return self.linear(out)


model = ResNet()
'''


def test_resnet_shortcut_break_is_called_a_branch_not_a_channel_fix():
    """Item 20: the shortcut conv (64 -> 128) sits after the main path in the print; the advice
    was "set in_channels to 128", which cannot be right."""
    r = import_text(printed(RESNET))
    index = names(r).index("layer2.0.shortcut.0")
    text = joined(r)
    assert "set in_channels" not in text
    assert ("layer2.0.shortcut.0 (Conv2d): in_channels=64 but the previous layer gives 128 "
            "channels; it is inside layer2.0 (BasicBlock), whose forward() probably runs "
            "branches") in text
    assert "declaration order" in r.advice[index] and "set in_channels" not in r.advice[index]
    assert r.notes[0].startswith("layer2.0.shortcut.0 (Conv2d)")  # what to know comes first
    assert "BasicBlock (4 of them, e.g. layer1.0) is a custom module" in text


def test_resnet_code_reads_the_outer_class_and_its_blocks_with_their_arguments():
    """Items 22 and 23: the file's first class (BasicBlock) used to win; ResNet is the model,
    built from BasicBlock(64, 128, 2) and friends."""
    r = import_text(RESNET)
    assert r.config.name == "ResNet" and r.class_name == "ResNet"
    assert r.classes == ("BasicBlock", "ResNet")
    assert names(r)[:4] == ["conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1"]
    layers = dict(zip(names(r), r.config.layers))
    assert layers["layer2.0.conv1"].kwargs == {"in_channels": 64, "out_channels": 128,
                                               "kernel_size": 3, "stride": 2, "padding": 1,
                                               "bias": False}
    assert layers["layer2.1.conv2"].kwargs["in_channels"] == 128
    assert layers["linear"].kwargs == {"in_features": 128, "out_features": 10}
    text = joined(r)
    assert "ResNet was read: the text defines the classes BasicBlock, ResNet" in text
    assert "line 19: layers made inside a loop or condition are not read" in text
    assert "layer1.0.shortcut (Sequential): Sequential() passes its input through" in text
    assert "ResNet.__init__ is read with its default arguments (num_classes=10)" in text
    assert "F.relu, F.avg_pool2d, .view" in text
    assert "BasicBlock (4 of them, e.g. layer1.0) is a custom module" in text
    # a Linear(128) on a 128-wide map would fit by chance: the guess does not take that
    assert r.input_shape == (1, 3, 32, 32)
    assert any("a Flatten here would give" in n for n in r.notes)


SE_NET = '''
from torch import nn


class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excite = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return x * self.excite(self.squeeze(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.se1 = SEBlock(64)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)

    def forward(self, x):
        x = self.se1(self.bn1(self.conv1(x)).relu())
        return self.bn2(self.conv2(x))


model = Net()
'''

SE_LINEAR = '''
from torch import nn


class SELayer(nn.Module):
    def __init__(self, channel, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channel, channel // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channel // reduction, channel, bias=False),
            nn.Sigmoid()
        )

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
        self.se = SELayer(64)
        self.conv2 = nn.Conv2d(64, 32, 3, padding=1)

    def forward(self, x):
        return self.conv2(self.se(self.conv1(x)))


model = Net()
'''


@pytest.mark.parametrize("form", ["print", "code"])
def test_squeeze_and_excitation_is_not_a_batch_size_problem(form):
    """Item 21: AdaptiveAvgPool2d(1) chained into the main path left BatchNorm 1x1 maps, and
    the advice was "use a batch of 2 or more"."""
    r = import_text(printed(SE_NET) if form == "print" else SE_NET)
    text = joined(r)
    assert "batch of 2" not in text
    if form == "code":  # forward() is read (issue 14): the gate is a Multiply, all runs
        assert [s.type for s in r.config.layers][7:9] == ["Sigmoid", "Multiply"]
        assert r.config.layers[8].value("from") == "relu1"
        out = built(SE_NET)(torch.zeros(2, 3, 32, 32))
        assert infer(r.config.layers, (2, 3, 32, 32)).output_shape == tuple(out.shape)
        return
    assert ("bn2 (BatchNorm2d): needs more than 1 value per channel in training mode, got "
            "torch.Size([1, 64, 1, 1]); it comes after se1 (SEBlock), whose forward() probably "
            "runs branches") in text
    assert "batch of 2" not in r.advice[names(r).index("bn2")]


@pytest.mark.parametrize("form", ["print", "code"])
def test_squeeze_and_excitation_with_linear_gets_no_flatten(form):
    """A Flatten before the SE block's Linear would chain, and be wrong: the conv after it
    needs the map back."""
    r = import_text(printed(SE_LINEAR) if form == "print" else SE_LINEAR)
    assert not r.suggestions
    text = joined(r)
    assert "se.fc.0 (Linear)" in text and "it is inside se (SELayer)" in text
    assert "set in_features" not in text and "insert a Flatten" not in text


SHARED_POOL = '''
import torch.nn as nn


class SegNetLite(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(1, 8, 3, padding=1)
        self.enc2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.dec2 = nn.Conv2d(16, 8, 3, padding=1)
        self.dec1 = nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, x):
        x, i1 = self.pool(self.enc1(x))
        x, i2 = self.pool(self.enc2(x))
        x = self.dec2(self.unpool(x, i2))
        x = self.dec1(self.unpool(x, i1))
        return x


model = SegNetLite()
'''


def test_a_module_used_twice_in_forward_is_named():
    """Item 19: one pool/unpool pair used twice was imported once each, in declaration order:
    shapes wrong, exit 0, no note. forward() is read now (issue 14): each call is a layer, in
    the order it runs, and the note says the second one does not share the weights."""
    r = import_text(SHARED_POOL)
    assert names(r) == ["enc1", "pool", "enc2", "pool_2", "unpool", "dec2", "unpool_2", "dec1"]
    text = joined(r)
    assert "line 17: forward() calls self.pool again; the stack gets a second layer, pool_2" \
        in text
    assert "calls self.unpool again" in text
    assert "self.enc1 again" not in text
    model = built(SHARED_POOL)
    out = model(torch.zeros(1, 1, 16, 16))
    assert infer(r.config.layers, (1, 1, 16, 16)).output_shape == tuple(out.shape)


def test_a_module_called_in_a_loop_is_named():
    r = import_text('''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        for _ in range(3):
            x = self.conv(x)
        return self.head(x)
''')
    assert "line 10: forward() of Net calls self.conv in a loop" in joined(r)
    assert "self.head" not in joined(r)


DCGAN = '''
import torch.nn as nn

nz = 100
ngf = 64
nc = 3


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)


model = Generator(1)
'''


def test_dcgan_module_constants_are_read_as_their_values():
    """Item 23: ``ngf * 8`` with ``ngf = 64`` at module level is 512, and the note says so."""
    r = import_text(DCGAN, shape=(1, 100, 1, 1))
    assert r.config.layers[0].kwargs == {"in_channels": 100, "out_channels": 512,
                                         "kernel_size": 4, "bias": False}
    assert r.config.layers[1].kwargs == {"num_features": 512}
    assert r.config.layers[6].kwargs["out_channels"] == 3
    assert "names read as the values the text gives them: nz=100, ngf=64, nc=3" in joined(r)
    assert "is not a literal value" not in joined(r)
    model = built(DCGAN)
    out = model(torch.zeros(1, 100, 1, 1))
    assert infer(r.config.layers, (1, 100, 1, 1)).output_shape == tuple(out.shape)


UNET_PARTS = '''
import torch.nn as nn


class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
        )

    def forward(self, x):
        return self.double_conv(x)


class M5(nn.Module):
    def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x):
        return self.fc1(self.conv2(self.pool1(self.bn1(self.conv1(x)))))
'''


def test_constructor_defaults_are_read_and_said():
    """Item 23: ``def __init__(self, n_channel=32)`` gives n_channel=32; two unrelated models
    in one file: the note names both and how to choose."""
    r = import_text(UNET_PARTS)
    assert r.class_name == "M5" and r.classes == ("DoubleConv", "M5")
    conv1, bn1, _, conv2, fc1 = r.config.layers
    assert conv1.kwargs == {"in_channels": 1, "out_channels": 32, "kernel_size": 80,
                            "stride": 16}
    assert bn1.kwargs == {"num_features": 32} and conv2.kwargs["out_channels"] == 64
    assert fc1.kwargs == {"in_features": 64, "out_features": 35}
    text = joined(r)
    assert ("M5.__init__ is read with its default arguments (n_input=1, n_channel=32, "
            "stride=16, n_output=35); the model built with other values has other layers") in text
    assert ("the text defines several models (DoubleConv, M5); M5 was read, choose another in "
            "the Class box") in text


def test_a_line_that_makes_no_layers_is_not_called_a_loop_or_condition():
    """Item 23: ``if not mid_channels:`` makes no layers; mid_channels then has no single
    value, and the note says what is left on auto."""
    r = import_text(UNET_PARTS, class_name="DoubleConv")
    text = joined(r)
    assert "loop or condition" not in text
    assert "DoubleConv was read, as asked; the text also defines M5" in text
    assert "in_channels=mid_channels is not a literal value; left on auto" in text
    assert "out_channels=mid_channels is not a literal value; set it in the form" in text
    with pytest.raises(ImportError_, match="no class Unet with layers in the text; choose one "
                                           "of DoubleConv, M5"):
        import_text(UNET_PARTS, class_name="Unet")


def test_a_model_built_at_module_level_is_the_one_read():
    text = UNET_PARTS + "\nmodel = DoubleConv(3, 16)\n"
    r = import_text(text)
    assert r.class_name == "DoubleConv"
    first, _, _, last = r.config.layers
    assert first.kwargs["in_channels"] == 3 and last.kwargs["out_channels"] == 16
    assert "out_channels=mid_channels is not a literal value" in joined(r)  # set in an if


ALEXNET = '''
import torch
import torch.nn as nn


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(192 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


model = AlexNet()
'''


@pytest.mark.parametrize("form", ["print", "code"])
def test_alexnet_flatten_goes_before_the_dropout(form):
    """Item 24: torch flattens before the classifier, whose first layer is a Dropout; the fix
    put the Flatten between the Dropout and the Linear."""
    r = import_text(printed(ALEXNET) if form == "print" else ALEXNET, shape=(1, 3, 224, 224))
    if form == "code":  # forward() is read: its torch.flatten is a layer, where it runs
        assert not r.suggestions
        got = names(r)
        assert got[got.index("flatten1") + 1] == "classifier.0"
        out = built(ALEXNET).eval()(torch.zeros(1, 3, 224, 224))
        assert infer(r.config.layers, (1, 3, 224, 224)).output_shape == tuple(out.shape)
        return
    [s] = r.suggestions
    assert s.index == names(r).index("classifier.0") and s.target == s.index + 1
    fixed = [x.name for x in r.fixed_config.layers]
    assert fixed[fixed.index("flatten") + 1] == "classifier.0"
    assert s.message.startswith("insert a Flatten before classifier.0 (Dropout): it gives the "
                                "6912 features that classifier.1 (Linear) expects")
    out = built(ALEXNET).eval()(torch.zeros(1, 3, 224, 224))
    assert infer(r.fixed_config.layers, (1, 3, 224, 224)).output_shape == tuple(out.shape)


SHUFFLENET = '''
import torch
from torch import nn


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        branch_features = oup // 2
        if self.stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, self.stride, 1, groups=inp, bias=False),
                nn.BatchNorm2d(inp),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if (self.stride > 1) else branch_features, branch_features, 1,
                      bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return out


class ShuffleNetLite(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24))
        self.stage2 = nn.Sequential(InvertedResidual(24, 48, 2), InvertedResidual(48, 48, 1))
        self.shortcut = nn.Sequential()
        self.skip = nn.Identity()

    def forward(self, x):
        return self.stage2(self.conv1(x))


model = ShuffleNetLite()
'''


def test_shufflenet_empty_sequential_is_nothing_not_unsupported():
    """Item 25: ``Sequential()`` (an identity in torchvision's ShuffleNet) was reported as an
    unsupported Sequential."""
    r = import_text(printed(SHUFFLENET))
    text = joined(r)
    assert "does not support Sequential" not in text and "does not support Identity" not in text
    assert ("line 19: stage2.1.branch1 (Sequential): Sequential() passes its input through "
            "unchanged, so nothing is imported for it") in text
    assert "shortcut (Sequential): Sequential() passes its input through unchanged" in text
    # Identity is a catalogue type: a layer (at the end, where __init__ defines it)
    assert "Identity" not in text and r.config.layers[-1] == LayerSpec.make("Identity", "skip")
    r = import_text(SHUFFLENET)
    text = joined(r)
    assert "shortcut (Sequential): Sequential() passes its input through unchanged" in text
    assert "does not support" not in text
    # the branch in forward's if/else is one call of self.branch2, not two
    assert "more than once" not in text


INHERITED = '''
import torch.nn as nn


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1):
        padding = (kernel_size - 1) // 2
        super(ConvBNReLU, self).__init__(
            nn.Conv2d(in_planes, out_planes, kernel_size, stride, padding, bias=False),
            nn.BatchNorm2d(out_planes),
            nn.ReLU(inplace=True),
        )


class Backbone(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.stem = ConvBNReLU(3, width, stride=2)


class Net(Backbone):
    def __init__(self, width=16):
        super().__init__(width)
        self.body = nn.ModuleList([ConvBNReLU(width, width) for _ in range(3)])
        self.head = ConvBNReLU(width, 10, kernel_size=1)
'''


def test_a_subclass_reads_its_base_and_a_sequential_subclass_runs_in_order():
    """torchvision's ConvBNReLU is an nn.Sequential: its layers come from super().__init__
    and run in order (no custom-module note); Net's own layers follow its base's."""
    r = import_text(INHERITED)
    assert r.class_name == "Net"
    assert names(r) == ["stem.0", "stem.1", "stem.2", "head.0", "head.1", "head.2"]
    assert r.config.layers[0].kwargs == {"in_channels": 3, "out_channels": 16, "kernel_size": 3,
                                         "stride": 2, "padding": 1, "bias": False}
    assert r.config.layers[3].kwargs["kernel_size"] == 1
    assert "padding" not in r.config.layers[3].kwargs  # (1 - 1) // 2 is torch's default, 0
    text = joined(r)
    assert "line 24: layers made inside a loop or condition are not read" in text
    assert "custom module" not in text
