"""What torch prints, without torch: ``print(tensor)``, ``print(t.shape)`` and ``print(model)``
character for character, for the GUI thread (which never imports torch).

The rules live in ``tensor_text`` (tensors, shapes, 0-d values) and ``module_text`` (models);
this module gathers their public names. No Qt and no torch here.
"""

from __future__ import annotations

from .module_text import EXTRA_REPR, layer_str, model_str, model_str_from_report, module_repr
from .tensor_text import element_formatter, scalar_str, size_str, tensor_str

__all__ = ["EXTRA_REPR", "element_formatter", "layer_str", "model_str", "model_str_from_report",
           "module_repr", "scalar_str", "size_str", "tensor_str"]
