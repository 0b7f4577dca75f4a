"""The command centre's view of the correction loop (issue 15): correction rate per day x category,
and the corrections themselves (the labelled examples ``complaints model retrain`` learns from)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tracker.auth import Principal, Role, require
from services.tracker.corrections import load_rates, view
from services.tracker.models import CorrectionRow
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1", tags=["corrections"])
COMMAND = require(Role.COMMAND)


@router.get("/corrections/stats", summary="分类纠正率（按日 × 类别）")
def correction_stats(
    request: Request,
    _: Annotated[Principal, Depends(COMMAND)],
    session: Annotated[Session, Depends(db)],
    days: Annotated[int, Query(ge=1, le=92, description="近几日（含今日，按城市时区）")] = 14,
) -> dict[str, Any]:
    tz = ZoneInfo(request.app.state.core.city.timezone)
    now = datetime.now(UTC)
    start = datetime.combine(now.astimezone(tz).date() - timedelta(days=days - 1), time(0), tz).astimezone(UTC)
    return {"from": start.isoformat(), "to": now.isoformat(), "days_back": days,
            "model_version": request.app.state.core.model.version, **load_rates(session, start, now, tz)}


@router.get("/corrections", summary="人工纠正记录（训练样本）")
def list_corrections(
    _: Annotated[Principal, Depends(COMMAND)],
    session: Annotated[Session, Depends(db)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    rows = session.scalars(select(CorrectionRow).order_by(CorrectionRow.id.desc()).limit(limit)).all()
    return {"count": len(rows), "corrections": [view(r) for r in rows]}
