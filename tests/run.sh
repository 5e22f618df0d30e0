#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (packaging/setup.sh test), then runs it.
# Usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/setup.sh test
.venv/bin/python -m ruff check core tests app packaging
exec .venv/bin/python -m pytest "$@"
