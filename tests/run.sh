#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it.
# Usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# System packages: a compiler and headers for the small C filter kernel, and Qt's runtime libraries.
PKGS="python3 python3-venv python3-dev build-essential libegl1 libgl1 libglib2.0-0 libfontconfig1
      libfreetype6 libxkbcommon0 libdbus-1-3 libx11-6"
if command -v apt-get >/dev/null 2>&1; then
    missing=""
    for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
        # shellcheck disable=SC2086
        $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $missing
    fi
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/python -m ruff check core tests $( [ -d app ] && echo app ) $( [ -d packaging ] && echo packaging )
exec .venv/bin/python -m pytest "$@"
