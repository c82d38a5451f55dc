"""A user's clone has only this repository: nothing here may read the team's ``shared/`` folder.

The suite once passed only beside our own folders (27 tests read the Fluent schema from the
team folder beside the repo); this keeps that from coming back in tests, bench, scripts, app.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Built from parts so this file does not match itself.
_SHARED = "sha" + "red"
_PATTERNS = (
    re.compile(r"\.\./" + _SHARED + r"\b"),
    re.compile(r"""["']""" + _SHARED + r"""["']"""),
    re.compile(r"parents\[\d\]\s*/\s*['\"]" + _SHARED),
)
_SUFFIXES = {".py", ".sh", ".toml", ".cfg", ".ini", ".json", ".graphql", ""}


def _files() -> list[Path]:
    files = [ROOT / "run.sh", ROOT / "test.sh", ROOT / "pyproject.toml"]
    for folder in ("tests", "bench", "scripts", "inspector", ".ci"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in _SUFFIXES and "__pycache__" not in p.parts
        ]
    return files


def test_nothing_refers_to_the_shared_folder() -> None:
    offenders = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in _PATTERNS):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "ship what these need inside the project:\n" + "\n".join(offenders)


def test_the_check_catches_a_reference() -> None:
    line = "SCHEMA = Path(__file__).parents[3] / " + repr(_SHARED) + " / 'x.json'"
    assert any(p.search(line) for p in _PATTERNS)
    assert any(p.search("see ../" + _SHARED + "/design.md") for p in _PATTERNS)
