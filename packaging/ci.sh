#!/usr/bin/env bash
# The installers' part of CI (.ci/run calls it after the tests): builds the Linux bundle and the .deb with
# the test venv, installs the .deb with apt as a user would, runs the installed /usr/bin/peerwallet's
# --version (must print pyproject's version) and --selftest (offscreen; it also starts the sandbox's Nostr relay from
# the bundle, `peerwallet --nostr-relay`, and round-trips an event through it), then removes the package again.
# Needs the .venv that tests/run.sh made (the project installed, Qt's system libraries present).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { $SUDO apt-get -o DPkg::Lock::Timeout=300 "$@"; }
updated=""
apt_update() {
    if [ -z "$updated" ]; then
        apt_get update -qq || echo "packaging: apt-get update failed; going on with the package lists at hand"
        updated=1
    fi
}

# PyInstaller reads the binaries' links with binutils (objdump); dpkg-deb packs the .deb.
if ! command -v objdump >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    apt_update
    apt_get install -y --no-install-recommends binutils dpkg
fi
.venv/bin/python -m pip install -q 'pyinstaller>=6.10'

rm -rf dist build/pyinstaller build/deb
.venv/bin/python packaging/build.py all

deb=$(ls dist/peerwallet_*.deb)
apt_update  # the package's Depends (Qt's X11 and Wayland libraries) come from the archive
apt_get install -y --no-install-recommends "./$deb"
trap 'apt_get remove -y -qq peerwallet >/dev/null 2>&1 || true' EXIT

expected="peerwallet $(.venv/bin/python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")"
got=$(/usr/bin/peerwallet --version)
if [ "$got" != "$expected" ]; then
    echo "packaging: /usr/bin/peerwallet --version printed '$got', expected '$expected'" >&2
    exit 1
fi
echo "packaging: installed $got"
QT_QPA_PLATFORM=offscreen /usr/bin/peerwallet --selftest
echo "packaging: bundle $(du -sh dist/peerwallet | cut -f1), $(du -h dist/*.tar.gz | cut -f1) tar.gz, $(du -h "$deb" | cut -f1) .deb"
