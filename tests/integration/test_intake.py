"""Hotline intake against a real Tansu broker, real Redis and SQLite/PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from sqlalchemy import func, select

from services.core.events import ComplaintReceived
from services.platform.db import make_engine, make_sessionmaker
from services.platform.embedded import EmbeddedProcess, free_port
from services.platform.migrate import upgrade
from services.platform.settings import ApiSettings
from services.platform.topics import COMPLAINTS_RECEIVED
from services.tracker.app import create_app
from services.tracker.auth import Role, add_user
from services.tracker.models import IntakeRecord
from tests.conftest import ADMIN_TOKEN

BODY = {"channel": "hotline", "text": "如城街道花园社区门口有人占道摆摊卖水果", "phone": "13812345678"}
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def make_client(bootstrap: str, database_url: str, redis_url: str, prefix: str, **kw: Any) -> TestClient:
    upgrade(database_url)
    settings = ApiSettings(kafka_bootstrap=bootstrap, database_url=database_url, redis_url=redis_url,
                           redis_prefix=prefix, admin_token=ADMIN_TOKEN, **kw)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def wait_connected(client: TestClient, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not client.app.state.publisher.connected:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "producer never connected"
        time.sleep(0.05)


def intake_rows(database_url: str) -> int:
    with make_sessionmaker(make_engine(database_url))() as s:
        return int(s.scalar(select(func.count()).select_from(IntakeRecord)) or 0)


def topic_records(bootstrap: str) -> list[ComplaintReceived]:
    consumer = KafkaConsumer(COMPLAINTS_RECEIVED, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=1500, group_id=None)
    out = [ComplaintReceived.model_validate_json(m.value) for m in consumer]
    consumer.close()
    return out


@pytest.fixture
def client(tansu: EmbeddedProcess, database_url: str, redis_url: str, redis_prefix: str) -> Iterator[TestClient]:
    with make_client(tansu.url, database_url, redis_url, redis_prefix) as c:
        wait_connected(c)
        yield c


def test_ticket_only_after_publish_and_idempotent(client: TestClient, tansu: EmbeddedProcess, database_url: str) -> None:
    key = f"idem-{time.time_ns()}"
    r1 = client.post("/api/v1/complaints", json=BODY, headers={**AUTH, "Idempotency-Key": key})
    assert r1.status_code == 201, r1.text
    ticket = r1.json()["ticket_no"]
    r2 = client.post("/api/v1/complaints", json=BODY, headers={**AUTH, "Idempotency-Key": key})
    assert r2.status_code == 200 and r2.json()["ticket_no"] == ticket and r2.json()["replayed"] is True
    on_topic = [e for e in topic_records(tansu.url) if e.complaint_id == r1.json()["complaint_id"]]
    assert len(on_topic) == 1
    assert on_topic[0].text == BODY["text"] and on_topic[0].phone == "13812345678"
    assert on_topic[0].submitted_by == "admin:admin"
    assert intake_rows(database_url) == 1


def test_tickets_are_unique_and_sortable(client: TestClient) -> None:
    tickets = [client.post("/api/v1/complaints", json=BODY, headers=AUTH).json()["ticket_no"] for _ in range(5)]
    assert len(set(tickets)) == 5
    assert tickets == sorted(tickets)
    assert all(t.startswith("RG") and len(t) == 16 for t in tickets)


@pytest.mark.parametrize(("body", "field"), [
    ({**BODY, "text": ""}, "text"),
    ({**BODY, "text": "字" * 4001}, "text"),
    ({**BODY, "phone": "not-a-phone"}, "phone"),
    ({**BODY, "channel": "fax"}, "channel"),
    ({"text": "只有内容"}, "phone"),
    ({**BODY, "reported_at": "2026-11-26T08:00:00"}, "reported_at"),
    ({**BODY, "text": "含有\x00控制字符"}, "text"),
])
def test_invalid_input_names_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/api/v1/complaints", json=body, headers=AUTH)
    assert r.status_code == 422
    assert any(field in e["loc"] for e in r.json()["detail"]), r.json()


def test_oversized_body_is_refused(client: TestClient) -> None:
    r = client.post("/api/v1/complaints", content=b'{"text":"' + b"a" * 70000 + b'"}', headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413


def test_authentication_and_roles(client: TestClient, database_url: str) -> None:
    assert client.post("/api/v1/complaints", json=BODY).status_code == 401
    assert client.post("/api/v1/complaints", json=BODY, headers={"Authorization": "Bearer nope"}).status_code == 401
    squad = add_user(make_sessionmaker(make_engine(database_url)), "squad-baipu", Role.SQUAD, "SQ_BAIPU")
    r = client.post("/api/v1/complaints", json=BODY, headers={"Authorization": f"Bearer {squad}"})
    assert r.status_code == 403
    operator = add_user(make_sessionmaker(make_engine(database_url)), "op-1", Role.OPERATOR, None)
    assert client.post("/api/v1/complaints", json=BODY, headers={"Authorization": f"Bearer {operator}"}).status_code == 201


def test_broker_unreachable_gives_503_and_records_nothing(sqlite_url: str, redis_url: str, redis_prefix: str) -> None:
    dead = f"127.0.0.1:{free_port()}"
    with make_client(dead, sqlite_url, redis_url, redis_prefix, publish_timeout_s=0.5) as c:
        r = c.post("/api/v1/complaints", json=BODY, headers={**AUTH, "Idempotency-Key": "k-dead"})
        assert r.status_code == 503
        assert "稍后重试" in r.json()["detail"]
        import redis as sync_redis

        assert sync_redis.Redis.from_url(redis_url).get(f"{redis_prefix}idem:k-dead") is None
    assert intake_rows(sqlite_url) == 0


def test_redis_unavailable_gives_503(tansu: EmbeddedProcess, sqlite_url: str, redis_prefix: str) -> None:
    with make_client(tansu.url, sqlite_url, f"redis://127.0.0.1:{free_port()}/0", redis_prefix) as c:
        wait_connected(c)
        r = c.post("/api/v1/complaints", json=BODY, headers=AUTH)
        assert r.status_code == 503
        assert "Traceback" not in r.text
    assert intake_rows(sqlite_url) == 0
