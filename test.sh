#!/usr/bin/env bash
# Set everything up (system libraries, .venv with test tools), check, audit the locked
# dependencies (scripts/audit.py), then run the whole test suite.
# Arguments go to pytest, e.g. ./test.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --dev
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Known vulnerabilities in the locked dependencies; one line and no failure when offline.
.venv/bin/python scripts/audit.py
exec .venv/bin/pytest -q "$@"
