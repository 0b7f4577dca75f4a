"""Hostile and broken input against the real API (Tansu, Redis, SQLite/PostgreSQL).

1. schemathesis: every operation of the OpenAPI description, authenticated and not: no 5xx, no stack trace.
2. hypothesis: unicode edge cases and injection strings stored and read back verbatim after routing.
3. malformed records on complaints.received go to the dead-letter topic; routing goes on.
4. Redis or the database away: 503, then recovery without restarting the API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, KafkaProducer

from services.core.events import ComplaintReceived, DeadLetter
from services.platform.embedded import EmbeddedProcess, restart, start_redis
from services.platform.migrate import upgrade
from services.platform.topics import COMPLAINTS_DLQ, COMPLAINTS_RECEIVED
from tests.conftest import PG_ADMIN
from tests.e2e.test_pipeline import wait_routed
from tests.integration.fuzz_support import AUTH, FUZZ, ServedApp, api_settings, no_leak


# --- 1. schemathesis over the whole OpenAPI description -----------------------------------------
@pytest.fixture(scope="module")
def served(tansu: EmbeddedProcess, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    db = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'complaints.db'}"
    with ServedApp(api_settings(tansu.url, db, redis_url)) as app:
        yield app


# the live feed (server-sent events) never ends by design: it is exercised in its own tests
schema = schemathesis.from_pytest_fixture("openapi").exclude(path="/api/v1/feed")


@pytest.fixture(scope="module")
def openapi(served: ServedApp) -> Any:
    return schemathesis.from_uri(served.url + "/openapi.json", base_url=served.url, force_schema_version="30")


@schema.parametrize()
@FUZZ
def test_every_endpoint_as_admin_answers_without_5xx_or_trace(case: Any) -> None:
    no_leak(case.call(headers=dict(AUTH), timeout=10))


@schema.parametrize()
@FUZZ
def test_every_endpoint_anonymous_answers_without_5xx_or_trace(case: Any) -> None:
    if case.headers:
        case.headers.pop("Authorization", None)
    no_leak(case.call(timeout=10))


# --- 2. unicode and injection strings, read back after routing -----------------------------------
EDGE_TEXTS = [
    "如城街道花园社区门口占道经营🍉🍉，太吵了😡",
    "e\u0301\u0301\u0301 如城街道路灯不亮 Z\u0351\u0352\u0353",  # combining marks
    "\u202eمرحبا\u202c 白蒲镇 شارع 工地夜间施工 \u200f",  # RTL override, Arabic, RLM
    "如城街道'; DROP TABLE cases; -- 占道",
    "<script>alert('x')</script> 长江镇 <img src=x onerror=alert(1)>",
    "\" OR 1=1 -- {{7*7}} ${jndi:ldap://x} %s%s%n 丁堰镇",
    "𠀀𪚥 龘 \U0001F468\u200d\U0001F469\u200d\U0001F467 东陈镇垃圾",  # astral plane, ZWJ sequence
]
REFUSED = ["如城街道\x00占道", "白蒲镇\x1b[31m工地", "\x7f\x7f"]


@pytest.fixture
def pipeline(stack_factory: Any, sqlite_url: str) -> Any:
    return stack_factory(sqlite_url)


def test_unicode_and_injection_strings_are_stored_verbatim_or_refused(pipeline: Any) -> None:
    sent: list[tuple[str, dict[str, str]]] = []
    refused: list[str] = []
    texts = st.one_of(st.sampled_from(EDGE_TEXTS + REFUSED),
                      st.text(st.characters(codec="utf-8"), min_size=2, max_size=60))

    @given(text=texts, name=st.sampled_from(["王女士", "<b>李</b>", "Robert'); DROP TABLE api_users;--", "Ω\u0301"]))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    def submit(text: str, name: str) -> None:
        body = {"channel": "hotline", "text": text, "phone": "13812345678", "name": name,
                "address": text[:500]}
        r = httpx.post(pipeline.base_url + "/api/v1/complaints", json=body, headers=pipeline.headers, timeout=10)
        no_leak(r)
        if r.status_code == 201:
            sent.append((r.json()["ticket_no"], {"text": text.strip(), "name": name.strip(),
                                                 "address": text[:500].strip() or ""}))
        else:
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"][0] == "body", r.text  # names the field
            refused.append(text)

    for text in EDGE_TEXTS + REFUSED:  # every listed case, then what hypothesis makes up
        submit.hypothesis.inner_test(text=text, name="<b>李</b>")  # type: ignore[attr-defined]
    submit()
    assert set(REFUSED) <= set(refused)
    assert len(sent) >= len(EDGE_TEXTS)
    for ticket, expected in sent:
        case = wait_routed(pipeline.base_url, pipeline.headers, ticket, timeout_s=60)
        assert case["text"] == expected["text"]
        assert case["name"] == expected["name"]
        assert (case["address"] or "") == expected["address"]


# --- 3. malformed records: dead-letter topic with a reason, routing goes on ------------------------
def test_malformed_records_are_dead_lettered_and_the_worker_keeps_going(pipeline: Any) -> None:
    bootstrap = pipeline.env["COMPLAINTS_KAFKA_BOOTSTRAP"]
    bad: list[bytes | None] = [None, b"", b"[]", b"null", b'{"a":' * 500, b"\xc3\x28",
                               b'{"schema_version": 1, "complaint_id": "x", "received_at": "yesterday"}',
                               b'{"text": "' + ("长" * 5000).encode() + b'"}']
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i, raw in enumerate(bad):
        producer.send(COMPLAINTS_RECEIVED, key=f"junk-{i}".encode(), value=raw)
    producer.flush()
    producer.close()
    r = httpx.post(pipeline.base_url + "/api/v1/complaints", headers=pipeline.headers, timeout=10,
                   json={"channel": "hotline", "text": "如城街道花园社区门口有人占道摆摊", "phone": "13812345678"})
    assert r.status_code == 201, r.text
    wait_routed(pipeline.base_url, pipeline.headers, r.json()["ticket_no"])
    consumer = KafkaConsumer(COMPLAINTS_DLQ, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, group_id=None)
    letters = [DeadLetter.model_validate_json(m.value) for m in consumer]
    consumer.close()
    assert sorted(letter.key or "" for letter in letters) == sorted(f"junk-{i}" for i in range(len(bad)))
    assert all(letter.reason and letter.source_topic == COMPLAINTS_RECEIVED for letter in letters)


# --- 4. dependencies away: 503, then recovery without a restart ------------------------------------
COMPLAINT = {"channel": "hotline", "text": "白蒲镇工地晚上还在打桩", "phone": "13812345678"}


def post(url: str, key: str | None = None) -> httpx.Response:
    headers = {**AUTH, **({"Idempotency-Key": key} if key else {})}
    return httpx.post(url + "/api/v1/complaints", json=COMPLAINT, headers=headers, timeout=10)


def eventually(fn: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = fn()
        if result.status_code < 500 or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def test_redis_away_gives_503_then_recovers(tansu: EmbeddedProcess, tmp_path: Path) -> None:
    redis = start_redis(log_dir=tmp_path)
    try:
        with ServedApp(api_settings(tansu.url, f"sqlite:///{tmp_path / 'c.db'}", f"redis://{redis.url}/0")) as app:
            assert eventually(lambda: post(app.url)).status_code == 201
            redis.kill()
            for r in (post(app.url, "k-redis-1"), httpx.get(app.url + "/healthz", timeout=10)):
                no_leak(r)
                assert r.status_code == 503, r.text
            redis = restart(redis, log_dir=tmp_path)
            again = eventually(lambda: post(app.url, "k-redis-1"))
            assert again.status_code == 201, again.text
    finally:
        redis.stop()


def test_database_away_gives_503_then_recovers(tansu: EmbeddedProcess, redis_url: str) -> None:
    name = f"c12319_fz_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        with ServedApp(api_settings(tansu.url, url, redis_url)) as app:
            assert eventually(lambda: post(app.url)).status_code == 201
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            for r in (post(app.url, "k-db-1"), httpx.get(app.url + "/api/v1/cases/RG20261126000001",
                                                           headers=AUTH, timeout=10)):
                no_leak(r)
                assert r.status_code == 503, r.text
            admin.execute(f'CREATE DATABASE "{name}"')
            upgrade(url)
            assert eventually(lambda: post(app.url, "k-db-1")).status_code == 201
            found = httpx.get(app.url + "/api/v1/cases/RG20261126000001", headers=AUTH, timeout=10)
            assert found.status_code == 404, found.text  # answered from the database again
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# --- 5. size limits: declared, chunked, and per field -----------------------------------------------
def test_bodies_and_fields_have_size_limits(served: ServedApp) -> None:
    url = served.url + "/api/v1/complaints"
    headers = {**AUTH, "Content-Type": "application/json"}

    def chunked() -> Iterator[bytes]:  # no Content-Length: must still be cut off at the limit
        yield b'{"channel": "hotline", "phone": "13812345678", "text": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}'

    assert httpx.post(url, headers=headers, content=chunked(), timeout=10).status_code == 413
    assert httpx.post(url, headers=headers, content=b" " * 70_000, timeout=10).status_code == 413
    long_text = {"channel": "hotline", "phone": "13812345678", "text": "长" * 4001}
    r = httpx.post(url, headers=AUTH, json=long_text, timeout=10)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "text"], r.text
    for raw in (b"[" * 60_000, b'{"text": "\xff\xfe"}', b'{"text": ' + b"9" * 60_000 + b"}"):
        r = httpx.post(url, headers=headers, content=raw, timeout=10)
        no_leak(r)
        assert 400 <= r.status_code < 500, r.text


# --- 6. the API died between writing the intake log and answering: a retry gets that ticket ---------
def test_a_retry_adopts_the_record_of_a_request_that_died(served: ServedApp, redis_url: str) -> None:
    import redis as sync_redis

    from services.intake.store import QUEUED

    state = served.app.state
    store = state.intake._store
    client = sync_redis.Redis.from_url(redis_url)
    now = datetime.now(UTC)
    rows: dict[str, str] = {}
    for age, key in ((30.0, f"dead-{uuid.uuid4().hex}"), (0.0, f"busy-{uuid.uuid4().hex}")):
        cid, ticket = str(uuid.uuid4()), f"RG19990101{uuid.uuid4().int % 10**6:06d}"
        # the record the dead request wrote: the event of the same body, so a retry is the same request
        event = ComplaintReceived(event_id=f"recv-{cid}", complaint_id=cid, ticket_no=ticket, city="rugao",
                                  channel="hotline", text=COMPLAINT["text"], phone=COMPLAINT["phone"],
                                  received_at=now - timedelta(seconds=age))
        store.insert(complaint_id=cid, ticket_no=ticket, channel="hotline", idempotency_key=key,
                     payload=event.model_dump_json(), created_at=now - timedelta(seconds=age))
        client.set(f"{state.settings.redis_prefix}idem:{key}", "pending", ex=15)  # the dead request's claim
        rows[key] = ticket
    client.close()
    for key, ticket in rows.items():
        r = post(served.url, key)
        if key.startswith("dead-"):  # long past its publish timeout: adopted, same ticket, queued for the relay
            assert r.status_code == 200 and r.json()["ticket_no"] == ticket and r.json()["replayed"], r.text
            assert store.by_idempotency_key(key).state == QUEUED
        else:  # its request may still be publishing (and withdraw it): in progress
            assert r.status_code == 409, r.text
