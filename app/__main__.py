"""`peerwallet` / `python -m app`: starts the desktop window.

The window is built under its own issue; until then this entry point says so plainly instead of
pretending to start.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Entry point of the `peerwallet` command."""
    print("peerwallet: the desktop window is not built yet; use peerwallet-cli", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
