"""Who the app is: its names, desktop id, version and default data folder.

Imports neither Qt nor the core, so `peerwallet --version` answers without loading either (a
missing system library of Qt then still leaves the version readable).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import platformdirs

#: The distribution (pyproject's `name`), the commands' name and the data folder's name.
APP_NAME = "peerwallet"
DISPLAY_NAME = "Peerwallet"
#: Reverse-DNS id shared by the desktop entry, the AppStream metainfo and the icon files.
APP_ID = "org.peerwallet.Peerwallet"


def app_version() -> str | None:
    """The installed package's version (from its metadata), or None when it is not installed."""
    try:
        return version(APP_NAME)
    except PackageNotFoundError:
        return None


def default_datadir() -> Path:
    """The per-user data directory (XDG on Linux, Application Support on macOS, AppData on Windows)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)
