"""POST /api/v1/cases/{ticket}/link: a call about an open case is recorded on it, not filed again.

One transaction: a ``linked_call`` case event (text, caller, actor), the case's version
bumped (guarded like every case change), the ``CaseEvent`` in the outbox for
``cases.events``, and with an ``Idempotency-Key`` the response for a retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.events import MAX_TEXT_CHARS, CaseEvent
from services.core.workflow import STATUS_LABELS
from services.intake.hotline import Phone
from services.platform.topics import CASES_EVENTS
from services.tracker.actions import snapshot
from services.tracker.auth import Principal, Role, require
from services.tracker.models import Case, CaseAction, CaseEventRow, OutboxRow
from services.tracker.pages.duplicates import NOT_OPEN
from services.tracker.pages.responses import Linked
from services.tracker.routes_cases import TICKET

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["pages"])
LINKED = "linked_call"


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=2, max_length=MAX_TEXT_CHARS, description="本次来电反映的内容")
    phone: Phone
    name: str | None = Field(default=None, max_length=100)


class Conflict(Exception):
    pass


def _link_once(session: Session, ticket_no: str, body: LinkIn, actor: str, key: str | None) -> dict[str, Any]:
    if key is not None and (prior := session.get(CaseAction, key)) is not None:
        if prior.action != LINKED or prior.response.get("ticket_no") != ticket_no:
            raise HTTPException(422, "该操作编号已用于另一项操作")
        return {**prior.response, "replayed": True}
    case = session.scalars(select(Case).where(Case.ticket_no == ticket_no)).first()
    if case is None:
        raise HTTPException(404, f"工单 {ticket_no} 不存在")
    if case.status in NOT_OPEN:
        name = next((v for k, v in STATUS_LABELS.items() if k.value == case.status), case.status)
        raise HTTPException(409, f"工单 {ticket_no} 当前状态为「{name}」，请作为新来电受理")
    now = datetime.now(UTC)
    calls = 1 + (session.scalar(select(func.count()).select_from(CaseEventRow).where(
        CaseEventRow.complaint_id == case.complaint_id, CaseEventRow.type == LINKED)) or 0)
    loaded = case.version
    done = session.execute(update(Case).where(Case.complaint_id == case.complaint_id, Case.version == loaded)
                           .values(version=loaded + 1, updated_at=now).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 1) != 1:
        raise Conflict(ticket_no)
    case.version = loaded + 1
    data = {"text": body.text, "phone": body.phone, "name": body.name, "linked_calls": calls, "case": snapshot(case)}
    event = CaseEvent(event_id=f"{LINKED}-{uuid.uuid4().hex}", complaint_id=case.complaint_id,
                      ticket_no=ticket_no, type=LINKED, actor=actor, at=now, data=data)
    session.add(CaseEventRow(event_id=event.event_id, complaint_id=case.complaint_id, type=LINKED, actor=actor,
                             at=now, data=data))
    session.add(OutboxRow(topic=CASES_EVENTS, key=case.complaint_id, payload=event.model_dump_json(),
                          created_at=now, published_at=None))
    response = {"ticket_no": ticket_no, "status": case.status, "unit": case.unit, "linked_calls": calls,
                "version": case.version, "event_id": event.event_id, "actor": actor, "replayed": False,
                "category": case.category, "territory": case.territory}
    if key is not None:
        session.add(CaseAction(key=key, complaint_id=case.complaint_id, action=LINKED, response=response,
                               created_at=now))
    return response


def link_call(sessions: sessionmaker[Session], ticket_no: str, body: LinkIn, actor: str,
              key: str | None) -> dict[str, Any]:
    """Blocking; retried when another change to the case won the version race."""
    for _ in range(3):
        try:
            with sessions.begin() as session:
                return _link_once(session, ticket_no, body, actor, key)
        except Conflict:
            continue
    raise HTTPException(409, "工单刚被他人修改，请重试")


@router.post("/cases/{ticket_no}/link", status_code=201, summary="来电关联到在办工单（不新建工单）")
async def link(
    request: Request,
    ticket_no: Annotated[str, TICKET],
    body: LinkIn,
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                                  pattern=r"^[\x21-\x7e]+$")] = None,
) -> Linked:
    key = f"{principal.actor}|{idempotency_key}"[:300] if idempotency_key else None
    out = await asyncio.to_thread(link_call, request.app.state.sessions, ticket_no, body, principal.actor, key)
    if not out.get("replayed"):
        state = request.app.state
        change = {"type": LINKED, "ticket_no": ticket_no, "status": out["status"], "unit": out["unit"],
                  "category": out["category"], "territory": out["territory"], "actor": principal.actor,
                  "linked_calls": out["linked_calls"], "at": datetime.now(UTC).isoformat()}
        try:
            await state.redis.publish(f"{state.settings.redis_prefix}feed", json.dumps(change, ensure_ascii=False))
        except Exception as exc:  # the feed is best effort; the database is the truth
            log.debug("live feed publish failed: %s", exc)
    return Linked.model_validate(out)
