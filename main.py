"""Start convexplorer: the window, or a headless command (see ``python main.py --help``)."""

from convexplorer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
