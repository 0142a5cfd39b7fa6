"""Recent files and autosave (model.settings), config save -> load round trips, and atomic
saves that leave the old file intact when the process dies or the disk fills mid-save."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convexplorer.model import config_io
from convexplorer.model.config_io import ConfigError, load_config, save_config
from convexplorer.model.settings import (
    Autosave,
    RecentFiles,
    config_dir,
    orphaned_autosaves,
    read_autosave,
    rebase_input,
)
from convexplorer.model.spec import Config, InputSpec, LayerSpec

from ..hostile import crashed_autosave

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "resources" / "examples").glob("*.json"))


# -- config files ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_config_save_load_round_trip(path, tmp_path):
    config = load_config(path)
    out = tmp_path / "again.json"
    save_config(config, out)
    assert load_config(out) == config
    save_config(load_config(out), tmp_path / "third.json")
    assert (tmp_path / "third.json").read_text() == out.read_text()


def test_saved_config_holds_the_whole_setup(tmp_path):
    from convexplorer.model.spec import Objective

    config = Config(layers=(LayerSpec.make("Conv2d", "c", out_channels=3, kernel_size=(3, 1)),),
                    input=InputSpec("random", (2, 1, 9, 9), seed=7, distribution="uniform"),
                    name="set-up", seed=5, device="cuda:1",
                    objective=Objective("unit", 0, 1, 2, (3, 4)))
    save_config(config, tmp_path / "c.json")
    assert load_config(tmp_path / "c.json") == config


@pytest.mark.parametrize("text, message", [
    ('{"version": 2, "layers": []}', "newer than this convexplorer reads"),
    ('{"layers": [', "not valid JSON"),
    ('{"layers": [{"type": "Conv9d"}]}', "unknown layer type"),
])
def test_newer_or_damaged_config_is_refused(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_failed_replace_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    save_config(load_config(EXAMPLES[0]), path)
    before = path.read_text()

    def boom(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(config_io.os, "replace", boom)
    with pytest.raises(OSError):
        save_config(Config(name="new"), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_full_disk_midway_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    save_config(load_config(EXAMPLES[0]), path)
    before = path.read_text()
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(config_io.os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        save_config(Config(name="new"), path)
    monkeypatch.setattr(config_io.os, "fsync", real_fsync)
    assert path.read_text() == before
    assert load_config(path) == load_config(EXAMPLES[0])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_process_killed_mid_save_leaves_the_old_file(tmp_path):
    """A real kill: the child process SIGKILLs itself after writing the temporary file and
    before the rename."""
    path = tmp_path / "c.json"
    save_config(load_config(EXAMPLES[0]), path)
    before = path.read_text()
    script = (
        "import os, signal, sys\n"
        "from convexplorer.model import config_io\n"
        "from convexplorer.model.spec import Config\n"
        "config_io.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"config_io.save_config(Config(name='x' * 100000), {str(path)!r})\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True)
    assert proc.returncode == -9
    assert path.read_text() == before


# -- settings folder and recent files ----------------------------------------------------------


def test_config_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVEXPLORER_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    monkeypatch.delenv("CONVEXPLORER_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert config_dir() == tmp_path / "xdg" / "convexplorer"


def test_recent_files_newest_first_unique_limited_and_kept(tmp_path):
    files = []
    for i in range(12):
        f = tmp_path / f"c{i}.json"
        f.write_text("{}")
        files.append(f)
    recent = RecentFiles(tmp_path / "settings")
    for f in files[:3]:
        recent.add(f)
    recent.add(files[0])
    assert recent.paths() == [files[0], files[2], files[1]]
    assert RecentFiles(tmp_path / "settings").paths() == recent.paths()  # a restart
    for f in files:
        recent.add(f)
    assert len(recent.paths()) == 10 and recent.paths()[0] == files[-1]
    files[-1].unlink()
    assert recent.prune() == [files[-1]]
    assert files[-1] not in recent.paths()
    recent.remove(files[-2])
    assert files[-2] not in recent.paths()
    recent.clear()
    assert recent.paths() == []


def test_damaged_recent_list_starts_over(tmp_path):
    (tmp_path / "recent.json").write_text("{not json")
    recent = RecentFiles(tmp_path)
    assert recent.paths() == []
    recent.add(tmp_path / "x.json")
    assert recent.paths() == [tmp_path / "x.json"]


# -- autosave ----------------------------------------------------------------------------------


def test_own_autosave_is_not_an_orphan_and_close_removes_it(tmp_path):
    auto = Autosave(tmp_path)
    config = load_config(EXAMPLES[0])
    auto.write(config, tmp_path / "from.json")
    assert auto.exists and read_autosave(auto.file).config == config
    assert read_autosave(auto.file).source == tmp_path / "from.json"
    assert orphaned_autosaves(tmp_path) == []  # this window holds its lock
    auto.clear()  # saved: no autosave, the window still open
    assert not auto.exists and auto.lock_file.exists()
    auto.close()  # a clean close
    assert sorted(tmp_path.iterdir()) == []


def test_autosave_of_a_crashed_process_is_found(tmp_path):
    """A child process autosaves and dies without cleaning up (os._exit, like a crash)."""
    script = (
        "import os, sys\n"
        "from convexplorer.model.settings import Autosave\n"
        "from convexplorer.model.config_io import load_config\n"
        f"Autosave({str(tmp_path)!r}).write(load_config({str(EXAMPLES[0])!r}))\n"
        "os._exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO)
    assert proc.returncode == 3
    [found] = orphaned_autosaves(tmp_path)
    assert found.config == load_config(EXAMPLES[0]) and found.source is None
    assert "autosaved" in found.describe()
    found.discard()
    assert orphaned_autosaves(tmp_path) == [] and sorted(tmp_path.iterdir()) == []


def test_orphans_newest_first_and_damaged_ones_skipped(tmp_path):
    old = crashed_autosave(tmp_path, Config(name="old"))
    crashed_autosave(tmp_path, Config(name="new"))
    data = json.loads(old.file.read_text())
    data["saved_at"] = time.time() - 3600
    old.file.write_text(json.dumps(data))
    (tmp_path / "autosave-20250101T000000-00000001.json").write_text("{damaged")
    (tmp_path / "autosave-20250101T000000-00000002.json").write_text(json.dumps(
        {**data, "config": {"version": 99}}))  # from a newer convexplorer
    assert [a.config.name for a in orphaned_autosaves(tmp_path)] == ["new", "old"]


def _child(tmp_path: Path, name: str, wait: bool) -> subprocess.Popen:
    """A process that, like every start in a container, is PID 1 to itself: it autosaves,
    then waits for a line on stdin (a running window) or dies at once (a crash)."""
    script = (
        "import os, sys\n"
        "os.getpid = lambda: 1\n"
        "from convexplorer.model.settings import Autosave\n"
        "from convexplorer.model.spec import Config\n"
        f"Autosave({str(tmp_path)!r}).write(Config(name={name!r}))\n"
        "print('written', flush=True)\n"
        + ("sys.stdin.readline()\n" if wait else "") + "os._exit(0)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "written\n"
    return proc


@pytest.mark.skipif(sys.platform == "win32", reason="PID namespaces are a Linux matter")
def test_every_start_being_pid_1_neither_hides_nor_overwrites_autosaves(tmp_path, monkeypatch):
    """Issue 16, item 15: in a container each start is PID 1. Autosaves were named by the PID
    (the next start overwrote the last one's) and told apart by it (PID 1 always runs, so a
    crash's autosave was never offered)."""
    for name in ("first crash", "second crash"):
        _child(tmp_path, name, wait=False).communicate(timeout=30)
    running = _child(tmp_path, "still running", wait=True)
    try:
        monkeypatch.setattr(os, "getpid", lambda: 1)  # this process too
        found = sorted(a.config.name for a in orphaned_autosaves(tmp_path))
        assert found == ["first crash", "second crash"]  # both kept; the live one not offered
        mine = Autosave(tmp_path)
        mine.write(Config(name="mine"))
        assert len(list(tmp_path.glob("autosave-*.json"))) == 4  # nothing overwritten
        assert "mine" not in [a.config.name for a in orphaned_autosaves(tmp_path)]
    finally:
        running.communicate("bye\n", timeout=30)
    assert "still running" in [a.config.name for a in orphaned_autosaves(tmp_path)]
    mine.close()


def test_restored_autosave_claimed_is_not_an_orphan_until_discarded(tmp_path):
    crashed_autosave(tmp_path, Config(name="lost"))
    [item] = orphaned_autosaves(tmp_path)
    assert item.claim()  # a window restored it
    assert orphaned_autosaves(tmp_path) == []
    item.discard()
    assert sorted(tmp_path.iterdir()) == []


def test_a_lock_file_left_without_its_autosave_is_cleaned_up(tmp_path):
    (tmp_path / "autosave-20250101T000000-deadbeef.lock").write_text("")
    assert orphaned_autosaves(tmp_path) == []
    assert sorted(tmp_path.iterdir()) == []


# -- temporary files of killed saves (issue 16, item 17) ---------------------------------------

_KILLED_SAVE = (
    "import os, signal, sys\n"
    "from convexplorer.model import config_io\n"
    "from convexplorer.model.spec import Config\n"
    "config_io.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
    "config_io.save_config(Config(name='killed'), sys.argv[1])\n")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_next_save_removes_what_killed_saves_left(tmp_path):
    path = tmp_path / "c.json"
    save_config(Config(name="first"), path)
    for _ in range(3):  # each killed save removes what the one before it left
        proc = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path)], cwd=REPO)
        assert proc.returncode == -9
    assert len(list(tmp_path.glob(".c.json.*.tmp"))) == 1
    other = tmp_path / "other.json"
    save_config(Config(name="other"), other)  # another file's save leaves it alone
    assert len(list(tmp_path.glob(".c.json.*.tmp"))) == 1
    save_config(Config(name="again"), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "other.json"]
    assert load_config(path).name == "again"


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_temporary_file_still_being_written_is_left_alone(tmp_path):
    import fcntl

    path = tmp_path / "c.json"
    busy = tmp_path / ".c.json.abcd1234.tmp"
    with open(busy, "w") as fh:  # another save, mid-write: it holds the lock
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        save_config(Config(name="mine"), path)
        assert busy.exists()
    save_config(Config(name="mine"), path)  # the writer died: now it goes
    assert not busy.exists()


# -- Save As elsewhere -------------------------------------------------------------------------


def test_rebase_keeps_relative_input_pointing_at_the_same_file(tmp_path):
    config = Config(input=InputSpec("image", path="imgs/a.png"))
    moved = rebase_input(config, tmp_path / "old", tmp_path / "new")
    assert moved.input.path == "../old/imgs/a.png"
    assert (tmp_path / "new" / moved.input.path).resolve() == \
        (tmp_path / "old" / "imgs" / "a.png").resolve()
    assert rebase_input(config, tmp_path / "old", tmp_path / "old") == config
    sample = Config(input=InputSpec("image", path="sample:digit7.png"))
    assert rebase_input(sample, tmp_path, tmp_path / "x") == sample
    assert rebase_input(config, None, tmp_path) == config
