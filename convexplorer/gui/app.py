"""Start the window: ``python main.py [CONFIG.json]``, or ``--screenshot OUT.png`` to save the
window as PNG once the first results are drawn, then exit (works headless)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..model.config_io import ConfigError, load_config
from ..model.files import short_path
from ..resources_path import DEFAULT_EXAMPLE, example_path

SCREENSHOT_TIMEOUT_S = 120  # the first run imports torch; a slow machine needs a while
SCREENSHOT_UNWRITABLE = "--screenshot {path}: cannot write ({reason})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="convexplorer",
        description="Open the convexplorer window on CONFIG (default: the bundled "
                    "MNISTConvNet example). Headless commands: convexplorer run|shapes|import "
                    "--help.")
    p.add_argument("config", nargs="?", help="config file (JSON) to open")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="save the window as PNG once the first results are drawn, then exit")
    return p


def default_config():
    """The bundled MNISTConvNet example, opened as a new, untitled config."""
    return load_config(example_path(DEFAULT_EXAMPLE))


def initial_config(path: str | None):
    """(config, path, error): the config to open, its file (None for the bundled default) and
    why ``path`` could not be opened ("" if it could)."""
    if path:
        try:
            return load_config(path), Path(path), ""
        except ConfigError as exc:
            return default_config(), None, str(exc)
    return default_config(), None, ""


def _needs_offscreen() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


# Platforms that draw without a display (QT_QPA_PLATFORM=offscreen, ...).
HEADLESS_PLATFORMS = {"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs",
                      "vkkhrdisplay"}
NO_DISPLAY = ("no display found ({reason}); use --screenshot OUT.png to save the window as "
              "PNG, or run it on a desktop or under Xvfb (xvfb-run python main.py)")
NO_XCB_CURSOR = ("Qt's xcb platform cannot load, because {library} is missing; install it "
                 "(e.g. sudo apt install libxcb-cursor0), or use --screenshot OUT.png")


def _xcb_cursor_missing() -> bool:
    """Whether libxcb-cursor, which Qt 6.5+ needs for its xcb platform, fails to load."""
    import ctypes

    try:
        ctypes.CDLL("libxcb-cursor.so.0")
    except OSError:
        return True
    return False


def display_problem(environ=None, platform: str | None = None) -> str | None:
    """Why Qt would abort for want of a display (it kills the process, exit 134, with a long
    message about xcb-cursor0), as one sentence; None if a window can open."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if chosen in HEADLESS_PLATFORMS:
        return None
    x11, wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if chosen.startswith("wayland"):
        return None if wayland else NO_DISPLAY.format(reason="QT_QPA_PLATFORM is " + chosen +
                                                      " but WAYLAND_DISPLAY is not set")
    if chosen == "xcb" and not x11:
        return NO_DISPLAY.format(reason="QT_QPA_PLATFORM is xcb but DISPLAY is not set")
    if chosen not in ("", "xcb"):
        return None  # a platform we do not know: let Qt decide
    if not x11 and not wayland:
        return NO_DISPLAY.format(reason="neither DISPLAY nor WAYLAND_DISPLAY is set")
    if (chosen == "xcb" or not wayland) and _xcb_cursor_missing():
        return NO_XCB_CURSOR.format(library="libxcb-cursor.so.0")
    return None


# Harmless notes of Qt's headless (offscreen) platform, dropped so --screenshot prints only
# what matters.
_QUIET = ("This plugin does not support propagateSizeHints()",)


def _qt_message(mode, context, message: str) -> None:
    if not message.startswith(_QUIET):
        print(message, file=sys.stderr)


def make_app():
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        qInstallMessageHandler(_qt_message)

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "convexplorer"])
        app.setStyle("Fusion")
    app.setApplicationName("convexplorer")
    app.setOrganizationName("convexplorer")
    return app


def take_screenshot(app, window, out: str, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> int:
    """Wait until the first results are drawn (or the run fails), save the window as PNG."""
    from PySide6.QtCore import QEventLoop, QTimer

    from .runner import RUNNING, WAITING

    loop = QEventLoop()
    outcome = {"state": "timeout"}

    def finish(state: str) -> None:
        outcome["state"] = state
        QTimer.singleShot(50, loop.quit)  # let the drawn results be painted once

    window.runner.resultShown.connect(lambda _r: finish("shown"))
    window.runner.runFailed.connect(lambda msg, _p: finish("failed: " + msg))
    window.start()
    if window.runner.state in (WAITING, RUNNING):
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
    else:
        problems = window.report.problems if window.report is not None else []
        if problems:
            outcome["state"] = f"not run: {problems[0]}"
        elif window.memory_banner.isVisible():  # above the memory limit: nobody to ask
            outcome["state"] = f"not run: {window.memory_banner.text.lstrip(chr(0x26a0) + ' ')}"
        else:
            outcome["state"] = f"not run ({window.runner.state})"
    app.processEvents()
    problem = screenshot_problem(out)
    saved = not problem and window.grab().save(str(out), "PNG")
    window.close()
    window.shutdown()
    if not saved:
        reason = problem or "the PNG could not be written"
        print(f"convexplorer: {SCREENSHOT_UNWRITABLE.format(path=short_path(out), reason=reason)}",
              file=sys.stderr)
        return 1
    if outcome["state"] == "timeout":
        print(f"convexplorer: --screenshot: no results after {timeout_s:g} s; saved the window "
              "as it was", file=sys.stderr)
        return 1
    if outcome["state"] != "shown":
        print(f"convexplorer: --screenshot: {outcome['state']}", file=sys.stderr)
    return 0


def screenshot_problem(out: str) -> str:
    """Why a screenshot cannot be written to ``out`` ("" if it can): its folder is made if
    missing; a folder in its place, a read-only folder or a path too long is a reason."""
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            return "it is a folder"
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return f"no permission to write in {short_path(path.parent)}"
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def open_main_window(path: str | None, **kwargs):
    """The window on the config at ``path`` (the bundled example when None), shown. A config
    that cannot be opened (missing, damaged, newer version, unknown key) is reported on stderr
    and in a message box, and the bundled example opens instead."""
    from .main_window import MainWindow

    config, cpath, error = initial_config(path)
    if error:
        print(f"convexplorer: {error}", file=sys.stderr)
    window = MainWindow(config, cpath, **kwargs)
    window.show()
    if error:
        window.show_error("Cannot open config", f"{error}\n\nOpened the bundled example "
                                                "instead.")
    return window


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    problem = screenshot_problem(args.screenshot) if args.screenshot else ""
    if problem:  # said before the window opens, not after a run
        print(f"convexplorer: "
              f"{SCREENSHOT_UNWRITABLE.format(path=short_path(args.screenshot), reason=problem)}",
              file=sys.stderr)
        return 1
    if args.screenshot and _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    problem = display_problem()
    if problem is not None:  # say so before Qt aborts the process
        print(f"convexplorer: {problem}", file=sys.stderr)
        return 2
    app = make_app()
    window = open_main_window(args.config)
    # from here on an exception escaping a slot or a thread opens a dialog, not a silent print
    window.errors.install()
    try:
        if args.screenshot:
            return take_screenshot(app, window, args.screenshot)
        code = app.exec()
        window.shutdown()
        return code
    finally:
        window.errors.uninstall()
