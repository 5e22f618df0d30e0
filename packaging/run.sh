#!/usr/bin/env bash
# Installs what the app needs on a fresh Debian machine (packaging/setup.sh app) and opens it; by default on
# the sandbox network: a local chain, relay and trading bots, and a funded wallet, all offline.
# Usage: bash packaging/run.sh [peerwallet options, e.g. --network signet]
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/setup.sh app
if [ "$#" -eq 0 ]; then set -- --network sandbox; fi
exec .venv/bin/peerwallet "$@"
