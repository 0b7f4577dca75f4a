"""GET /api/v1/alerts: near-due, overdue, hot-spot and 督办 alerts (newest first).

Squad members see only their unit's alerts; the command centre, operators and admin see all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from services.core.alerts import AlertKind
from services.tracker import keyset
from services.tracker.alerts_store import ALERTS_ORDER, alert_view, list_alerts
from services.tracker.auth import Principal, Role, require
from services.tracker.responses import Alert, AlertList
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1", tags=["alerts"])
KINDS = "|".join(k.value for k in AlertKind)


@router.get("/alerts")
def get_alerts(
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND, Role.SQUAD))],
    session: Annotated[Session, Depends(db)],
    kind: Annotated[str | None, Query(pattern=rf"^({KINDS})(,({KINDS}))*$", description="逗号分隔的告警类型")] = None,
    unit: Annotated[str | None, Query(pattern=r"^[A-Z0-9_]{2,40}$")] = None,
    ticket_no: Annotated[str | None, Query(pattern=r"^[A-Z]{1,6}\d{14}$")] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000, description="翻页游标：上一页返回的 next_cursor")] = None,
) -> AlertList:
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, [{"loc": ["query", "since"], "msg": "since 需要带时区", "type": "value_error"}])
    if principal.role == Role.SQUAD:
        if unit is not None and unit != principal.unit:
            raise HTTPException(403, "只能查看本单位的告警")
        unit = principal.unit
    filters = {"kind": kind, "unit": unit, "ticket_no": ticket_no, "since": since.isoformat() if since else None}
    after = keyset.decode(cursor, ALERTS_ORDER, filters) if cursor is not None else None
    rows, next_cursor = keyset.page(list_alerts(session, kinds=kind.split(",") if kind else None, unit=unit,
                                                since=since, ticket_no=ticket_no, limit=limit + 1, after=after),
                                    limit, ALERTS_ORDER, filters)
    return AlertList(count=len(rows), next_cursor=next_cursor, alerts=[Alert.model_validate(alert_view(r)) for r in rows])
