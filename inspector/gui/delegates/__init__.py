"""Item delegates shared by the inspector's views."""

from inspector.gui.delegates.verdict_badge import VERDICT_ROLE, VerdictBadgeDelegate

__all__ = ["VERDICT_ROLE", "VerdictBadgeDelegate"]
