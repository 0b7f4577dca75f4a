"""One definition of each deadline figure: overdue, near-due, on-time, response (pure; no I/O).

Every page, list, KPI and alert reads these, so the tile, the list and the report can never
disagree (issue 17: the overdue tile said 2 while the overdue list held 35).

- **Open.** A case is open while someone still owes work on it: every status except
  resolved (反馈, waiting for verification), closed, merged, forwarded and answered.
- **Owed deadlines.** An open case owes its accept deadline (``accept_by``) until it is signed
  for (``accepted_at`` set), and its resolve deadline (``resolve_by``) until it is resolved.
- **Overdue** (已超时). Open, and the moment is past an owed deadline (``now > deadline``).
- **Near due** (即将超时). Open, not overdue, and for an owed deadline ``NEAR_DUE_SHARE`` (80 %)
  of the time from reception to that deadline is used (``now >= near_due_at``).
- **On time.** Accepted on time: accepted at or before ``accept_by``; resolved on time: resolved
  at or before ``resolve_by`` (which an approved extension moves).  A missing deadline is
  never missed.
- **Response rate** (响应率) = accepted on time / handled; **on-time resolution rate**
  (按期办结率) = resolved on time / (resolved + open cases past their resolve deadline).
  *Handled* cases are the dispatched ones a unit must handle (not merged, forwarded, answered).

Times are measured from reception, the origin of the deadlines in taxonomy.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

# the status model's sets (services/core/workflow.py), re-exported for the figures' readers
from services.core.workflow import FINISHED as FINISHED
from services.core.workflow import NOT_HANDLED as NOT_HANDLED
from services.core.workflow import OPEN as OPEN

NEAR_DUE_SHARE = Fraction(4, 5)


class Deadline(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"


class DueState(StrEnum):
    NONE = "none"          # finished, or no deadline owed
    OK = "ok"
    NEAR_DUE = "near_due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Clock:
    """What the figures read of a case."""

    status: str
    received_at: datetime
    accept_by: datetime | None
    resolve_by: datetime | None
    accepted_at: datetime | None


@dataclass(frozen=True)
class Due:
    state: DueState
    kind: Deadline | None = None     # the deadline that decides the state (the earliest owed one if all are fine)
    deadline: datetime | None = None


def is_open(status: str) -> bool:
    return status in OPEN


def is_handled(status: str, routed: bool) -> bool:
    """Dispatched, and a unit must handle it (the denominator of the unit rates)."""
    return routed and status not in NOT_HANDLED


def past(deadline: datetime, now: datetime) -> bool:
    """A deadline is missed once the moment is after it (at the deadline itself it is still met)."""
    return now > deadline


def near_due_at(start: datetime, deadline: datetime, share: Fraction = NEAR_DUE_SHARE) -> datetime:
    """The moment ``share`` of the time from ``start`` to ``deadline`` is used (whole microseconds)."""
    span = max(deadline - start, timedelta(0))
    return start + span * share.numerator // share.denominator


def owed(c: Clock) -> list[tuple[Deadline, datetime]]:
    """The deadlines an open case still owes, earliest first (none for a finished case)."""
    if not is_open(c.status):
        return []
    out: list[tuple[Deadline, datetime]] = []
    if c.accepted_at is None and c.accept_by is not None:
        out.append((Deadline.ACCEPT, c.accept_by))
    if c.resolve_by is not None:
        out.append((Deadline.RESOLVE, c.resolve_by))
    return sorted(out, key=lambda kd: kd[1])


def due(c: Clock, now: datetime) -> Due:
    deadlines = owed(c)
    if not deadlines:
        return Due(DueState.NONE)
    for kind, deadline in deadlines:
        if past(deadline, now):
            return Due(DueState.OVERDUE, kind, deadline)
    for kind, deadline in deadlines:
        if now >= near_due_at(c.received_at, deadline):
            return Due(DueState.NEAR_DUE, kind, deadline)
    kind, deadline = deadlines[0]
    return Due(DueState.OK, kind, deadline)


def is_overdue(c: Clock, now: datetime) -> bool:
    return due(c, now).state is DueState.OVERDUE


def is_near_due(c: Clock, now: datetime) -> bool:
    return due(c, now).state is DueState.NEAR_DUE


def resolve_overdue(c: Clock, now: datetime) -> bool:
    """Open and past the resolve deadline: due, and late, in the on-time resolution rate."""
    return is_open(c.status) and c.resolve_by is not None and past(c.resolve_by, now)


def on_time(done_at: datetime | None, deadline: datetime | None) -> bool:
    """Done (accepted / resolved) at or before its deadline; a missing deadline is never missed."""
    return done_at is not None and (deadline is None or not past(deadline, done_at))


def rate(part: int, whole: int) -> float | None:
    """A share rounded to 4 places; None (not 0) when nothing is counted."""
    return round(part / whole, 4) if whole else None


def response_rate(accepted_on_time: int, handled: int) -> float | None:
    return rate(accepted_on_time, handled)


def on_time_resolution_rate(resolved_on_time: int, resolved: int, open_past_resolve_by: int) -> float | None:
    return rate(resolved_on_time, resolved + open_past_resolve_by)
