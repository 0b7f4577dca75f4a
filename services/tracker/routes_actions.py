"""Squad and command-centre actions on a case, and the command centre's case list.

Squad (own unit only): accept, start, return, extension, resolve.
Command centre: extension/approve, extension/refuse, verify, reopen, reassign, decide,
supervise, merge.  Hotline operators and the command centre: forward, answer.
Admin may do everything.  Every action: one transaction, ``Idempotency-Key`` honoured,
``expected_version`` checked, the change published to the live feed after the commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.tracker import commands as c
from services.tracker import keyset
from services.tracker.actions import ActionError, Ctx, run_action
from services.tracker.auth import Principal, Role, require
from services.tracker.case_handlers import HANDLERS
from services.tracker.case_query import ORDERINGS, CaseFilters, filtered
from services.tracker.models import Case
from services.tracker.responses import ActionResult, CaseList
from services.tracker.routes_cases import TICKET, db
from services.tracker.transitions import Action
from services.tracker.views import case_list_item

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["actions"])

SQUAD = require(Role.SQUAD)
COMMAND = require(Role.COMMAND)
HOTLINE = require(Role.OPERATOR, Role.COMMAND)
STAFF = require(Role.OPERATOR, Role.COMMAND, Role.SQUAD)
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")]
Ticket = Annotated[str, TICKET]
Who = Annotated[Principal, Depends(SQUAD)]
Cmd = Annotated[Principal, Depends(COMMAND)]
Hot = Annotated[Principal, Depends(HOTLINE)]


async def publish_feed(request: Request, change: dict[str, Any] | None) -> None:
    """Best effort: the database is the truth, the feed only wakes the dashboards up."""
    if change is None:
        return
    state = request.app.state
    try:
        payload = json.dumps({**change, "at": datetime.now(UTC).isoformat()}, ensure_ascii=False)
        await state.redis.publish(f"{state.settings.redis_prefix}feed", payload)
    except Exception as exc:
        log.debug("live feed publish failed: %s", exc)


async def act(request: Request, ticket_no: str, action: Action, body: c.Command | None, principal: Principal,
              idempotency_key: str | None) -> ActionResult:
    cmd_type, handler = HANDLERS[action]
    cmd = body if body is not None else cmd_type()

    def authorize(case: Case) -> None:
        if not principal.may_see_unit(case.unit):
            raise ActionError(403, "该工单不属于本单位")

    ctx = Ctx(engine=request.app.state.core, now=datetime.now(UTC), actor=principal.actor)
    try:
        outcome = await asyncio.to_thread(run_action, request.app.state.sessions, ticket_no=ticket_no,
                                          action=action.value, cmd=cmd, ctx=ctx, handler=handler,
                                          authorize=authorize, idempotency_key=idempotency_key)
    except ActionError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    await publish_feed(request, outcome.change)
    return ActionResult(**outcome.response)


@router.post("/cases/{ticket_no}/accept", summary="签收")
async def accept(request: Request, ticket_no: Ticket, p: Who, key: IdemKey = None,
                 body: c.Empty | None = None) -> ActionResult:
    return await act(request, ticket_no, Action.ACCEPT, body, p, key)


@router.post("/cases/{ticket_no}/start", summary="开始处置")
async def start(request: Request, ticket_no: Ticket, p: Who, key: IdemKey = None,
                body: c.Empty | None = None) -> ActionResult:
    return await act(request, ticket_no, Action.START, body, p, key)


@router.post("/cases/{ticket_no}/return", summary="退单（须填写原因）")
async def return_case(request: Request, ticket_no: Ticket, body: c.WithReason, p: Who,
                      key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.RETURN, body, p, key)


@router.post("/cases/{ticket_no}/extension", summary="申请延期")
async def request_extension(request: Request, ticket_no: Ticket, body: c.ExtensionRequest, p: Who,
                            key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.REQUEST_EXTENSION, body, p, key)


@router.post("/cases/{ticket_no}/resolve", summary="处置反馈")
async def resolve(request: Request, ticket_no: Ticket, body: c.Resolve, p: Who,
                  key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.RESOLVE, body, p, key)


@router.post("/cases/{ticket_no}/extension/approve", summary="批准延期")
async def approve_extension(request: Request, ticket_no: Ticket, p: Cmd, key: IdemKey = None,
                            body: c.Empty | None = None) -> ActionResult:
    return await act(request, ticket_no, Action.APPROVE_EXTENSION, body, p, key)


@router.post("/cases/{ticket_no}/extension/refuse", summary="驳回延期")
async def refuse_extension(request: Request, ticket_no: Ticket, body: c.WithReason, p: Cmd,
                           key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.REFUSE_EXTENSION, body, p, key)


@router.post("/cases/{ticket_no}/verify", summary="核查结案")
async def verify(request: Request, ticket_no: Ticket, p: Cmd, key: IdemKey = None,
                 body: c.Empty | None = None) -> ActionResult:
    return await act(request, ticket_no, Action.VERIFY, body, p, key)


@router.post("/cases/{ticket_no}/reopen", summary="返工")
async def reopen(request: Request, ticket_no: Ticket, body: c.WithReason, p: Cmd,
                 key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.REOPEN, body, p, key)


@router.post("/cases/{ticket_no}/reassign", summary="改派")
async def reassign(request: Request, ticket_no: Ticket, body: c.Reassign, p: Cmd,
                   key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.REASSIGN, body, p, key)


@router.post("/cases/{ticket_no}/decide", summary="裁定承办单位（最终决定）")
async def decide(request: Request, ticket_no: Ticket, body: c.Decide, p: Cmd,
                 key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.DECIDE, body, p, key)


@router.post("/cases/{ticket_no}/supervise", summary="督办")
async def supervise(request: Request, ticket_no: Ticket, body: c.Supervise, p: Cmd,
                    key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.SUPERVISE, body, p, key)


@router.post("/cases/{ticket_no}/merge", summary="合并重复工单")
async def merge(request: Request, ticket_no: Ticket, body: c.Merge, p: Cmd,
                key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.MERGE, body, p, key)


@router.post("/cases/{ticket_no}/forward", summary="转12345")
async def forward(request: Request, ticket_no: Ticket, body: c.Forward, p: Hot,
                  key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.FORWARD, body, p, key)


@router.post("/cases/{ticket_no}/answer", summary="咨询直接答复")
async def answer(request: Request, ticket_no: Ticket, body: c.Answer, p: Hot,
                 key: IdemKey = None) -> ActionResult:
    return await act(request, ticket_no, Action.ANSWER, body, p, key)


TOTAL_CAP = 10_000  # the list's `total` counts this far ("10000+" beyond)


@router.get("/cases", summary="工单列表（指挥中心；中队只看本单位）")
def list_cases(
    request: Request,
    principal: Annotated[Principal, Depends(STAFF)],
    session: Annotated[Session, Depends(db)],
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{3,24}(,[a-z_]{3,24})*$")] = None,
    unit: Annotated[str | None, Query(pattern=r"^[A-Z0-9_]{2,40}$")] = None,
    category: Annotated[str | None, Query(pattern=r"^[A-Z_]{2,40}$")] = None,
    territory: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
    overdue: Annotated[bool | None, Query(description="已超时（定义：services/core/figures.py）")] = None,
    near_due: Annotated[bool | None, Query(description="即将超时（未超时、已用去 80% 时限）")] = None,
    extension: Annotated[str | None, Query(pattern=r"^(requested|approved|refused)$",
                                           description="延期：requested 待审批 / approved / refused")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100,
                                   description="搜索：工单号、来电号码（全号或尾号）或诉求内容/地址中的文字")] = None,
    order: Annotated[str, Query(pattern=r"^(due|received)$",
                                description="due 按时限（默认）/ received 按受理时间倒序")] = "due",
    cursor: Annotated[str | None, Query(max_length=2000, description="翻页游标：上一页返回的 next_cursor")] = None,
    offset: Annotated[int, Query(ge=0, le=100000, description="旧的偏移翻页（请改用 cursor）")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CaseList:
    filters = CaseFilters(status, unit, category, territory, overdue, near_due, extension, q, order).scoped(principal)
    ordering = ORDERINGS[order]
    if cursor is not None and offset:
        raise HTTPException(422, [{"loc": ["query", "offset"], "msg": "cursor 与 offset 不能同时使用",
                                   "type": "value_error"}])
    now = datetime.now(UTC)
    base = filtered(filters, principal, now)
    # counted up to TOTAL_CAP + 1 only: an exact count of a year's closed cases reads all of them
    total = session.scalar(select(func.count()).select_from(base.limit(TOTAL_CAP + 1).subquery())) or 0
    after = keyset.decode(cursor, ordering, filters.as_dict()) if cursor is not None else None
    rows = keyset.fetch_after(session, base.order_by(*ordering.order_by()).offset(offset), ordering, after, limit + 1)
    cases, next_cursor = keyset.page(rows, limit, ordering, filters.as_dict())
    # count: the cases in this answer (at most `limit`); total: every case the filters match, at most
    # TOTAL_CAP (total_capped: there are more); next_cursor: pass it as `cursor` for the next page
    # (None: this is the last page)
    city = request.app.state.core.city
    return CaseList(count=len(cases), total=min(total, TOTAL_CAP), total_capped=total > TOTAL_CAP,
                    as_of=now.isoformat(), next_cursor=next_cursor,
                    cases=[case_list_item(x, principal, city) for x in cases])
