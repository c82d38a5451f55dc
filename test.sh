#!/usr/bin/env bash
# Set everything up (system libraries, .venv with test tools), then run the whole test suite.
# Arguments go to pytest, e.g. ./test.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --dev
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest -q "$@"
