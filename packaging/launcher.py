"""PyInstaller's entry script: the bundle's `peerwallet` executable runs the installed command's main."""

import sys

from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
