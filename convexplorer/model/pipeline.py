"""The one observable pipeline the window edits: the config, the selected layer, the file it
came from, and undo/redo as a stack of config snapshots. Qt-free; views subscribe.

Every real change emits exactly one event; ``batch()`` groups several edits into one event and
one undo step.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .merges import follow_references
from .spec import Config, InputSpec, LayerSpec, Objective, Unit

UNDO_LIMIT = 500


@dataclass(frozen=True)
class PipelineEvent:
    kind: str  # "config" (layers/input/device/...), "selection", "unit" (the picked value),
    # "file" (path or saved state)
    config: Config
    selection: int | None
    label: str = ""


Listener = Callable[[PipelineEvent], None]


class Pipeline:
    def __init__(self, config: Config | None = None, path: str | Path | None = None):
        self._config = config or Config()
        self._selection: int | None = 0 if self._config.layers else None
        self._path = Path(path) if path else None
        self._saved: Config | None = self._config if path else None
        self._undo: list[tuple[Config, str]] = []
        self._redo: list[tuple[Config, str]] = []
        self._listeners: list[Listener] = []
        self._batch_depth = 0
        self._batch_start: Config | None = None
        self._batch_label = ""
        self._batch_selected = False
        self._merge_key: object = None  # edits with the same key in a row share one undo step
        self._unit: Unit | None = None  # the value picked in a table or map, shown everywhere

    # -- observing ---------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, label: str = "") -> None:
        event = PipelineEvent(kind, self._config, self._selection, label)
        for listener in list(self._listeners):
            listener(event)

    # -- state -------------------------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self._config

    @property
    def selection(self) -> int | None:
        return self._selection

    @property
    def unit(self) -> Unit | None:
        """The value the user picked (a table cell, a map unit): every panel shows it."""
        return self._unit

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def base_dir(self) -> Path | None:
        """Folder that relative input paths are read from."""
        return self._path.resolve().parent if self._path else None

    @property
    def dirty(self) -> bool:
        """Unsaved changes: the config differs from the last saved or opened one."""
        if self._saved is None:
            return bool(self._undo)
        return self._config != self._saved

    # -- edits -------------------------------------------------------------------------------
    def set_config(self, config: Config, label: str = "edit", merge: object = None) -> None:
        """Replace the config: one undo step and one event (none if nothing changed).

        ``merge``: consecutive edits with the same (non-None) key share one undo step, so
        typing "128" into a field is one step, not three. ``end_merge()`` starts a new step.
        """
        if config == self._config:
            return
        if self._batch_depth:
            self._config = config
            self._batch_label = self._batch_label or label
            return
        if merge is None or merge != self._merge_key or not self._undo:
            self._push_undo(self._config, label)
        else:
            self._redo.clear()
        self._merge_key = merge
        self._config = config
        self._clamp_selection()
        self._emit("config", label)

    def end_merge(self) -> None:
        """The next edit starts a new undo step even if its merge key repeats."""
        self._merge_key = None

    def _push_undo(self, config: Config, label: str) -> None:
        self._merge_key = None
        self._undo.append((config, label))
        del self._undo[:-UNDO_LIMIT]
        self._redo.clear()

    def _clamp_selection(self) -> None:
        n = len(self._config.layers)
        if n == 0:
            self._selection = None
        elif self._selection is None or self._selection >= n:
            self._selection = n - 1

    @contextmanager
    def batch(self, label: str = "edit"):
        """Several edits, one undo step and one event (a "config" event, whose ``selection``
        tells a selection made inside the batch)."""
        if self._batch_depth == 0:
            self._batch_start = self._config
            self._batch_label = label
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                start, self._batch_start = self._batch_start, None
                selected, self._batch_selected = self._batch_selected, False
                if start is not None and start != self._config:
                    self._push_undo(start, self._batch_label)
                    self._clamp_selection()
                    self._emit("config", self._batch_label)  # carries the selection too
                elif selected:
                    self._emit("selection")

    def replace_layer(self, index: int, spec: LayerSpec, label: str = "",
                      merge: object = None) -> None:
        layers = list(self._config.layers)
        layers[index] = spec
        self.set_config(self._config.with_layers(layers), label or f"edit {spec.type}", merge)

    def _with_layers(self, layers, new_index) -> Config:
        """The config with ``layers`` (the stack after an edit), the merges' references kept on
        the layers they named (``new_index[old]``: where old layer went; None: removed)."""
        return self._config.with_layers(
            follow_references(self._config.layers, layers, new_index))

    def insert_layer(self, index: int, spec: LayerSpec) -> None:
        layers = list(self._config.layers)
        index = max(0, min(index, len(layers)))
        layers.insert(index, spec)
        new_index = [i if i < index else i + 1 for i in range(len(layers) - 1)]
        with self.batch(f"add {spec.type}"):
            self.set_config(self._with_layers(layers, new_index))
        self.select(index)

    def append_layer(self, spec: LayerSpec) -> None:
        self.insert_layer(len(self._config.layers), spec)

    def remove_layer(self, index: int) -> None:
        layers = list(self._config.layers)
        spec = layers.pop(index)
        new_index = [None if i == index else i - (i > index) for i in range(len(layers) + 1)]
        self.set_config(self._with_layers(layers, new_index), f"remove {spec.type}")

    def move_layer(self, src: int, dst: int) -> None:
        """Move layer ``src`` so that it ends up at index ``dst``."""
        layers = list(self._config.layers)
        if not (0 <= src < len(layers)) or not (0 <= dst < len(layers)) or src == dst:
            return
        order = list(range(len(layers)))
        order.insert(dst, order.pop(src))
        spec = layers.pop(src)
        layers.insert(dst, spec)
        self.set_config(self._with_layers(layers, [order.index(i) for i in range(len(order))]),
                        f"move {spec.type}")
        self.select(dst)

    def rename_layer(self, index: int, name: str | None, merge: object = None) -> None:
        """Rename layer ``index``; merges that name it follow the new name (or its index when
        the name is cleared)."""
        layers = list(self._config.layers)
        layers[index] = layers[index].renamed(name)
        self.set_config(self._with_layers(layers, list(range(len(layers)))), "rename layer",
                        merge)

    def set_input(self, spec: InputSpec) -> None:
        self.set_config(replace(self._config, input=spec), "change input")

    def set_device(self, device: str) -> None:
        self.set_config(replace(self._config, device=device), "change device")

    def set_seed(self, seed: int) -> None:
        self.set_config(replace(self._config, seed=seed), "change seed")

    def set_objective(self, objective: Objective) -> None:
        self.set_config(replace(self._config, objective=objective), "change objective")

    def set_name(self, name: str) -> None:
        self.set_config(replace(self._config, name=name), "rename config")

    def select(self, index: int | None) -> None:
        if index is not None and not (0 <= index < len(self._config.layers)):
            index = None
        if index != self._selection:
            self._selection = index
            if self._batch_depth:
                self._batch_selected = True  # told once, when the batch ends
            else:
                self._emit("selection")

    def pick_unit(self, unit: Unit | None) -> None:
        """Pick one value of the input or of a layer's output (not an edit: no undo step)."""
        if unit is not None and unit.layer is not None and not (
                0 <= unit.layer < len(self._config.layers)):
            unit = None
        if unit != self._unit:
            self._unit = unit
            self._emit("unit")

    # -- undo --------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return self._undo[-1][1] if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1][1] if self._redo else ""

    def undo(self) -> None:
        self._step(self._undo, self._redo, "undo")

    def redo(self) -> None:
        self._step(self._redo, self._undo, "redo")

    def _step(self, source: list, target: list, word: str) -> None:
        """Go back to ``source``'s last config, keeping the current one on ``target``."""
        if not source:
            return
        self._merge_key = None
        config, label = source.pop()
        target.append((self._config, label))
        self._config = config
        self._clamp_selection()
        self._emit("config", f"{word} {label}")

    # -- files -------------------------------------------------------------------------------
    def load(self, config: Config, path: str | Path | None = None) -> None:
        """Start over on a config (New / Open): clears undo history and the unsaved mark."""
        self._config = config
        self._path = Path(path) if path else None
        self._saved = config if path else None
        self._undo.clear()
        self._redo.clear()
        self._merge_key = None
        self._selection = 0 if config.layers else None
        self._unit = None
        self._emit("config", "open")
        self._emit("file")

    def mark_saved(self, path: str | Path) -> None:
        self._path = Path(path)
        self._saved = self._config
        self._merge_key = None
        self._emit("file")
