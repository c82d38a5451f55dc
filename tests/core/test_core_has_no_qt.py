"""inspector.core is a library usable from scripts: importing all of it must not load Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import inspector.core


def test_importing_every_core_module_loads_no_qt() -> None:
    # Recursive: the sandbox and fluent packages hold modules of their own.
    modules = [
        info.name for info in pkgutil.walk_packages(inspector.core.__path__, "inspector.core.")
    ]
    assert "inspector.core.capture" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(','.join(qt))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"inspector.core pulled in Qt: {result.stdout}"
