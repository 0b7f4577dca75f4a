"""Fixtures for the resolution-tracking tests: the API on real Tansu, Redis and SQLite/PostgreSQL,
users of every role, and cases created through the real projection code."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.engine import Engine
from services.core.events import Attachment, CategoryScore, Channel, ComplaintReceived, ComplaintRouted
from services.platform.db import make_engine, make_sessionmaker
from services.platform.embedded import EmbeddedProcess
from services.platform.migrate import upgrade
from services.platform.settings import ApiSettings
from services.tracker.app import create_app
from services.tracker.auth import Role, add_user
from services.tracker.models import Case
from services.tracker.projection import apply_received, apply_routed
from tests.conftest import ADMIN_TOKEN
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi

BAIPU_TEXT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
PHONE = "13812345678"
_seq = itertools.count(int(time.time() * 1000) % 900000)


@pytest.fixture(scope="session")
def core() -> Engine:
    return Engine.load("rugao")


@dataclass
class Api:
    client: TestClient
    sessions: sessionmaker[Session]
    tokens: dict[str, str]
    redis_prefix: str

    def h(self, role: str, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return headers

    def post(self, role: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.h(role, **headers))

    def get(self, role: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.h(role))

    def case(self, ticket: str) -> Case:
        with self.sessions() as s:
            found: Case = s.scalars(select(Case).where(Case.ticket_no == ticket)).one()
            return found

    def set(self, ticket: str, **values: Any) -> None:
        with self.sessions.begin() as s:
            s.execute(update(Case).where(Case.ticket_no == ticket).values(**values))


def make_users(sessions: sessionmaker[Session]) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    return {
        "admin": ADMIN_TOKEN,
        "operator": add_user(sessions, f"op-{tag}", Role.OPERATOR, None),
        "squad": add_user(sessions, f"baipu-{tag}", Role.SQUAD, "SQ_BAIPU"),
        "squad_other": add_user(sessions, f"rucheng-{tag}", Role.SQUAD, "SQ_RUCHENG"),
        "command": add_user(sessions, f"cc-{tag}", Role.COMMAND, None),
    }


@pytest.fixture
def api(tansu: EmbeddedProcess, database_url: str, redis_url: str, redis_prefix: str,
        core: Engine, tmp_path: Path) -> Iterator[Api]:
    upgrade(database_url)
    settings = ApiSettings(kafka_bootstrap=tansu.url, database_url=database_url, redis_url=redis_url,
                           redis_prefix=redis_prefix, admin_token=SecretStr(ADMIN_TOKEN), media_dir=tmp_path / "media")
    db = make_engine(database_url)
    sessions = make_sessionmaker(db)
    with TestClient(create_app(settings, engine=core), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 15
        while not client.app.state.publisher.connected:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "producer never connected"
            time.sleep(0.05)
        yield Api(client, sessions, make_users(sessions), redis_prefix)
    db.dispose()


def new_ticket() -> str:
    return f"RG20261126{next(_seq):06d}"


def make_case(sessions: sessionmaker[Session], *, unit: str = "SQ_BAIPU", category: str = "NOISE_CONSTRUCTION",
              territory: str | None = "320682105", village: str | None = "唐堡村委会", text: str = BAIPU_TEXT,
              phone: str | None = PHONE, received_at: datetime | None = None,
              accept_in: timedelta = timedelta(minutes=30), resolve_in: timedelta = timedelta(hours=4),
              routed: bool = True, channel: Channel = Channel.HOTLINE, attachments: Sequence[Attachment] = (),
              citizen_id: str | None = None, secondary_category: str | None = None) -> str:
    """A case as the stream would create it: ComplaintReceived then ComplaintRouted, via the projection."""
    ticket = new_ticket()
    at = received_at or datetime.now(UTC)
    cid = str(uuid.uuid4())
    received = ComplaintReceived(event_id=f"recv-{cid}", complaint_id=cid, ticket_no=ticket, city="rugao",
                                 channel=channel, text=text, phone=phone, name="王女士",
                                 address="某小区3栋", received_at=at, submitted_by="operator:test",
                                 attachments=list(attachments), citizen_id=citizen_id)
    with sessions.begin() as s:
        apply_received(s, received)
        if routed:
            s.flush()
            apply_routed(s, ComplaintRouted(
                event_id=f"route-{cid}", complaint_id=cid, ticket_no=ticket, routed_at=at, category=category,
                category_candidates=[CategoryScore(code=category, score=0.9), CategoryScore(code="GARBAGE", score=0.05)],
                territory=territory, village=village, unit=unit, rule="test", accept_by=at + accept_in,
                resolve_by=at + resolve_in, secondary_category=secondary_category))
    return ticket


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """An async client of the test Redis (the alert-state tests)."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


WECHAT_APPID, WECHAT_SECRET = "wx49f0ab532d5d035a", "tracker-secret"


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChatApi]:
    """A local server that answers like the WeChat API (notifications, media downloads)."""
    server = FakeWeChatApi(WECHAT_APPID, WECHAT_SECRET)
    await server.start()
    yield server
    await server.stop()
