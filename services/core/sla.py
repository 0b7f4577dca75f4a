"""Time limits: accept-by and resolve-by from the taxonomy, and approved extensions.

Durations are calendar durations (m / h / d from taxonomy.yaml) counted from the time the
complaint was received; urgent cases use the urgent limits.  ``received_at`` should be
timezone-aware; a naive datetime is read in the city's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.core.config import Category
from services.core.figures import past


@dataclass(frozen=True)
class Deadlines:
    accept_by: datetime
    resolve_by: datetime


def aware(moment: datetime, timezone: str) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(timezone))


def deadlines(category: Category, received_at: datetime, urgent: bool, timezone: str = "UTC") -> Deadlines:
    start = aware(received_at, timezone)
    sla = category.sla
    accept = sla.urgent_accept if urgent else sla.accept
    resolve = sla.urgent_resolve if urgent else sla.resolve
    return Deadlines(start + accept, start + resolve)


def extend(resolve_by: datetime, duration: timedelta) -> datetime:
    """The resolve deadline after an approved extension (延期) of ``duration``."""
    if duration <= timedelta(0):
        raise ValueError(f"an extension must be positive, got {duration}")
    return resolve_by + duration


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """One deadline missed at ``now`` (a case's overdue state: ``services.core.figures``)."""
    return past(deadline, now)
