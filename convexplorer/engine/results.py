"""What a run hands back: numpy arrays and numbers only, so the GUI can hold them without torch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.spec import Config, Objective


@dataclass
class LayerResult:
    index: int
    name: str  # the spec's name, or the index as nn.Sequential names it
    type: str
    label: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    activation: np.ndarray
    grad_output: np.ndarray | None = None
    indices: np.ndarray | None = None  # max pools with return_indices: flat argmax per output
    indices_from: int | None = None  # MaxUnpool: the layer whose indices it used
    sources: tuple[int | None, ...] = ()  # merges: the layers joined (None: the input)
    grad_fn: str | None = None  # the output's grad_fn, as print(output) names it
    params: dict[str, np.ndarray] = field(default_factory=dict)  # "weight", "bias"
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    buffers: dict[str, np.ndarray] = field(default_factory=dict)  # running stats, as made
    grad_norms: dict[str, float] = field(default_factory=dict)  # L2 norm, like .grad.norm()
    no_grad: tuple[str, ...] = ()  # parameters whose .grad torch left None (zeros in grads)
    param_count: int = 0
    macs: int = 0
    time_ms: float = 0.0


@dataclass
class RunResult:
    config: Config
    device: str
    input: np.ndarray
    grad_input: np.ndarray | None
    layers: list[LayerResult]
    objective: Objective
    objective_label: str
    objective_value: float
    forward_ms: float = 0.0
    backward_ms: float = 0.0
    total_ms: float = 0.0
    generation: int = 0
    tensor_device: str = "cpu"  # the tensors' device as torch prints it ("cuda:0", not "cuda")

    def layer(self, key: int | str) -> LayerResult:
        if isinstance(key, int):
            return self.layers[key]
        for lr in self.layers:
            if lr.name == key:
                return lr
        raise KeyError(key)
