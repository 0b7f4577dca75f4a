"""Figures of the wall screen, each one SQL aggregate (never a load of every case).

- ``hourly``: cases received in each hour of a city day (24 ``SUM(CASE ...)`` columns, one row).
- ``by_territory``: received since a moment, open now and overdue now, per territory (GROUP BYs).
- ``recent``: the latest case events (joined to their case) and alerts, newest first, in the shape
  of the live feed's changes so the page renders both alike.

"Open" and "overdue" are the one definition of each (``services.core.figures``), read through
``stats.live_figures`` like the dashboard's tiles.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from services.tracker.models import AlertRow, Case, CaseEventRow
from services.tracker.stats import live_figures

FIGURES = ("today", "open", "overdue")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def hour_edges(day: date, tz: ZoneInfo) -> list[datetime]:
    """The 25 UTC moments bounding the 24 clock hours of ``day`` in the city's time zone."""
    edges = [datetime.combine(day, time(h), tz).astimezone(UTC) for h in range(24)]
    return [*edges, day_start(day + timedelta(days=1), tz)]


def hourly(session: Session, day: date, tz: ZoneInfo) -> list[int]:
    """Cases received in each of the 24 hours of ``day`` (city time)."""
    edges = hour_edges(day, tz)
    columns = [func.coalesce(func.sum(case((and_(Case.received_at >= edges[h], Case.received_at < edges[h + 1]), 1),
                                           else_=0)), 0)
               for h in range(24)]
    row = session.execute(select(*columns).where(Case.received_at >= edges[0], Case.received_at < edges[24])).one()
    return [int(v or 0) for v in row]


def by_territory(session: Session, since: datetime, now: datetime) -> dict[str | None, dict[str, int]]:
    """territory -> {"today": received since ``since``, "open": open now, "overdue": overdue now}.

    Open and overdue are the dashboard's live tiles per territory (``stats.live_figures``)."""
    out: dict[str | None, dict[str, int]] = {}
    received = select(Case.territory, func.count()).where(Case.received_at >= since).group_by(Case.territory)
    for territory, n in session.execute(received):
        out.setdefault(territory, dict.fromkeys(FIGURES, 0))["today"] = int(n)
    for key, figures in live_figures(session, now, "territory")["groups"].items():
        entry = out.setdefault(None if key == "(none)" else key, dict.fromkeys(FIGURES, 0))
        entry["open"], entry["overdue"] = figures["open"], figures["overdue"]
    return out


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def recent(session: Session, limit: int, since: datetime) -> list[dict[str, Any]]:
    """The latest ``limit`` case events and alerts since ``since``, newest first (no citizen data)."""
    events = session.execute(
        select(CaseEventRow.type, CaseEventRow.at, Case.ticket_no, Case.status, Case.unit, Case.category,
               Case.territory, Case.urgent)
        .join(Case, Case.complaint_id == CaseEventRow.complaint_id)
        .where(CaseEventRow.at >= since)
        .order_by(CaseEventRow.at.desc(), CaseEventRow.id.desc()).limit(limit))
    items = [{"type": kind, "at": _iso(at), "ticket_no": ticket, "status": status, "unit": unit,
              "category": category, "territory": territory, "urgent": bool(urgent)}
             for kind, at, ticket, status, unit, category, territory, urgent in events]
    alerts = session.execute(
        select(AlertRow.kind, AlertRow.raised_at, AlertRow.ticket_no, AlertRow.unit, AlertRow.category,
               AlertRow.territory, AlertRow.message)
        .where(AlertRow.raised_at >= since).order_by(AlertRow.raised_at.desc()).limit(limit))
    items += [{"type": "alert", "kind": kind, "at": _iso(at), "ticket_no": ticket, "unit": unit, "category": category,
               "territory": territory, "message": message}
              for kind, at, ticket, unit, category, territory, message in alerts]
    items.sort(key=lambda i: datetime.fromisoformat(i["at"]), reverse=True)
    return items[:limit]
