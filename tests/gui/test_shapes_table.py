"""The shapes table on its own: it shows each report's cells, colours and run times, also when
it only changes the cells that differ from what it shows."""

from __future__ import annotations

from types import SimpleNamespace

from convexplorer.gui.shapes_table import ERROR, ShapesTable
from convexplorer.model.shapes import infer
from convexplorer.model.spec import LayerSpec

L = LayerSpec.make
SHAPE = (1, 1, 28, 28)


def layers(out_channels: int = 10, kernel_size: int = 5):
    return (L("Conv2d", in_channels=1, out_channels=out_channels, kernel_size=kernel_size),
            L("ReLU"), L("MaxPool2d", kernel_size=2))


def fake_result(report, ms: float):
    """What the table reads from a RunResult: the config's layers and per-layer times."""
    return SimpleNamespace(
        config=SimpleNamespace(layers=tuple(info.spec for info in report.layers)),
        layers=[SimpleNamespace(index=i.index, output_shape=i.output_shape, time_ms=ms)
                for i in report.layers])


def cells(table, row):
    return [table.item(row, c).text() for c in range(table.columnCount())]


def is_red(table, row, column) -> bool:
    return table.item(row, column).foreground().color() == ERROR


def test_edits_update_the_cells_colours_widths_and_times(qtbot):
    table = ShapesTable()
    qtbot.addWidget(table)
    table.resize(900, 300)
    table.show()
    first = infer(layers(), SHAPE)
    table.set_report(first)
    assert cells(table, 1)[:2] == ["0 (Conv2d)", "torch.Size([1, 10, 24, 24])"]
    assert cells(table, 4)[1] == "torch.Size([1, 10, 12, 12])"  # total row
    assert table.item(4, 0).font().bold()

    table.set_report(first, fake_result(first, 1.5), 0)  # the result of that report arrives
    assert [cells(table, r)[5] for r in range(1, 5)] == ["1.50", "1.50", "1.50", "4.50"]
    assert table.selectedIndexes() and table.selectedIndexes()[0].row() == 1

    width = table.columnWidth(1)
    wide = infer(layers(out_channels=100000), SHAPE)  # a longer shape: the column widens
    table.set_report(wide, fake_result(first, 1.5))
    assert cells(table, 1)[1] == "torch.Size([1, 100000, 24, 24])"
    assert cells(table, 1)[5] == ""  # the last run's times are not this stack's
    qtbot.waitUntil(lambda: table.columnWidth(1) > width)

    broken = infer(layers(kernel_size=50), SHAPE)  # kernel larger than the input
    table.set_report(broken)
    assert is_red(table, 1, 0) and is_red(table, 1, 1)
    assert "\u26a0" in table.item(1, 3).toolTip()
    table.set_report(first)
    assert not is_red(table, 1, 0) and cells(table, 1)[1] == "torch.Size([1, 10, 24, 24])"
    assert "\u26a0" not in table.item(1, 3).toolTip()

    shorter = infer(layers()[:1], SHAPE)  # rows go, the total row moves up
    table.set_report(shorter)
    assert table.rowCount() == 3 and cells(table, 2)[0] == "total"
    assert table.item(2, 0).font().bold() and not table.item(1, 0).font().bold()
    table.set_report(first)
    assert table.rowCount() == 5 and not table.item(2, 0).font().bold()
    assert cells(table, 2)[0] == "1 (ReLU)"
