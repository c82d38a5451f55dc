#!/usr/bin/env bash
# Set everything up, then start the inspector (window + listener on 127.0.0.1:8765).
# Arguments are passed on, e.g. ./run.sh listen --port 9000
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/fluent-inspector "$@"
