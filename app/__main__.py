"""`peerwallet` / `python -m app`: the command line, then the desktop window on a qasync loop (app/launch.py).

`--version` prints the installed package's version without loading Qt or the core. `--selftest`
checks an installation end to end (app/selftest.py) and `--screenshots DIR` saves every page (both
offscreen when no display is set).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.appinfo import APP_NAME, app_version, default_datadir
from core.settings import NETWORKS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="peerwallet", description="Peerwallet: a Bitcoin wallet with its own light node.")
    parser.add_argument(
        "--network", choices=NETWORKS, default=None,
        help="chain to use (default: the one in the settings, at first sandbox: a local test chain)",
    )
    parser.add_argument("--datadir", type=Path, default=None, help=f"data directory (default {default_datadir()})")
    parser.add_argument("--screenshots", type=Path, default=None, metavar="DIR", help="save a PNG of every page into DIR and exit")
    parser.add_argument(
        "--wizard", action="store_true",
        help="show the first-run wizard on the sandbox network too (when it has no wallet yet)",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--selftest", action="store_true",
        help="check this installation: start a throwaway sandbox, open the window, render every page; exit 0 if all work",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `peerwallet` command."""
    args = parse_args(argv)
    if args.version:
        version = app_version()
        if version is None:
            print(f"{APP_NAME}: the package is not installed (no metadata to read the version from)", file=sys.stderr)
            return 1
        print(f"{APP_NAME} {version}")
        return 0
    headless = args.selftest or args.screenshots is not None
    if headless and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.launch import run  # Qt and the core load from here on

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
