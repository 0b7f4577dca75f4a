"""Tell WeChat citizens about their case: accepted, resolved (with the rating request).

Consumes cases.events (group ``complaints-notifier``) in the tracker process.  Each
notification id is the case event id, and the WeChat client sends an id at most
once (Redis SET NX), so a replay of the topic never notifies twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.engine import Engine
from services.core.events import CaseEvent
from services.intake.wechat.client import NotifyResult, WeChatApiClient
from services.platform.settings import TrackerSettings
from services.platform.topics import CASES_EVENTS
from services.tracker.models import Case

log = logging.getLogger(__name__)


def message_for(event: CaseEvent, case: Case, engine: Engine) -> str | None:
    """The Chinese text a citizen gets for this event, or None if it is not worth a message."""
    unit = engine.city.units.get(case.unit or "")
    who = unit.name if unit else "承办单位"
    if event.type == "accepted":
        return f"您反映的问题（工单号 {case.ticket_no}）已由{who}签收，正在处理。"
    if event.type == "resolved":
        result = str(event.data.get("result") or case.result or "").strip()
        detail = f"处理结果：{result[:200]}。" if result else ""
        return (f"您反映的问题（工单号 {case.ticket_no}）已处理完毕。{detail}"
                "请回复“满意”“基本满意”或“不满意”对处理结果进行评价。")
    return None


class Notifier:
    def __init__(self, settings: TrackerSettings, sessions: sessionmaker[Session], engine: Engine,
                 client: WeChatApiClient) -> None:
        self.settings = settings
        self.sessions = sessions
        self.engine = engine
        self.client = client
        self.sent = 0

    def _case(self, complaint_id: str) -> Case | None:
        with self.sessions() as s:
            return s.scalars(select(Case).where(Case.complaint_id == complaint_id)).first()

    async def handle(self, raw: bytes | None) -> NotifyResult | None:
        try:
            event = CaseEvent.model_validate_json(raw or b"")
        except ValidationError:
            return None
        if event.type not in ("accepted", "resolved"):
            return None
        case = await asyncio.to_thread(self._case, event.complaint_id)
        if case is None or case.channel != "wechat" or not case.citizen_id:
            return None
        text = message_for(event, case, self.engine)
        if text is None:
            return None
        result = await self.client.notify(f"case-event:{event.event_id}", case.citizen_id, text)
        if result.sent:
            self.sent += 1
        else:
            log.warning("notification for %s (%s) not sent: %s", case.ticket_no, event.type, result.status)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                CASES_EVENTS, bootstrap_servers=s.kafka_bootstrap, group_id=f"{s.tracker_group}-notifier",
                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=s.consumer_fetch_wait_ms,
                session_timeout_ms=int(s.session_timeout_s * 1000), heartbeat_interval_ms=int(s.heartbeat_interval_s * 1000),
            )
            try:
                await consumer.start()
                while not stop.is_set():
                    batches: dict[Any, Any] = await consumer.getmany(timeout_ms=200, max_records=100)
                    for msgs in batches.values():
                        for m in msgs:
                            await self.handle(m.value)
                    if batches:
                        await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notifier error (%s: %s); reconnecting", type(exc).__name__, exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
