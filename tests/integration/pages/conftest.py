"""Fixtures for the page endpoints: the API served by a real uvicorn (in a thread) on real Tansu,
Redis and SQLite/PostgreSQL, users of every role, and cases made by the real router + projection code."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived
from services.platform.embedded import EmbeddedProcess, free_port
from services.platform.migrate import upgrade
from services.platform.settings import ApiSettings
from services.tracker.app import create_app
from services.tracker.auth import Role, add_user
from services.tracker.models import Case
from services.tracker.projection import apply_routed
from tests.conftest import ADMIN_TOKEN

ROLES = ("admin", "operator", "squad", "squad_other", "command")


@dataclass
class LiveApi:
    app: FastAPI
    url: str
    tokens: dict[str, str]
    redis_prefix: str
    server: uvicorn.Server

    @property
    def sessions(self) -> sessionmaker[Session]:
        sessions: sessionmaker[Session] = self.app.state.sessions
        return sessions

    def h(self, role: str, **extra: str) -> dict[str, str]:
        return {**extra, **({"Authorization": f"Bearer {self.tokens[role]}"} if role != "anonymous" else {})}

    def post(self, role: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=self.h(role, **headers), timeout=10)

    def get(self, role: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.h(role), timeout=10, **kw)

    def new_case(self, text: str, *, ago: timedelta = timedelta(0), status: str | None = None,
                 phone: str = "13812345678", **overrides: str) -> str:
        """A case routed by the real router code and applied by the real projection."""
        return make_case(self.app.state.core, self.sessions, text, ago=ago, status=status, phone=phone, **overrides)


_seq = iter(range(100000, 999999))


def make_case(core: Engine, sessions: sessionmaker[Session], text: str, *, ago: timedelta = timedelta(0),
              status: str | None = None, phone: str = "13812345678", **overrides: str) -> str:
    now = datetime.now(UTC) - ago
    cid = str(uuid.uuid4())
    ticket = f"RG{now.strftime('%Y%m%d')}{next(_seq):06d}"
    received = ComplaintReceived.model_validate({
        "event_id": f"recv-{cid}", "complaint_id": cid, "ticket_no": ticket, "city": "rugao",
        "channel": Channel.HOTLINE, "text": text, "phone": phone, "received_at": now,
        "submitted_by": "operator:test", **overrides})
    with sessions.begin() as s:
        assert apply_routed(s, routed_event(received, decide(core, received), router="stream"), received)
        if status is not None:
            s.execute(update(Case).where(Case.complaint_id == cid).values(status=status))
    return ticket


def serve(app: FastAPI) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture
def api_factory(tansu: EmbeddedProcess, redis_url: str, redis_prefix: str,
                sqlite_url: str) -> Iterator[Callable[..., LiveApi]]:
    """Start API processes-in-threads sharing one database and one Redis prefix (like N replicas)."""
    servers: list[uvicorn.Server] = []
    upgrade(sqlite_url)
    tokens: dict[str, str] = {}

    def make(database_url: str = sqlite_url, heartbeat_s: float | None = None) -> LiveApi:
        if database_url != sqlite_url:
            upgrade(database_url)
        settings = ApiSettings(kafka_bootstrap=tansu.url, database_url=database_url, redis_url=redis_url,
                               redis_prefix=redis_prefix, admin_token=ADMIN_TOKEN)  # type: ignore[arg-type]
        app = create_app(settings)
        if heartbeat_s is not None:
            app.state.feed_heartbeat_s = heartbeat_s
        if not tokens:
            tag = uuid.uuid4().hex[:6]
            s = app.state.sessions
            tokens.update({"admin": ADMIN_TOKEN,
                           "operator": add_user(s, f"op-{tag}", Role.OPERATOR, None),
                           "squad": add_user(s, f"baipu-{tag}", Role.SQUAD, "SQ_BAIPU"),
                           "squad_other": add_user(s, f"rucheng-{tag}", Role.SQUAD, "SQ_RUCHENG"),
                           "command": add_user(s, f"cc-{tag}", Role.COMMAND, None)})
        server, url = serve(app)
        servers.append(server)
        return LiveApi(app, url, tokens, redis_prefix, server)

    yield make
    for server in servers:
        server.should_exit = True
    time.sleep(0.3)


@pytest.fixture
def api(api_factory: Callable[..., LiveApi], database_url: str) -> LiveApi:
    """One API on SQLite and on PostgreSQL (the ``database_url`` parameter)."""
    return api_factory(database_url)
