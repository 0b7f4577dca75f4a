"""Router worker and tracker against a real broker: dead letters, replays, the reconciler."""

from __future__ import annotations

import time
from typing import Any

import httpx
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import func, select

from services.core.events import DeadLetter
from services.platform.db import make_engine, make_sessionmaker
from services.platform.topics import COMPLAINTS_DLQ, COMPLAINTS_RECEIVED
from services.tracker.models import Case, CaseEventRow
from tests.e2e.test_pipeline import wait_routed

BODY = {"channel": "hotline", "text": "如城街道花园社区门口有人占道摆摊卖水果", "phone": "13812345678"}


def post(stack: Any, body: dict[str, Any] = BODY) -> str:
    r = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body, headers=stack.headers, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["ticket_no"])


def counts(database_url: str) -> tuple[int, int]:
    with make_sessionmaker(make_engine(database_url))() as s:
        return (int(s.scalar(select(func.count()).select_from(Case)) or 0),
                int(s.scalar(select(func.count()).select_from(CaseEventRow)) or 0))


def test_invalid_records_go_to_the_dead_letter_topic_and_routing_goes_on(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url)
    bootstrap = stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    bad = [b"not json at all", b'{"complaint_id": "x"}', b"\xff\xfe\x00", b'{"schema_version": 1, "text": 5}']
    for i, raw in enumerate(bad):
        producer.send(COMPLAINTS_RECEIVED, key=f"bad-{i}".encode(), value=raw)
    producer.flush()
    producer.close()
    ticket = post(stack)
    wait_routed(stack.base_url, stack.headers, ticket)
    consumer = KafkaConsumer(COMPLAINTS_DLQ, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=1000, group_id=None)
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + 30
    while len(letters) < len(bad) and time.monotonic() < deadline:
        letters += [DeadLetter.model_validate_json(m.value) for m in consumer]
    consumer.close()
    assert sorted(letter.key or "" for letter in letters) == [f"bad-{i}" for i in range(len(bad))]
    assert all(letter.source_topic == COMPLAINTS_RECEIVED and letter.reason for letter in letters)
    assert {letter.payload for letter in letters if letter.key == "bad-0"} == {"not json at all"}


def test_replaying_the_topics_changes_nothing(stack_factory: Any, database_url: str) -> None:
    stack = stack_factory(database_url)
    tickets = [post(stack) for _ in range(5)]
    for t in tickets:
        wait_routed(stack.base_url, stack.headers, t)
    before = counts(database_url)
    assert before == (5, 10)
    # a second tracker with a fresh consumer group reads both topics from the beginning
    stack.kill("tracker")
    stack.env["COMPLAINTS_TRACKER_GROUP"] = "replay-group"
    stack.start("tracker")
    deadline = time.monotonic() + 30
    import redis

    r = redis.Redis.from_url(stack.env["COMPLAINTS_REDIS_URL"])
    prefix = stack.env["COMPLAINTS_REDIS_PREFIX"]
    while time.monotonic() < deadline:
        beats = [r.hget(k, "applied") for k in r.scan_iter(f"{prefix}tracker:*")]
        if any(b is not None and int(b) >= 10 for b in beats):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("replay tracker did not consume the topics")
    assert counts(database_url) == before


def test_reconciler_routes_what_the_stream_never_routed(stack_factory: Any, sqlite_url: str) -> None:
    # no router worker at all: the tracker's reconciler must notice and route
    stack = stack_factory(sqlite_url, services=("tracker", "api"), route_timeout_s="2", reconcile_every_s="0.5")
    ticket = post(stack)
    case = wait_routed(stack.base_url, stack.headers, ticket, timeout_s=20)
    assert case["routed_by"] == "reconciler"
    assert case["unit"] == "SQ_RUCHENG"
