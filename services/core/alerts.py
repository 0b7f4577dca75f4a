"""Live time limits and hot spots, as pure functions (no Kafka, Redis or clock inside).

- **Deadlines.** For an open case, the accept deadline (until the squad signs for it) and
  the resolve deadline (until it is resolved) each give two alerts: *near due* once 80%
  of the time from reception to the deadline is used, and *overdue* once it has passed
  (the one definition of both: ``services/core/figures.py``, shared with the dashboard).
- **Hot spots.** At least ``n`` complaints of one category from one village (or town,
  when no village is known) within a sliding ``window``.

Every alert has a deterministic ``alert_id`` so it is raised once: the stream side
dedupes it in Redis (SET NX) and the tracker's alerts table is keyed by it.

Domain shared by the router (raises the alerts) and the tracker (registers deadlines, stores and
shows alerts), hence in the core (issue 18; it was ``services/router/alerts.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.core.figures import near_due_at, past  # the one definition of near due / overdue


class AlertKind(StrEnum):
    ACCEPT_NEAR_DUE = "accept_near_due"
    ACCEPT_OVERDUE = "accept_overdue"
    RESOLVE_NEAR_DUE = "resolve_near_due"
    RESOLVE_OVERDUE = "resolve_overdue"
    HOTSPOT = "hotspot"
    SUPERVISION = "supervision"


MESSAGES = {
    AlertKind.ACCEPT_NEAR_DUE: "工单 {ticket} 即将超过签收时限（{deadline}）",
    AlertKind.ACCEPT_OVERDUE: "工单 {ticket} 已超过签收时限（{deadline}）",
    AlertKind.RESOLVE_NEAR_DUE: "工单 {ticket} 即将超过办结时限（{deadline}）",
    AlertKind.RESOLVE_OVERDUE: "工单 {ticket} 已超过办结时限（{deadline}）",
}


class AlertRaised(BaseModel):
    """An alert on the ``alerts`` topic (keyed by ``alert_id``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = 1
    alert_id: str
    kind: AlertKind
    raised_at: datetime
    message: str
    ticket_no: str | None = None
    complaint_id: str | None = None
    unit: str | None = None
    category: str | None = None
    territory: str | None = None
    place: str | None = None
    deadline: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class OpenCase:
    """What the stream side knows about a case that still has a deadline to watch."""

    complaint_id: str
    ticket_no: str
    unit: str
    category: str | None
    territory: str | None
    received_at: datetime
    accept_by: datetime
    resolve_by: datetime
    accepted: bool = False


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deadline_alert_id(kind: AlertKind, ticket_no: str, deadline: datetime) -> str:
    return f"{kind.value}:{ticket_no}:{_iso(deadline)}"


def _checks(case: OpenCase) -> list[tuple[AlertKind, datetime, datetime]]:
    """(kind, fires at, deadline) of every deadline alert that applies to the case now."""
    out: list[tuple[AlertKind, datetime, datetime]] = []
    if not case.accepted:
        out.append((AlertKind.ACCEPT_NEAR_DUE, near_due_at(case.received_at, case.accept_by), case.accept_by))
        out.append((AlertKind.ACCEPT_OVERDUE, case.accept_by, case.accept_by))
    out.append((AlertKind.RESOLVE_NEAR_DUE, near_due_at(case.received_at, case.resolve_by), case.resolve_by))
    out.append((AlertKind.RESOLVE_OVERDUE, case.resolve_by, case.resolve_by))
    return out


OVERDUE = (AlertKind.ACCEPT_OVERDUE, AlertKind.RESOLVE_OVERDUE)


def _due(kind: AlertKind, fires_at: datetime, now: datetime) -> bool:
    return past(fires_at, now) if kind in OVERDUE else now >= fires_at


def deadline_alerts(case: OpenCase, now: datetime) -> list[AlertRaised]:
    """Every deadline alert due for ``case`` at ``now`` (the caller raises each id once).

    An overdue deadline implies its near-due alert too: both are returned, near-due first,
    so a case found late still tells the whole story once.
    """
    alerts: list[AlertRaised] = []
    for kind, fires_at, deadline in _checks(case):
        if not _due(kind, fires_at, now):
            continue
        alerts.append(AlertRaised(
            alert_id=deadline_alert_id(kind, case.ticket_no, deadline), kind=kind, raised_at=now,
            message=MESSAGES[kind].format(ticket=case.ticket_no, deadline=_iso(deadline)),
            ticket_no=case.ticket_no, complaint_id=case.complaint_id, unit=case.unit, category=case.category,
            territory=case.territory, deadline=deadline,
            data={"fires_at": _iso(fires_at), "overdue_s": max(0, int((now - deadline).total_seconds()))},
        ))
    return alerts


def next_check(case: OpenCase, now: datetime) -> datetime | None:
    """The next moment an alert of ``case`` becomes due (None: nothing left to watch)."""
    upcoming = [at for kind, at, _ in _checks(case) if not _due(kind, at, now)]
    return min(upcoming) if upcoming else None


# --- hot spots ---------------------------------------------------------------------------------


def bucket_start(moment: datetime, window: timedelta) -> datetime:
    """The start of the fixed ``window``-long bucket holding ``moment`` (epoch-aligned)."""
    size = window.total_seconds()
    epoch = moment.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / size) * size, UTC)


def hotspot_alert_id(category: str, place: str, moment: datetime, window: timedelta) -> str:
    return f"hotspot:{category}:{place}:{_iso(bucket_start(moment, window))}"


def hotspot_alert(*, category: str, place: str, place_name: str | None, times: list[datetime], now: datetime,
                  threshold: int, window: timedelta, territory: str | None = None, unit: str | None = None,
                  tickets: list[str] | None = None) -> AlertRaised | None:
    """A hot-spot alert if at least ``threshold`` of ``times`` fall within ``window`` before ``now``."""
    recent = [t for t in times if now - window < t <= now]
    return window_alert(category=category, place=place, place_name=place_name, count=len(recent),
                        first_at=min(recent, default=now), now=now, threshold=threshold, window=window,
                        territory=territory, unit=unit, tickets=tickets)


def window_alert(*, category: str, place: str, place_name: str | None, count: int, first_at: datetime,
                 now: datetime, threshold: int, window: timedelta, territory: str | None = None,
                 unit: str | None = None, tickets: list[str] | None = None) -> AlertRaised | None:
    """A hot-spot alert if ``count`` complaints (the earliest at ``first_at``) fell within the
    ``window`` that ends at ``now``.

    The id names the window bucket of ``now``: a place stays quiet for the rest of the bucket
    once raised, and can be raised again in a later bucket if complaints keep coming.
    """
    if threshold < 1 or count < threshold:
        return None
    minutes = int(window.total_seconds() // 60)
    return AlertRaised(
        alert_id=hotspot_alert_id(category, place, now, window), kind=AlertKind.HOTSPOT, raised_at=now,
        message=f"热点：{place_name or place} {minutes} 分钟内收到 {count} 件同类投诉（{category}）",
        category=category, territory=territory, place=place, unit=unit,
        data={"count": count, "window_s": int(window.total_seconds()), "threshold": threshold,
              "first_at": _iso(first_at), "tickets": (tickets or [])[-20:]},
    )
