"""The real IntakePort of the WeChat conversation: the shared intake service plus the case tables."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.engine import Engine
from services.core.events import Attachment, Channel, GeoPoint
from services.core.workflow import RATEABLE, values
from services.intake.service import (
    STALE_MARGIN_S,
    ComplaintDraft,
    IdempotencyConflict,
    IntakeService,
    RequestInProgress,
)
from services.intake.service import Ticket as IntakeTicket
from services.intake.wechat import WeChatSettings, build_router
from services.intake.wechat.ports import MessageConflict, Ticket, TicketStatus
from services.platform.settings import ApiSettings
from services.tracker import supplements
from services.tracker.citizen_progress import status_url
from services.tracker.models import Case, IntakeRecord

VOICE_PLACEHOLDER = "【语音留言，待人工听取】"
# A delivery finding its message still being stored elsewhere polls this often, for up to the time after
# which the intake service adopts the other request's record (publish timeout + stale margin) plus this
IN_PROGRESS_PAUSE_S = 0.25
IN_PROGRESS_EXTRA_S = 3.0


class WeChatIntakePort:
    def __init__(self, *, intake: IntakeService, sessions: sessionmaker[Session], engine: Engine,
                 publish_timeout_s: float, public_base_url: str = "", link_secret: str | None = None) -> None:
        self._intake = intake
        self._sessions = sessions
        self._engine = engine
        self._timeout = publish_timeout_s
        self._base_url = public_base_url
        self._link_secret = link_secret

    def _status_url(self, ticket_no: str) -> str | None:
        """The citizen page of the ticket (with its key: a WeChat citizen gave no phone number)."""
        return status_url(self._base_url, ticket_no, self._link_secret) if self._base_url else None

    async def create_complaint(self, *, openid: str, text: str, location: GeoPoint | None,
                               attachments: list[Attachment], needs_operator: bool, dedupe_key: str) -> Ticket:
        body = text.strip() or VOICE_PLACEHOLDER
        draft = ComplaintDraft(channel=Channel.WECHAT, text=body, location=location, attachments=tuple(attachments),
                               citizen_id=openid, needs_operator=needs_operator)
        ticket = await self._submit(draft, dedupe_key)
        decision = await asyncio.to_thread(
            self._engine.decide, body, ticket.received_at, location_label=location.label if location else None,
            lat=location.lat if location else None, lon=location.lon if location else None)
        return Ticket(ticket_no=ticket.ticket_no, complaint_id=ticket.complaint_id,
                      place_found=decision.territory is not None, status_url=self._status_url(ticket.ticket_no))

    async def _submit(self, draft: ComplaintDraft, dedupe_key: str) -> IntakeTicket:
        """Submit once per message.  While an earlier delivery of the same message is still being
        stored (a retry after the API died mid-request), wait for its outcome instead of answering
        "not registered": its intake record may well become the case.  The handler's own deadline
        answers WeChat in time meanwhile and caps this wait."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._timeout + STALE_MARGIN_S + IN_PROGRESS_EXTRA_S
        while True:
            try:
                return await self._intake.submit(draft, idempotency_key=f"wechat:{dedupe_key}",
                                                 durable_fallback=True, timeout_s=self._timeout)
            except IdempotencyConflict as exc:
                raise MessageConflict(dedupe_key) from exc
            except RequestInProgress:
                if loop.time() >= give_up:
                    raise
                await asyncio.sleep(IN_PROGRESS_PAUSE_S)

    async def supplement(self, *, ticket_no: str, openid: str, text: str | None, location: GeoPoint | None,
                         attachments: list[Attachment]) -> None:
        data: dict[str, Any] = {"text": text or None, "location": location.model_dump() if location else None,
                "attachments": [a.model_dump() for a in attachments], "channel": "wechat"}
        await asyncio.to_thread(self._supplement, ticket_no, f"citizen:wechat:{openid}", data)

    def _supplement(self, ticket_no: str, actor: str, data: dict[str, Any]) -> None:
        with self._sessions.begin() as session:
            record = session.scalars(select(IntakeRecord).where(IntakeRecord.ticket_no == ticket_no)).first()
            if record is None:
                raise LookupError(f"no complaint with ticket {ticket_no}")
            supplements.add(session, complaint_id=record.complaint_id, ticket_no=ticket_no, actor=actor,
                            data=data, engine=self._engine)

    async def recent_tickets(self, *, openid: str, limit: int = 5) -> list[TicketStatus]:
        return await asyncio.to_thread(self._recent, openid, limit)

    def _recent(self, openid: str, limit: int) -> list[TicketStatus]:
        from services.tracker.transitions import STATUS_NAMES

        categories = self._engine.city.categories
        with self._sessions() as session:
            cases = session.scalars(select(Case).where(Case.citizen_id == openid)
                                    .order_by(Case.received_at.desc()).limit(limit)).all()
        return [TicketStatus(ticket_no=c.ticket_no, status=STATUS_NAMES.get(c.status, c.status),
                             category=categories[c.category].name if c.category in categories else None,
                             status_url=self._status_url(c.ticket_no))
                for c in cases]

    async def record_rating(self, *, openid: str, ticket_no: str | None, rating: str) -> str | None:
        return await asyncio.to_thread(self._rate, openid, ticket_no, rating)

    def _rate(self, openid: str, ticket_no: str | None, rating: str) -> str | None:
        from services.tracker.actions import ActionError, Ctx, run_action
        from services.tracker.case_handlers import HANDLERS
        from services.tracker.commands import Rate
        from services.tracker.transitions import Action

        with self._sessions() as session:
            q = select(Case).where(Case.citizen_id == openid, Case.status.in_(values(RATEABLE)), Case.rating.is_(None))
            if ticket_no:
                q = q.where(Case.ticket_no == ticket_no)
            case = session.scalars(q.order_by(Case.resolved_at.desc())).first()
        if case is None:
            return None
        _, handler = HANDLERS[Action.RATE]
        ctx = Ctx(engine=self._engine, now=datetime.now(UTC), actor=f"citizen:wechat:{openid}")
        try:
            run_action(self._sessions, ticket_no=case.ticket_no, action=Action.RATE.value,
                       cmd=Rate.model_validate({"rating": rating}), ctx=ctx, handler=handler,
                       idempotency_key=f"rate:{case.ticket_no}")
        except ActionError:
            return None
        return case.ticket_no


def wechat_router(settings: ApiSettings, *, intake: IntakeService, sessions: sessionmaker[Session], engine: Engine,
                  redis: Redis) -> APIRouter | None:
    """The /wechat/callback router when the account is configured (COMPLAINTS_WECHAT_TOKEN), else None."""
    if settings.wechat_token is None:
        return None
    wechat = WeChatSettings(
        token=settings.wechat_token, encoding_aes_key=settings.wechat_encoding_aes_key,
        appid=settings.wechat_appid or "", window_s=settings.wechat_window_s, max_body=settings.max_body_bytes,
        key_prefix=f"{settings.redis_prefix}wechat:", require_encryption=settings.wechat_require_encryption,
        max_text_chars=engine.city.max_text_chars,
    )
    secret = settings.citizen_link_secret
    port = WeChatIntakePort(intake=intake, sessions=sessions, engine=engine,
                            publish_timeout_s=settings.wechat_publish_timeout_s,
                            public_base_url=settings.public_base_url,
                            link_secret=secret.get_secret_value() if secret else None)
    return build_router(wechat, lambda: port, lambda: redis)
