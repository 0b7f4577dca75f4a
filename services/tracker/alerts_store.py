"""The alerts table: filled by the tracker process from the ``alerts`` topic, read by the API.

Idempotent by ``alert_id``: a redelivered or replayed alert changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.alerts import AlertRaised
from services.tracker.keyset import Key, Ordering
from services.tracker.models import AlertRow


def stored_alert_ids(session: Session, alert_ids: set[str]) -> set[str]:
    """Which of these alerts are stored already (one query for a batch)."""
    if not alert_ids:
        return set()
    return set(session.scalars(select(AlertRow.alert_id).where(AlertRow.alert_id.in_(alert_ids))))


def store_alert(session: Session, alert: AlertRaised, stored: set[str] | None = None) -> bool:
    """Insert the alert unless it is there already.  Returns True if it was new.  Caller commits.

    ``stored``: the batch's alert ids known to be stored (``stored_alert_ids``), kept up to date
    here; without it the row is looked up."""
    if stored is not None:
        if alert.alert_id in stored:
            return False
        stored.add(alert.alert_id)
    elif session.get(AlertRow, alert.alert_id) is not None:
        return False
    session.add(AlertRow(
        alert_id=alert.alert_id, kind=alert.kind.value, ticket_no=alert.ticket_no, complaint_id=alert.complaint_id,
        unit=alert.unit, category=alert.category, territory=alert.territory, place=alert.place,
        deadline=alert.deadline, raised_at=alert.raised_at, message=alert.message, data=alert.data,
    ))
    return True


def alert_view(row: AlertRow) -> dict[str, Any]:
    return {
        "alert_id": row.alert_id, "kind": row.kind, "ticket_no": row.ticket_no, "unit": row.unit,
        "category": row.category, "territory": row.territory, "place": row.place,
        "deadline": row.deadline.isoformat() if row.deadline else None, "raised_at": row.raised_at.isoformat(),
        "message": row.message, "data": row.data,
    }


# newest first (keyset pagination: services/tracker/keyset.py, index ix_alerts_raised_keyset)
ALERTS_ORDER = Ordering("alerts", (Key(AlertRow.raised_at, "raised_at", "dt", desc=True),
                                   Key(AlertRow.alert_id, "alert_id", "str", desc=True)))


def list_alerts(session: Session, *, kinds: list[str] | None = None, unit: str | None = None,
                since: datetime | None = None, ticket_no: str | None = None, limit: int = 100,
                after: list[Any] | None = None) -> list[AlertRow]:
    """Newest first; ``after``: the key values of the previous page's last alert."""
    q = select(AlertRow)
    if kinds:
        q = q.where(AlertRow.kind.in_(kinds))
    if unit:
        q = q.where(AlertRow.unit == unit)
    if since:
        q = q.where(AlertRow.raised_at >= since)
    if ticket_no:
        q = q.where(AlertRow.ticket_no == ticket_no)
    if after is not None:
        q = q.where(ALERTS_ORDER.after(after))
    return list(session.scalars(q.order_by(*ALERTS_ORDER.order_by()).limit(limit)))
