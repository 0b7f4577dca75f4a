"""Case read API: one case by ticket number, a unit's queue by deadline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tracker.auth import Principal, Role, require
from services.tracker.models import Case
from services.tracker.responses import CaseDetail, UnitQueue
from services.tracker.views import case_detail, case_summary

router = APIRouter(prefix="/api/v1", tags=["cases"])
TICKET = Path(pattern=r"^[A-Z]{1,6}\d{14}$", max_length=32, description="工单号，如 RG20261126000123")
ANY_STAFF = require(Role.OPERATOR, Role.COMMAND, Role.SQUAD)


def db(request: Request) -> Any:
    with request.app.state.sessions() as session:
        yield session


def load_case(session: Session, ticket_no: str, principal: Principal) -> Case:
    case = session.scalars(select(Case).where(Case.ticket_no == ticket_no)).first()
    if case is None:
        raise HTTPException(404, f"工单 {ticket_no} 不存在（或尚未入库，请稍后再试）")
    if not principal.may_see_unit(case.unit):
        raise HTTPException(403, "该工单不属于本单位")
    return case


@router.get("/cases/{ticket_no}")
def get_case(
    request: Request,
    ticket_no: Annotated[str, TICKET],
    principal: Annotated[Principal, Depends(ANY_STAFF)],
    session: Annotated[Session, Depends(db)],
) -> CaseDetail:
    return case_detail(session, load_case(session, ticket_no, principal), principal, request.app.state.core.city)


@router.get("/units/{unit_id}/cases")
def unit_queue(
    request: Request,
    unit_id: Annotated[str, Path(pattern=r"^[A-Z0-9_]{2,40}$")],
    principal: Annotated[Principal, Depends(ANY_STAFF)],
    session: Annotated[Session, Depends(db)],
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{3,24}(,[a-z_]{3,24})*$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UnitQueue:
    if unit_id not in request.app.state.unit_ids:
        raise HTTPException(404, f"单位 {unit_id} 不存在")
    if not principal.may_see_unit(unit_id):
        raise HTTPException(403, "只能查看本单位的工单")
    q = select(Case).where(Case.unit == unit_id)
    if status:
        q = q.where(Case.status.in_(status.split(",")))
    q = q.order_by(Case.urgent.desc(), Case.resolve_by.asc(), Case.received_at.asc()).limit(limit)
    cases = session.scalars(q).all()
    city = request.app.state.core.city
    return UnitQueue(unit=unit_id, count=len(cases), cases=[case_summary(c, principal, city) for c in cases])
