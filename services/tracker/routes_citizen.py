"""Citizens: look up a case by ticket number + the last four digits of their phone; rate it once resolved.

No login.  What a citizen sees is minimal (status, category, dates, the handling unit's
name, the result): no name, phone, address, text or staff.  A wrong ticket and a wrong
last-4 get the same answer, and guessing is stopped by Redis rate limits per ticket and
per client address.
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import Field
from sqlalchemy import select

from services.tracker import commands as c
from services.tracker.actions import ActionError, Ctx, run_action
from services.tracker.case_handlers import HANDLERS
from services.tracker.models import Case
from services.tracker.routes_actions import publish_feed
from services.tracker.routes_cases import TICKET
from services.tracker.transitions import Action, allowed, status_name

router = APIRouter(prefix="/api/v1/public", tags=["citizen"])
LAST4 = r"^\d{4}$"
NOT_FOUND = "工单号或手机号后四位不正确"
# limits: requests per client address per minute; failed checks per ticket / per address per hour
PER_IP_PER_MINUTE = 20
FAILS_PER_TICKET = 5
FAILS_PER_IP = 20


class RatingIn(c.Rate):
    phone_last4: str = Field(pattern=LAST4, description="来电/留言手机号后四位")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _guard(request: Request, ticket_no: str) -> None:
    redis = request.app.state.redis
    p = f"{request.app.state.settings.redis_prefix}rl:public:"
    ip = _client(request)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(f"{p}ip:{ip}", 0, ex=60, nx=True)  # a fixed one-minute window (Redis 6.2 has no EXPIRE NX)
        pipe.incr(f"{p}ip:{ip}")
        pipe.get(f"{p}fail:t:{ticket_no}")
        pipe.get(f"{p}fail:ip:{ip}")
        _, hits, fails_ticket, fails_ip = await pipe.execute()
    if (int(hits) > PER_IP_PER_MINUTE or int(fails_ticket or 0) >= FAILS_PER_TICKET
            or int(fails_ip or 0) >= FAILS_PER_IP):
        raise HTTPException(429, "查询过于频繁，请稍后再试", headers={"Retry-After": "3600"})


async def _failed(request: Request, ticket_no: str) -> None:
    redis = request.app.state.redis
    p = f"{request.app.state.settings.redis_prefix}rl:public:"
    ip = _client(request)
    async with redis.pipeline(transaction=True) as pipe:
        for key in (f"{p}fail:t:{ticket_no}", f"{p}fail:ip:{ip}"):
            pipe.set(key, 0, ex=3600, nx=True)
            pipe.incr(key)
        await pipe.execute()


def _match(case: Case | None, last4: str) -> bool:
    phone = (case.phone or "") if case else ""
    return len(phone) >= 4 and hmac.compare_digest(phone[-4:], last4)


def _find(request: Request, ticket_no: str) -> Case | None:
    with request.app.state.sessions() as s:
        case: Case | None = s.scalars(select(Case).where(Case.ticket_no == ticket_no)).first()
        return case


async def _checked(request: Request, ticket_no: str, last4: str) -> Case:
    await _guard(request, ticket_no)
    case = await asyncio.to_thread(_find, request, ticket_no)
    if case is None or not _match(case, last4):
        await _failed(request, ticket_no)
        raise HTTPException(404, NOT_FOUND)
    return case


def citizen_view(request: Request, case: Case) -> dict[str, Any]:
    city = request.app.state.core.city
    category = city.categories.get(case.category) if case.category else None
    unit = city.units.get(case.unit) if case.unit else None
    finished = case.status in ("resolved", "closed", "answered", "forwarded")
    return {
        "ticket_no": case.ticket_no,
        "status": case.status,
        "status_name": status_name(case.status),
        "category_name": category.name if category else None,
        "handled_by": unit.name if unit else None,
        "received_at": case.received_at.isoformat(),
        "accepted_at": case.accepted_at.isoformat() if case.accepted_at else None,
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "result": case.result if finished else None,
        "merged_into": case.merged_into,
        "rating": case.rating,
        "can_rate": case.rating is None and allowed(case, "rate"),
    }


@router.get("/cases/{ticket_no}", summary="市民查询办理进度")
async def lookup(request: Request, ticket_no: Annotated[str, TICKET],
                 phone_last4: Annotated[str, Query(pattern=LAST4, description="手机号后四位")]) -> dict[str, Any]:
    return citizen_view(request, await _checked(request, ticket_no, phone_last4))


@router.post("/cases/{ticket_no}/rating", summary="市民评价（办结后一次）")
async def rating(request: Request, ticket_no: Annotated[str, TICKET], body: RatingIn) -> dict[str, Any]:
    case = await _checked(request, ticket_no, body.phone_last4)
    ctx = Ctx(engine=request.app.state.core, now=datetime.now(UTC), actor=f"citizen:****{body.phone_last4}")
    cmd = c.Rate(rating=body.rating, action_id=body.action_id, expected_version=body.expected_version)
    try:
        outcome = await asyncio.to_thread(run_action, request.app.state.sessions, ticket_no=case.ticket_no,
                                          action=Action.RATE.value, cmd=cmd, ctx=ctx,
                                          handler=HANDLERS[Action.RATE][1])
    except ActionError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    await publish_feed(request, outcome.change)
    return {"ticket_no": case.ticket_no, "rating": body.rating, "status": outcome.response["status"]}
