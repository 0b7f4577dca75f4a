"""A case's deadline state for the API (``due``), from the core's one definition (services/core/figures.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.core import figures as fig
from services.tracker.models import Case


def clock(case: Case) -> fig.Clock:
    return fig.Clock(case.status, case.received_at, case.accept_by, case.resolve_by, case.accepted_at)


def due_of(case: Case, now: datetime) -> dict[str, Any]:
    """``{"state": none|ok|near_due|overdue, "kind": accept|resolve|None, "deadline": ISO|None}``."""
    d = fig.due(clock(case), now)
    return {"state": d.state.value, "kind": d.kind.value if d.kind else None,
            "deadline": d.deadline.isoformat() if d.deadline else None}
