"""The command centre's view of the correction loop (issue 15): correction rate per day x category,
and the corrections themselves (the labelled examples ``complaints model retrain`` learns from)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tracker import keyset
from services.tracker.auth import Principal, Role, require
from services.tracker.corrections import load_rates, view
from services.tracker.keyset import Key, Ordering
from services.tracker.models import CorrectionRow
from services.tracker.responses import Correction, CorrectionList, CorrectionStats
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1", tags=["corrections"])
COMMAND = require(Role.COMMAND)
# newest first, by the primary key (keyset pagination: services/tracker/keyset.py)
CORRECTIONS_ORDER = Ordering("corrections", (Key(CorrectionRow.id, "id", "int", desc=True),))


@router.get("/corrections/stats", summary="分类纠正率（按日 × 类别）")
def correction_stats(
    request: Request,
    _: Annotated[Principal, Depends(COMMAND)],
    session: Annotated[Session, Depends(db)],
    days: Annotated[int, Query(ge=1, le=92, description="近几日（含今日，按城市时区）")] = 14,
) -> CorrectionStats:
    tz = ZoneInfo(request.app.state.core.city.timezone)
    now = datetime.now(UTC)
    start = datetime.combine(now.astimezone(tz).date() - timedelta(days=days - 1), time(0), tz).astimezone(UTC)
    return CorrectionStats.model_validate({"from": start.isoformat(), "to": now.isoformat(), "days_back": days,
                                           "model_version": request.app.state.core.model.version,
                                           **load_rates(session, start, now, tz)})


@router.get("/corrections", summary="人工纠正记录（训练样本）")
def list_corrections(
    _: Annotated[Principal, Depends(COMMAND)],
    session: Annotated[Session, Depends(db)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000, description="翻页游标：上一页返回的 next_cursor")] = None,
) -> CorrectionList:
    q = select(CorrectionRow).order_by(*CORRECTIONS_ORDER.order_by())
    if cursor is not None:
        q = q.where(CORRECTIONS_ORDER.after(keyset.decode(cursor, CORRECTIONS_ORDER, {})))
    rows, next_cursor = keyset.page(session.scalars(q.limit(limit + 1)).all(), limit, CORRECTIONS_ORDER, {})
    return CorrectionList(count=len(rows), next_cursor=next_cursor,
                          corrections=[Correction.model_validate(view(r)) for r in rows])
