"""The case's latest extension request (延期申请) and what became of it, read from its history.

The case row keeps the flag (``extension``: requested / approved / refused) and the hours asked
for; who asked, when, why, and the decision are the events ``extension_requested`` /
``extension_approved`` / ``extension_refused``.  The command centre sees a pending request in its
list and in the case (``GET /api/v1/cases/{t}`` → ``extension_request``), after any reload.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core import sla
from services.tracker.models import Case, CaseEventRow

TYPES = ("extension_requested", "extension_approved", "extension_refused")


def extension_request(session: Session, case: Case) -> dict[str, Any] | None:
    """None when the case never asked for more time (or a new unit holds it since)."""
    if case.extension is None:
        return None
    rows = session.scalars(select(CaseEventRow).where(CaseEventRow.complaint_id == case.complaint_id,
                                                      CaseEventRow.type.in_(TYPES))
                           .order_by(CaseEventRow.at.desc(), CaseEventRow.id.desc())).all()
    # newest first: an answer before any request answers the latest one
    answer = rows[0] if rows and rows[0].type != "extension_requested" else None
    asked = next((r for r in rows if r.type == "extension_requested"), None)
    hours = case.extension_hours or (asked.data.get("hours") if asked else None)
    out: dict[str, Any] = {
        "state": case.extension, "hours": hours,
        "reason": asked.data.get("reason") if asked else None,
        "requested_by": asked.actor if asked else None,
        "requested_at": asked.at.isoformat() if asked else None,
        "resolve_by": case.resolve_by.isoformat() if case.resolve_by else None,
        "new_resolve_by": None, "decided_by": None, "decided_at": None, "refusal_reason": None,
    }
    if case.extension == "requested" and hours and case.resolve_by is not None:
        out["new_resolve_by"] = sla.extend(case.resolve_by, timedelta(hours=int(hours))).isoformat()
    if answer is not None and case.extension != "requested":
        out.update({"decided_by": answer.actor, "decided_at": answer.at.isoformat(),
                    "refusal_reason": answer.data.get("reason") if answer.type == "extension_refused" else None})
        if answer.type == "extension_approved":
            out["new_resolve_by"] = answer.data.get("resolve_by") or out["resolve_by"]
    return out
