"""Citizens: look up a case by ticket number + the last four digits of their phone, add text or
photos to it while it is open, rate it once resolved.  The citizen page (/citizen) uses these.

No login: every request names the ticket and the last four digits, and only that case is
read or written.  What a citizen sees is minimal (status, category, the stages and a timeline
in plain words, the handling unit's public name, the result): no name, phone, address, text,
staff or internal notes (``services/tracker/citizen_progress.py``).  A wrong ticket and a
wrong last-4 get the same answer, and guessing is stopped by Redis rate limits per ticket and
per client address; additions have their own limits per case.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.workflow import FINISHED, OPEN
from services.platform.guard import BodyLimit
from services.tracker import citizen_progress as progress
from services.tracker import commands as c
from services.tracker.actions import ActionError, Ctx, Effect, run_action
from services.tracker.case_handlers import HANDLERS
from services.tracker.citizen_supplements import (
    MAX_TEXT_CHARS,
    Addition,
    SupplementError,
    add_photo,
    add_text,
    photo_count,
)
from services.tracker.models import Case, CaseEventRow
from services.tracker.responses import CitizenAdded, CitizenCase, CitizenRated, Stage, TimelineEntry
from services.tracker.routes_actions import publish_feed
from services.tracker.routes_cases import TICKET
from services.tracker.transitions import Action, allowed, status_name

router = APIRouter(prefix="/api/v1/public", tags=["citizen"])
LAST4 = r"^\d{4}$"
LINK_KEY = r"^[0-9a-f]{32}$"
NOT_FOUND = "工单号或手机号后四位不正确"
# limits: requests per client address per minute; failed checks per ticket / per address per hour
PER_IP_PER_MINUTE = 20
FAILS_PER_TICKET = 5
FAILS_PER_IP = 20
# additions (text or photos): per case and per client address, per hour
WRITES_PER_TICKET = 15  # nine photos and a few texts
WRITES_PER_IP = 30
PHOTO_MAX_BYTES = 5 * 2**20
PHOTO_TOO_LARGE = f"照片过大（上限 {PHOTO_MAX_BYTES // 2**20} MB），请换一张或压缩后重试"
# the request guard's larger body limit for the photo uploads (services/tracker/app.py)
PHOTO_LIMIT = BodyLimit(re.compile(r"^/api/v1/public/cases/[A-Z]{1,6}\d{14}/photos$"), PHOTO_MAX_BYTES, PHOTO_TOO_LARGE)
UploadKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")]


class RatingIn(c.Rate):
    phone_last4: str | None = Field(default=None, pattern=LAST4, description="来电/留言手机号后四位")
    key: str | None = Field(default=None, pattern=LINK_KEY, description="通知链接中的工单密钥（代替手机号后四位）")
    comment: str | None = Field(default=None, max_length=500, description="评价意见（可选）")


class CitizenRate(c.Rate):
    comment: str | None = None


class SupplementIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone_last4: str | None = Field(default=None, pattern=LAST4, description="手机号后四位")
    key: str | None = Field(default=None, pattern=LINK_KEY, description="通知链接中的工单密钥（代替手机号后四位）")
    text: str = Field(min_length=2, max_length=MAX_TEXT_CHARS, description="补充说明")


@dataclass(frozen=True, slots=True)
class Who:
    """How the citizen proves the case is theirs: the phone's last four digits, or the key of their link."""

    last4: str | None
    key: str | None

    def actor(self, case: Case) -> str:
        if self.last4 is None and case.citizen_id:
            return f"citizen:wechat:{case.citizen_id}"
        return f"citizen:****{self.last4}" if self.last4 else "citizen:link"


Last4Query = Annotated[str | None, Query(pattern=LAST4, description="手机号后四位")]
KeyQuery = Annotated[str | None, Query(alias="k", pattern=LINK_KEY, description="通知链接中的工单密钥")]


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


def _match(request: Request, case: Case | None, who: Who) -> bool:
    if case is None:
        return False
    if who.key is not None:
        secret = request.app.state.settings.citizen_link_secret
        return progress.key_matches(secret.get_secret_value() if secret else None, case.ticket_no, who.key)
    phone = case.phone or ""
    return who.last4 is not None and len(phone) >= 4 and hmac.compare_digest(phone[-4:], who.last4)


def _find(request: Request, ticket_no: str) -> Case | None:
    with request.app.state.sessions() as s:
        case: Case | None = s.scalars(select(Case).where(Case.ticket_no == ticket_no)).first()
        return case


async def _checked(request: Request, ticket_no: str, who: Who) -> Case:
    if who.last4 is None and who.key is None:
        raise HTTPException(422, "请输入手机号后四位")
    await _guard(request, ticket_no)
    case = await asyncio.to_thread(_find, request, ticket_no)
    if case is None or not _match(request, case, who):
        await _failed(request, ticket_no)
        raise HTTPException(404, NOT_FOUND)
    return case


async def _write_guard(request: Request, ticket_no: str) -> None:
    """Additions: at most WRITES_PER_TICKET per case and WRITES_PER_IP per address in an hour."""
    redis = request.app.state.redis
    p = f"{request.app.state.settings.redis_prefix}rl:public:w:"
    keys = (f"{p}t:{ticket_no}", f"{p}ip:{_client(request)}")
    async with redis.pipeline(transaction=True) as pipe:
        for key in keys:
            pipe.set(key, 0, ex=3600, nx=True)
            pipe.incr(key)
        _, per_ticket, _, per_ip = await pipe.execute()
    if int(per_ticket) > WRITES_PER_TICKET or int(per_ip) > WRITES_PER_IP:
        raise HTTPException(429, "补充过于频繁，请一小时后再试", headers={"Retry-After": "3600"})


def _history(request: Request, case: Case) -> list[progress.HistoryRow]:
    with request.app.state.sessions() as s:
        return _rows(s, case.complaint_id)


def _rows(s: Session, complaint_id: str) -> list[progress.HistoryRow]:
    rows = s.scalars(select(CaseEventRow).where(CaseEventRow.complaint_id == complaint_id)
                     .order_by(CaseEventRow.at, CaseEventRow.id)).all()
    return [progress.HistoryRow(r.type, r.at, r.data or {}) for r in rows]


def citizen_view(request: Request, case: Case, history: list[progress.HistoryRow]) -> CitizenCase:
    city = request.app.state.core.city
    tz = ZoneInfo(city.timezone)
    category = city.categories.get(case.category) if case.category else None
    unit = city.units.get(case.unit) if case.unit else None
    unit_name = progress.unit_name(city.units, case.unit)
    finished = case.status in FINISHED
    can_rate = case.rating is None and allowed(case, "rate")
    return CitizenCase(
        ticket_no=case.ticket_no,
        status=case.status,
        status_name=status_name(case.status),
        headline=progress.headline(case.status, unit_name, can_rate, centre=progress.centre_name(city)),
        stages=[Stage(**s) for s in progress.stages(case.status, unit_name)],
        timeline=[TimelineEntry(**t) for t in progress.timeline(history, city, tz)],
        category_name=category.name if category else None,
        handled_by=unit.citizen_name if unit else None,
        received_at=case.received_at.isoformat(),
        received_at_text=progress.beijing(case.received_at, tz),
        accepted_at=case.accepted_at.isoformat() if case.accepted_at else None,
        resolved_at=case.resolved_at.isoformat() if case.resolved_at else None,
        closed_at=case.closed_at.isoformat() if case.closed_at else None,
        result=case.result if finished else None,
        rating=case.rating,
        can_rate=can_rate,
        can_add=case.status in OPEN,
        photos_added=photo_count(case),
    )


@router.get("/cases/{ticket_no}", summary="市民查询办理进度")
async def lookup(request: Request, ticket_no: Annotated[str, TICKET],
                 phone_last4: Last4Query = None, key: KeyQuery = None) -> CitizenCase:
    case = await _checked(request, ticket_no, Who(phone_last4, key))
    return citizen_view(request, case, await asyncio.to_thread(_history, request, case))


async def _added(request: Request, case: Case, out: dict[str, Any]) -> None:
    if not out["replayed"]:
        await publish_feed(request, {"type": "supplemented", "ticket_no": case.ticket_no, "status": case.status,
                                     "unit": case.unit, "category": case.category, "territory": case.territory,
                                     "actor": "citizen"})


@router.post("/cases/{ticket_no}/supplements", summary="市民补充情况（文字）", status_code=201,
             response_model_exclude_unset=True,
             responses={200: {"description": "重复提交：已补充过同样的内容", "model": CitizenAdded}, 409: {"description": "工单已办结"},
                        429: {"description": "补充过于频繁"}})
async def supplement(request: Request, response: Response, ticket_no: Annotated[str, TICKET],
                     body: SupplementIn) -> CitizenAdded:
    who = Who(body.phone_last4, body.key)
    case = await _checked(request, ticket_no, who)
    await _write_guard(request, case.ticket_no)
    add = Addition(ticket_no=case.ticket_no, actor=who.actor(case), now=datetime.now(UTC))
    try:
        out = await asyncio.to_thread(add_text, request.app.state.sessions, request.app.state.core, add, body.text)
    except SupplementError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    await _added(request, case, out)
    response.status_code = 200 if out["replayed"] else 201
    return CitizenAdded(**out)


async def _body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, PHOTO_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/cases/{ticket_no}/photos", summary="市民补充照片", status_code=201,
             response_model_exclude_unset=True,
             responses={200: {"description": "重复上传：该照片已补充", "model": CitizenAdded}, 409: {"description": "工单已办结或照片已满"},
                        413: {"description": "照片过大"}, 415: {"description": "不是可识别的图片"},
                        429: {"description": "补充过于频繁"}})
async def photo(request: Request, response: Response, ticket_no: Annotated[str, TICKET],
                phone_last4: Last4Query = None, key: KeyQuery = None, upload_id: UploadKey = None) -> CitizenAdded:
    """The body is the photo itself (JPEG, PNG or WebP, decided by its bytes); ``Idempotency-Key`` names it
    (the page's photos.js uploads this way, as for the squad: a retry is stored once)."""
    who = Who(phone_last4, key)
    case = await _checked(request, ticket_no, who)
    content = await _body(request, PHOTO_MAX_BYTES)
    if not content:
        raise HTTPException(400, "没有收到照片内容，请重新选择照片")
    await _write_guard(request, case.ticket_no)
    add = Addition(ticket_no=case.ticket_no, actor=who.actor(case), now=datetime.now(UTC))
    try:
        out = await asyncio.to_thread(add_photo, request.app.state.sessions, request.app.state.media, add, content,
                                      upload_id or uuid.uuid4().hex)
    except SupplementError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    await _added(request, case, out)
    response.status_code = 200 if out["replayed"] else 201
    return CitizenAdded(**out)


def _rate(session: Session, case: Case, cmd: CitizenRate, ctx: Ctx) -> Effect:
    """The rating action, with the citizen's optional comment kept in its history event."""
    effect = HANDLERS[Action.RATE][1](session, case, c.Rate(rating=cmd.rating), ctx)
    if cmd.comment:
        effect.data["comment"] = cmd.comment
    return effect


@router.post("/cases/{ticket_no}/rating", summary="市民评价（办结后一次）")
async def rating(request: Request, ticket_no: Annotated[str, TICKET], body: RatingIn) -> CitizenRated:
    who = Who(body.phone_last4, body.key)
    case = await _checked(request, ticket_no, who)
    ctx = Ctx(engine=request.app.state.core, now=datetime.now(UTC), actor=who.actor(case))
    cmd = CitizenRate(rating=body.rating, action_id=body.action_id, expected_version=body.expected_version,
                      comment=body.comment or None)
    try:
        outcome = await asyncio.to_thread(run_action, request.app.state.sessions, ticket_no=case.ticket_no,
                                          action=Action.RATE.value, cmd=cmd, ctx=ctx, handler=_rate)
    except ActionError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    await publish_feed(request, outcome.change)
    return CitizenRated(ticket_no=case.ticket_no, rating=body.rating, status=outcome.response["status"])
