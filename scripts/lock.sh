#!/usr/bin/env bash
# Refreshes the lock files from pyproject.toml's ranges: exact versions with hashes for every
# platform, so a fresh clone installs what CI tested. Run it after changing a dependency,
# then run ./test.sh and commit pyproject.toml with requirements/*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
if ! command -v "$uv" >/dev/null 2>&1; then
  echo "lock: needs uv (pip install uv), or UV=/path/to/uv" >&2
  exit 2
fi
common=(--universal --python-version 3.11 --generate-hashes --quiet --no-header)
"$uv" pip compile "${common[@]}" pyproject.toml requirements/build.in -o requirements/app.txt
"$uv" pip compile "${common[@]}" --extra dev pyproject.toml requirements/build.in \
  -o requirements/dev.txt
echo "lock: wrote requirements/app.txt and requirements/dev.txt" >&2
