"""GET /api/v1/stats?from=&to=&group_by=unit|category|territory (command centre; definitions in docs/kpis.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from services.tracker.auth import Principal, Role, require
from services.tracker.responses import Stats
from services.tracker.rollup_stats import compute_from_rollup
from services.tracker.rollups import zone
from services.tracker.routes_cases import db
from services.tracker.stats import compute, live_figures, load_facts

router = APIRouter(prefix="/api/v1", tags=["stats"])
MAX_SPAN = timedelta(days=366)


def _bad(name: str, msg: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["query", name], "msg": msg, "type": "value_error"}])


def _moment(raw: str, tz: ZoneInfo, name: str) -> tuple[datetime, bool]:
    """(UTC moment, is a whole date).  A date is the start of that day in the city's time zone."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(0), tz).astimezone(UTC), True
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(name, f"{name} 不是有效的日期或时间（例如 2026-11-01 或 2026-11-01T08:00:00+08:00）") from None
    if value.tzinfo is None:
        raise _bad(name, f"{name} 需要带时区，或只写日期")
    return value.astimezone(UTC), False


def _day(moment: datetime, tz: ZoneInfo) -> date | None:
    """The city day starting at ``moment``, or None if it is not a midnight in the city."""
    local = moment.astimezone(tz)
    return local.date() if local.time() == time(0) else None


@router.get("/stats", summary="考核指标", response_model_exclude_unset=True)
def stats(
    request: Request,
    principal: Annotated[Principal, Depends(require(Role.COMMAND))],
    session: Annotated[Session, Depends(db)],
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="起（含）：日期或带时区的时间")] = None,
    to: Annotated[str | None, Query(max_length=40, description="止（不含）；只写日期时含当天")] = None,
    group_by: Annotated[Literal["unit", "category", "territory"] | None, Query()] = None,
) -> Stats:
    tz = ZoneInfo(request.app.state.core.city.timezone)
    now = datetime.now(UTC)
    end = now
    if to is not None:
        end, whole_day = _moment(to, tz, "to")
        end += timedelta(days=1) if whole_day else timedelta(0)  # a date as `to` includes that day
    start = end - timedelta(days=30) if from_ is None else _moment(from_, tz, "from")[0]
    if start >= end:
        raise _bad("from", "from 必须早于 to")
    if end - start > MAX_SPAN:
        raise _bad("to", "统计区间不能超过 366 天")
    # whole city days (a day, a month, a year) from the rollup; other periods from their cases.  Up to
    # now (the pages' `from=<date>`) is through today: no case was received later than now, and the
    # rollup is kept in the transaction that writes the case
    d0, d1 = _day(start, tz), _day(end, tz)
    if d1 is None and end >= now:
        d1 = end.astimezone(tz).date() + timedelta(days=1)
    if d0 is not None and d1 is not None and zone(session.connection()) == tz:
        figures = compute_from_rollup(session, d0, d1, start, end, now, group_by)
    else:
        figures = compute(load_facts(session, start, end), now, group_by)
    # `live`: open cases now, whatever day they came in (the overdue / near-due tiles = the lists)
    return Stats.model_validate({"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by,
                                 "as_of": now.isoformat(), **figures, "live": live_figures(session, now, group_by)})
