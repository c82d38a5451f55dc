"""Guard against PySide6 6.12.0: on Python 3.11 each Signal.emit() drops one reference to
``True``; after a few hundred emits the interpreter aborts with ``Fatal Python error:
bool_dealloc``. pyproject pins ``PySide6-Essentials<6.12`` for this; keep this test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import PySide6

_SCRIPT = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Emitter(QObject):
        fired = Signal(object)

    app = QCoreApplication([])
    emitter = Emitter()
    received = []
    emitter.fired.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(500):
        emitter.fired.emit(i)
        app.processEvents()
    after = sys.getrefcount(True)
    print(f"received={len(received)} before={before} after={after}")
    sys.exit(0 if len(received) == 500 and before - after < 50 else 3)
    """
)


def test_signal_emit_does_not_leak_references_to_true() -> None:
    # A subprocess, so an interpreter abort fails this test instead of killing pytest.
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "bool_dealloc" not in output, output
    assert proc.returncode == 0, (
        f"Signal.emit() corrupts the refcount of True with PySide6 {PySide6.__version__} "
        f"(exit {proc.returncode}):\n{output}"
    )
    assert "received=500" in proc.stdout


def test_pyside_is_not_the_broken_release() -> None:
    assert PySide6.__version__ != "6.12.0", (
        "PySide6 6.12.0 aborts Python 3.11 after a few hundred Signal.emit() calls "
        "(bool refcount bug); install the version pinned in pyproject.toml "
        "(PySide6-Essentials>=6.9,<6.12)."
    )
