"""Tell WeChat citizens about their case: accepted, resolved (with the rating request).

Driven by the database, not by the broker: every sweep looks for recent ``accepted`` and
``resolved`` case events of WeChat cases that have no ``case_notifications`` row yet,
sends them, and records the outcome.  An embedded broker that restarts (and forgets
cases.events) therefore loses no notification, and the row — plus the WeChat client's
own Redis claim per notification id — means none is sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from services.core.engine import Engine
from services.intake.wechat.client import NotifyStatus, WeChatApiClient
from services.platform.db import UTCDateTime
from services.platform.settings import TrackerSettings
from services.tracker.citizen_progress import status_url
from services.tracker.models import Base, Case, CaseEventRow

log = logging.getLogger(__name__)
NOTIFIED_TYPES = ("accepted", "resolved")
FINAL = {NotifyStatus.SENT_CUSTOM, NotifyStatus.SENT_SUBSCRIBE, NotifyStatus.DUPLICATE, NotifyStatus.NO_CHANNEL,
         NotifyStatus.UNKNOWN}


class CaseNotification(Base):
    __tablename__ = "case_notifications"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


def message_for(event_type: str, data: dict[str, object], case: Case, engine: Engine,
                base_url: str = "", link_secret: str | None = None) -> str | None:
    """The Chinese text a citizen gets for this event, or None if it is not worth a message.

    With the public ``base_url`` configured it links to the citizen page of the ticket (with its key
    when the link secret is set: a WeChat citizen gave no phone number to look it up with)."""
    unit = engine.city.units.get(case.unit or "")
    who = unit.citizen_name if unit else "承办单位"
    link = status_url(base_url, case.ticket_no, link_secret) if base_url else ""
    if event_type == "accepted":
        more = f"查看办理进度：{link}" if link else ""
        return f"您反映的问题（工单号 {case.ticket_no}）已由{who}签收，正在处理。{more}"
    if event_type == "resolved":
        result = str(data.get("result") or case.result or "").strip()
        detail = f"处理结果：{result[:200]}。" if result else ""
        more = f"也可打开 {link} 查看办理记录并评价。" if link else ""
        return (f"您反映的问题（工单号 {case.ticket_no}）已处理完毕。{detail}"
                f"请回复“满意”“基本满意”或“不满意”对处理结果进行评价。{more}")
    return None


class Notifier:
    def __init__(self, settings: TrackerSettings, sessions: sessionmaker[Session], engine: Engine,
                 client: WeChatApiClient, lookback: timedelta = timedelta(hours=48)) -> None:
        self.settings = settings
        self.sessions = sessions
        self.engine = engine
        self.client = client
        self.lookback = lookback
        self.sent = 0
        self._secret = settings.citizen_link_secret.get_secret_value() if settings.citizen_link_secret else None

    def pending(self, limit: int = 100) -> list[tuple[CaseEventRow, Case]]:
        since = datetime.now(UTC) - self.lookback
        q = (select(CaseEventRow, Case).join(Case, Case.complaint_id == CaseEventRow.complaint_id)
             .outerjoin(CaseNotification, CaseNotification.event_id == CaseEventRow.event_id)
             .where(CaseEventRow.type.in_(NOTIFIED_TYPES), CaseEventRow.at > since, Case.channel == "wechat",
                    Case.citizen_id.is_not(None), CaseNotification.event_id.is_(None))
             .order_by(CaseEventRow.id).limit(limit))
        with self.sessions() as s:
            return [(row[0], row[1]) for row in s.execute(q).all()]

    def record(self, event: CaseEventRow, status: NotifyStatus) -> None:
        try:
            with self.sessions.begin() as s:
                s.add(CaseNotification(event_id=event.event_id, complaint_id=event.complaint_id,
                                       status=status.value, at=datetime.now(UTC)))
        except IntegrityError:  # another tracker instance recorded it first
            pass

    async def sweep(self) -> int:
        """Send what is due; returns how many were sent."""
        sent = 0
        for event, case in await asyncio.to_thread(self.pending):
            text = message_for(event.type, event.data or {}, case, self.engine, self.settings.public_base_url,
                               self._secret)
            if text is None or case.citizen_id is None:
                continue
            # the complaint itself was a message of the citizen's: the 48 h window holds even if Redis lost it
            result = await self.client.notify(f"case-event:{event.event_id}", case.citizen_id, text,
                                              last_message_at=case.received_at.timestamp())
            if result.status is NotifyStatus.UNKNOWN:
                log.warning("notification for %s (%s): %s", case.ticket_no, event.type, result.detail)
            if result.status in FINAL:
                await asyncio.to_thread(self.record, event, result.status)
            # in progress elsewhere, quota or a failure: the next sweep asks again
            elif result.status is not NotifyStatus.IN_PROGRESS:
                log.warning("notification for %s (%s) not sent yet: %s", case.ticket_no, event.type, result.status)
            if result.sent:
                sent += 1
        self.sent += sent
        return sent
