"""WeChat intake when the database fails around the write (the chaos run's phantom case).

WeChat cannot retry an answered push, so once the intake record is committed the citizen must get its
ticket, never "not registered": the reconciler turns every committed record into a case.  Real intake
service, IntakeStore on SQLite/PostgreSQL and Redis; the publisher and the store's failures are scripted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from services.core.engine import Engine
from services.core.events import Channel
from services.intake import service as intake_service
from services.intake.service import ComplaintDraft, IntakeService, RequestInProgress
from services.intake.store import PENDING, QUEUED, IntakeStore
from services.intake.tickets import TicketAllocator
from services.intake.wechat_port import WeChatIntakePort
from services.platform.db import make_engine, make_sessionmaker
from services.platform.migrate import upgrade
from services.tracker.models import IntakeRecord

DRAFT = ComplaintDraft(channel=Channel.WECHAT, text="如城街道海阳路工地夜间施工噪音扰民", citizen_id="o-ambiguous")


class Publisher:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sent: list[str] = []

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.sent.append(key)


def lost_answer(exc: Exception) -> OperationalError:
    return OperationalError("INSERT INTO intake_log", {}, exc)


class ScriptedStore(IntakeStore):
    """The real store; the first insert commits and then fails (the answer was lost on the wire),
    or fails before committing; `mark` can fail as well."""

    def __init__(self, *args: Any, insert_faults: list[str], mark_fails: bool = False) -> None:
        super().__init__(*args)
        self.insert_faults = list(insert_faults)  # the parameter list is shared between test cases
        self.mark_fails = mark_fails
        self.inserts = 0

    def insert(self, **row: Any) -> None:
        self.inserts += 1
        fault = self.insert_faults.pop(0) if self.insert_faults else None
        if fault == "before":
            raise lost_answer(ConnectionError("server closed the connection"))
        super().insert(**row)
        if fault == "after":
            raise lost_answer(ConnectionError("server closed the connection after COMMIT"))

    def mark(self, complaint_id: str, state: str, at: datetime | None = None) -> None:
        if self.mark_fails:
            raise lost_answer(ConnectionError("database away"))
        super().mark(complaint_id, state, at)


async def make_service(database_url: str, redis_url: str, prefix: str, store_faults: list[str],
                       mark_fails: bool = False, broker_fails: bool = False
                       ) -> tuple[IntakeService, ScriptedStore, Publisher, Redis]:
    upgrade(database_url)
    store = ScriptedStore(make_sessionmaker(make_engine(database_url)), insert_faults=store_faults,
                          mark_fails=mark_fails)
    redis = Redis.from_url(redis_url)
    tickets = TicketAllocator(redis, prefix="RG", timezone="Asia/Shanghai", key_prefix=prefix,
                              max_in_db=store.max_ticket)
    publisher = Publisher(broker_fails)
    service = IntakeService(city="rugao", publisher=publisher, redis=redis, store=store, tickets=tickets,
                            key_prefix=prefix, publish_timeout_s=0.3)
    return service, store, publisher, redis


def records(store: IntakeStore) -> list[IntakeRecord]:
    with store._sessions() as s:
        return list(s.scalars(select(IntakeRecord)))


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake_service, "INSERT_RETRY_PAUSE_S", 0.05)


@pytest.mark.parametrize(("faults", "inserts"), [(["before", "before"], 3), (["after"], 2)],
                         ids=["lost-before-commit", "lost-after-commit"])
async def test_a_failed_wechat_insert_is_retried_and_ticketed_once(database_url: str, redis_url: str,
                                                                   redis_prefix: str, faults: list[str],
                                                                   inserts: int) -> None:
    service, store, publisher, redis = await make_service(database_url, redis_url, redis_prefix, faults)
    ticket = await service.submit(DRAFT, idempotency_key="wechat:msg-1", durable_fallback=True)
    [row] = records(store)
    assert (row.ticket_no, row.complaint_id) == (ticket.ticket_no, ticket.complaint_id)
    assert publisher.sent == [ticket.complaint_id]  # published once, the stored record
    assert store.inserts == inserts  # a retry writes the record, or finds its own committed one
    assert ticket.ticket_no in row.payload
    await redis.aclose()


async def test_the_hotline_does_not_retry_an_insert(database_url: str, redis_url: str, redis_prefix: str) -> None:
    service, store, _, redis = await make_service(database_url, redis_url, redis_prefix, ["before"])
    with pytest.raises(OperationalError):  # the API answers 503 and the caller retries with its key
        await service.submit(ComplaintDraft(channel=Channel.HOTLINE, text=DRAFT.text), idempotency_key="call-1")
    assert records(store) == [] and store.inserts == 1
    await redis.aclose()


async def test_broker_and_database_away_after_the_insert_still_give_the_ticket(
        database_url: str, redis_url: str, redis_prefix: str) -> None:
    service, store, _, redis = await make_service(database_url, redis_url, redis_prefix, [], mark_fails=True,
                                                  broker_fails=True)
    ticket = await service.submit(DRAFT, idempotency_key="wechat:msg-2", durable_fallback=True)
    [row] = records(store)
    assert row.ticket_no == ticket.ticket_no and ticket.queued
    assert row.state == PENDING  # not marked; the reconciler creates the case from the record
    store.mark_fails = False
    again = await service.submit(DRAFT, idempotency_key="wechat:msg-2", durable_fallback=True)
    assert again.ticket_no == ticket.ticket_no and again.replayed
    assert len(records(store)) == 1
    await redis.aclose()


async def test_a_queued_record_is_marked_when_the_database_answers(database_url: str, redis_url: str,
                                                                   redis_prefix: str) -> None:
    service, store, _, redis = await make_service(database_url, redis_url, redis_prefix, [], broker_fails=True)
    ticket = await service.submit(DRAFT, idempotency_key="wechat:msg-3", durable_fallback=True)
    [row] = records(store)
    assert row.state == QUEUED and ticket.queued
    await redis.aclose()


async def test_a_second_delivery_while_the_first_is_storing_is_told_in_progress(
        database_url: str, redis_url: str, redis_prefix: str) -> None:
    """What the WeChat port waits on (instead of answering "not registered"): the first delivery
    holds the key while its insert is retried."""
    service, store, _, redis = await make_service(database_url, redis_url, redis_prefix, ["before"] * 6)
    first = asyncio.create_task(service.submit(DRAFT, idempotency_key="wechat:msg-4", durable_fallback=True))
    await asyncio.sleep(0.1)
    with pytest.raises(RequestInProgress):
        await service.submit(DRAFT, idempotency_key="wechat:msg-4", durable_fallback=True)
    ticket = await first
    again = await service.submit(DRAFT, idempotency_key="wechat:msg-4", durable_fallback=True)
    assert again.ticket_no == ticket.ticket_no and len(records(store)) == 1
    assert datetime.now(UTC) > ticket.received_at
    await redis.aclose()


async def test_the_wechat_port_waits_for_a_delivery_still_storing(database_url: str, redis_url: str,
                                                                  redis_prefix: str) -> None:
    """A WeChat retry arriving while the first delivery is still storing gets that delivery's ticket,
    not an error reply ("暂未登记成功") for a complaint that is in fact registered."""
    service, store, _, redis = await make_service(database_url, redis_url, redis_prefix, ["before"] * 8)
    port = WeChatIntakePort(intake=service, sessions=store._sessions, engine=Engine.load("rugao"),
                            publish_timeout_s=0.3)

    def create() -> Any:
        return port.create_complaint(openid="o-ambiguous", text=DRAFT.text, location=None, attachments=[],
                                     needs_operator=False, dedupe_key="msg-5")

    first = asyncio.create_task(create())
    await asyncio.sleep(0.1)
    second = await create()
    assert second.ticket_no == (await first).ticket_no
    assert len(records(store)) == 1
    await redis.aclose()
