#!/usr/bin/env bash
# Sets up everything the app (and, with --dev, the tests) need: the system libraries Qt loads
# on Debian/Ubuntu, a virtualenv in .venv, and the project installed into it.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

# Qt's xcb/offscreen plugins load these at run time; pip cannot provide them.
qt_debs=(libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
         libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0)
test_debs=(xvfb xauth openssl)

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  wanted=("${qt_debs[@]}")
  [ "$dev" = 1 ] && wanted+=("${test_debs[@]}")
  missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)" >&2
  $python -m venv .venv
fi

# Exact versions with hashes (requirements/*.txt, made by scripts/lock.sh from pyproject.toml's
# ranges), so a fresh clone gets what CI tested: a PySide6 release once crashed this app.
lock=requirements/app.txt
[ "$dev" = 1 ] && lock=requirements/dev.txt
stamp=".venv/.installed-$(basename "$lock" .txt)"
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the locked dependencies ($lock) and the project into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r "$lock"
  # The project itself, editable, built by the locked hatchling; its dependencies are above.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps \
    --no-build-isolation -e .
  touch "$stamp"
fi
