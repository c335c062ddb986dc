#!/usr/bin/env bash
# Screenshots of the main pages, for the README: runs the browser journeys (real engine, real
# server, headless Chromium) and saves the pages they visit under docs/screenshots/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARENA_SETUP_SERVICES=${ARENA_SETUP_SERVICES-browser} bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
ARENA_SCREENSHOTS="$ROOT/docs/screenshots" "$ROOT/.venv/bin/python" -m pytest -q tests/arena/web/test_browser.py "$@"
echo "screenshots in docs/screenshots/"
