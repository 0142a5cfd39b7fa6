"""The Help menu's windows: About, and a short guide to the parameters students ask about,
drawn from the catalogue's help texts (the same words as the form's tooltips)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout

from .. import __version__
from ..model.catalogue import CATALOGUE

# (title, layer type, parameter) in the order a course would explain them
CONCEPTS = (
    ("kernel_size", "Conv2d", "kernel_size"),
    ("stride", "Conv2d", "stride"),
    ("padding", "Conv2d", "padding"),
    ("dilation", "Conv2d", "dilation"),
    ("groups", "Conv2d", "groups"),
    ("ceil_mode", "MaxPool2d", "ceil_mode"),
    ("return_indices", "MaxPool2d", "return_indices"),
    ("output_padding (ConvTranspose2d)", "ConvTranspose2d", "output_padding"),
    ("output_size (AdaptiveAvgPool2d)", "AdaptiveAvgPool2d", "output_size"),
)

FORMULA = ("H_out = floor((H_in + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1 "
           "(ceil instead of floor with ceil_mode=True)")


def concepts_html() -> str:
    """The guide as HTML: one section per parameter, text from the catalogue."""
    parts = ["<h2>What do these parameters do?</h2>",
             "<p>The same text appears as the tooltip of each field and in the help line under "
             "the layer form. The shapes table's tooltips show the output-size formula with "
             "your numbers:</p>", f"<p><tt>{html.escape(FORMULA)}</tt></p>"]
    for title, type_name, param in CONCEPTS:
        help_text = CATALOGUE[type_name].param(param).help
        parts.append(f"<h3><tt>{html.escape(title)}</tt></h3><p>{html.escape(help_text)}</p>")
    return "\n".join(parts)


def about_text() -> str:
    return (f"<h3>convexplorer {__version__}</h3>"
            "<p>See what torch.nn convolution and pooling layers do: assemble a stack, and "
            "watch every layer's output shape, activations, max-pool indices and gradients "
            "update as you edit.</p>"
            "<p>Built with PySide6, pyqtgraph, NumPy and PyTorch.</p>")


def show_about(parent) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "About convexplorer", about_text(),
                      QMessageBox.StandardButton.Close, parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box


class ConceptsDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Layer parameters explained - convexplorer")
        self.resize(620, 640)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser(self)
        self.browser.setHtml(concepts_html())
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
