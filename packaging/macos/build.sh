#!/usr/bin/env bash
# Builds Peerwallet's macOS disk image: the PyInstaller app bundle (packaging/build.py bundle makes
# dist/Peerwallet.app), ad-hoc signed, then a compressed .dmg with an Applications link ->
# dist/peerwallet-<version>-macos-<arch>.dmg
#
# Run from anywhere on macOS 11+ with Python 3.11+ (python.org or Homebrew): bash packaging/macos/build.sh
# For distribution outside this machine, sign with a Developer ID (CODESIGN_IDENTITY=...) and notarize
# (xcrun notarytool submit ... --wait; xcrun stapler staple ...): not automated here.
# Written for macOS; not run by this project's CI (PyInstaller does not cross-build, hdiutil is macOS-only).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x .venv-mac/bin/python ]; then python3 -m venv .venv-mac; fi
PY=.venv-mac/bin/python
"$PY" -m pip install --upgrade pip
"$PY" -m pip install -e . 'pyinstaller>=6.10'
"$PY" packaging/build.py bundle

APP=dist/Peerwallet.app
VERSION=$("$PY" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")
DMG="dist/peerwallet-${VERSION}-macos-$(uname -m).dmg"

codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$APP"
"$APP/Contents/MacOS/peerwallet" --version
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/peerwallet" --selftest

STAGE=build/dmg
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Peerwallet ${VERSION}" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "dmg: $DMG ($(du -h "$DMG" | cut -f1))"
