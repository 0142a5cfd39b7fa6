"""File > Paste PyTorch Code, driven the way a user does: what the preview advises where the
layers do not chain, and the chooser for code with several classes."""

from __future__ import annotations

from PySide6.QtCore import Qt

from convexplorer.gui.code_dialog import CodeDialog
from convexplorer.model.spec import Config

MNIST_PRINT = """MNISTConvNet(
  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))
  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (conv2): Conv2d(10, 20, kernel_size=(5, 5), stride=(1, 1))
  (pool2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (fc1): Linear(in_features=320, out_features=50, bias=True)
)"""

BRANCHED_PRINT = """Net(
  (conv1): Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
  (block): BasicBlock(
    (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    (shortcut): Sequential(
      (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
    )
  )
)"""

MODELS = """import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(8, 1, 3)
"""


def _dialog(qtbot, text: str) -> CodeDialog:
    dialog = CodeDialog(None, Config(), (1, 1, 28, 28))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editor.setPlainText(text)
    dialog.parse_now()
    return dialog


def _items(dialog) -> list[str]:
    return [dialog.preview.item(i).text() for i in range(dialog.preview.count())]


def test_preview_and_notes_give_the_flatten_fix_first(qtbot):
    """Item 10b: the preview advised "set in_features to 4" for fc1, before the dialog's own
    note that a Flatten is missing (a feature count that cannot be right)."""
    dialog = _dialog(qtbot, MNIST_PRINT)
    fc1 = next(t for t in _items(dialog) if t.startswith("fc1 (Linear)"))
    assert "\u26a0 insert a Flatten before fc1 (Linear): it gives the 320 features" in fc1
    assert "set in_features" not in fc1
    notes = dialog.notes_view.toPlainText()
    assert notes.startswith("\u2022 insert a Flatten before fc1 (Linear)")
    assert "set in_features" not in notes
    qtbot.mouseClick(dialog.fix_button, Qt.MouseButton.LeftButton)
    assert not any("\u26a0" in t for t in _items(dialog))


def test_preview_calls_a_break_in_a_custom_block_a_branch(qtbot):
    """Item 20: "set in_channels to 128" on the shortcut conv cannot be right."""
    dialog = _dialog(qtbot, BRANCHED_PRINT)
    shortcut = next(t for t in _items(dialog) if t.startswith("block.shortcut.0 (Conv2d)"))
    assert "it is inside block (BasicBlock), whose forward() probably runs branches" in shortcut
    assert "set in_channels" not in shortcut
    assert "set in_channels" not in dialog.notes_view.toPlainText()


def test_class_chooser_picks_the_class_to_read(qtbot):
    """Item 22: of several classes one was read without a word; now the note says which and
    the chooser reads another."""
    dialog = _dialog(qtbot, MODELS)
    assert dialog.class_combo.isVisible()
    assert [dialog.class_combo.itemText(i) for i in range(dialog.class_combo.count())] == \
        ["Encoder", "Decoder"]
    assert dialog.class_combo.currentText() == "Decoder"
    assert "ConvTranspose2d" in _items(dialog)[1]
    assert "choose another in the Class box" in dialog.notes_view.toPlainText()
    dialog.class_combo.setFocus()
    qtbot.keyClick(dialog.class_combo, Qt.Key.Key_Up)
    assert dialog.class_combo.currentText() == "Encoder"
    assert "conv (Conv2d)" in _items(dialog)[1]
    assert "Encoder was read, as asked" in dialog.notes_view.toPlainText()
    dialog.editor.appendPlainText("# an edit keeps the choice")
    dialog.parse_now()
    assert dialog.class_combo.currentText() == "Encoder"
    assert [s.type for s in dialog.result_config().layers] == ["Conv2d"]
    dialog.editor.setPlainText("nn.Sequential(nn.ReLU())")
    dialog.parse_now()
    assert not dialog.class_combo.isVisible()


def test_a_huge_file_is_refused_unread(qtbot, tmp_path):
    dialog = _dialog(qtbot, "")
    path = tmp_path / "huge.py"
    with open(path, "wb") as f:
        f.truncate(5_000_000)
    dialog.load_file(path)
    assert dialog.editor.toPlainText() == ""
    assert "the file has 5,000,000 bytes" in dialog.notes_view.toPlainText()
