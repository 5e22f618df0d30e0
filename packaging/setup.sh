#!/usr/bin/env bash
# Prepares a fresh Debian machine for Peerwallet from a checkout: the system packages (a compiler for the
# small C filter kernel, Qt's runtime libraries) and a .venv with the project installed.
# Usage: bash packaging/setup.sh test   (+ test tools)      bash packaging/setup.sh app   (+ a real display's libraries)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-test}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PKGS="python3 python3-venv python3-dev build-essential libegl1 libgl1 libglib2.0-0 libfontconfig1
      libfreetype6 libxkbcommon0 libdbus-1-3 libx11-6"
if [ "$what" = "app" ]; then
    # Qt's X11 (xcb) and Wayland platform plugins, for a window on a real desktop.
    PKGS="$PKGS libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
          libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libwayland-client0
          libwayland-cursor0 libwayland-egl1"
fi
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
if [ "$what" = "app" ]; then
    .venv/bin/python -m pip install -q -e '.[sandbox]'
else
    .venv/bin/python -m pip install -q -e '.[test]'
fi
