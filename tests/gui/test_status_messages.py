"""A status-bar message is never squeezed out by the demo's long status line (a newcomer walk
saw only "Open folder" after an export while the demo ran)."""

from __future__ import annotations


def test_the_demo_line_steps_aside_while_a_message_shows(qtbot, main_window) -> None:  # type: ignore[no-untyped-def]
    window = main_window
    label = window.demo_label
    label.setText("Demo: sandbox at http://127.0.0.1:1, order-lifecycle played (6 webhooks)")
    label.show()
    window.statusBar().showMessage("Exported 8 captures to /tmp/out.jsonl")
    assert not label.isVisible()
    window.statusBar().clearMessage()
    assert label.isVisible()
    label.clear()
    window.statusBar().showMessage("x")
    window.statusBar().clearMessage()
    assert not label.isVisible()  # no demo running: stays hidden
