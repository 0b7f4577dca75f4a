"""Idempotency keys bound to the request body (issue 16), hotline API against real Tansu, Redis and SQLite/PostgreSQL.

Same key + same body: the ticket given before (200, ``Idempotent-Replay: true``, ``replayed``), no second
complaint.  Same key + another body: 409 naming the key, nothing recorded, the first complaint untouched.
Both also when Redis has lost the key (the intake log holds the body).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from services.intake.service import STALE_MARGIN_S
from services.platform.embedded import EmbeddedProcess
from tests.integration.test_intake import AUTH, BODY, intake_rows, make_client, topic_records, wait_connected


@pytest.fixture
def client(tansu: EmbeddedProcess, database_url: str, redis_url: str, redis_prefix: str) -> Iterator[TestClient]:
    with make_client(tansu.url, database_url, redis_url, redis_prefix, publish_timeout_s=0.5) as c:
        wait_connected(c)
        yield c


def post(client: TestClient, body: dict[str, object], key: str) -> httpx.Response:
    return client.post("/api/v1/complaints", json=body, headers={**AUTH, "Idempotency-Key": key})


def assert_conflict(r: httpx.Response, key: str) -> None:
    assert r.status_code == 409, r.text
    data = r.json()
    assert key in data["message"] and "Idempotency-Key" in data["message"]
    assert "已用于另一份内容不同的投诉" in data["message"]
    [detail] = data["detail"]
    assert detail["type"] == "idempotency_key_reused" and detail["key"] == key
    assert detail["loc"] == ["header", "Idempotency-Key"]
    assert "ticket_no" not in data


def forget_keys(redis_url: str, prefix: str) -> None:
    """Redis lost the idempotency keys (a restart without persistence)."""
    client = redis.Redis.from_url(redis_url)
    for name in client.scan_iter(f"{prefix}idem:*"):
        client.delete(name)
    client.close()


@pytest.mark.parametrize("redis_lost", [False, True], ids=["redis", "database"])
def test_same_key_same_body_replays_and_other_body_is_refused(client: TestClient, tansu: EmbeddedProcess,
                                                              database_url: str, redis_url: str, redis_prefix: str,
                                                              redis_lost: bool) -> None:
    key = f"call-{time.time_ns()}"
    body = {**BODY, "reported_at": "2026-11-26T08:00:00+08:00"}
    first = post(client, body, key)
    assert first.status_code == 201, first.text
    assert first.json()["replayed"] is False and "Idempotent-Replay" not in first.headers
    if redis_lost:
        forget_keys(redis_url, redis_prefix)
        # the intake log answers; until the first request's publish timeout (+2 s) has passed, it
        # might still withdraw its record, so a retry is told to wait (409 in progress) until then
        time.sleep(0.5 + STALE_MARGIN_S + 0.2)

    # the same body (keys in another order, the same instant in UTC): the same ticket, marked as a replay
    same = {"reported_at": "2026-11-26T00:00:00Z", **{k: v for k, v in reversed(BODY.items())}}
    again = post(client, same, key)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replay"] == "true"
    assert again.json()["replayed"] is True
    assert again.json()["ticket_no"] == first.json()["ticket_no"]
    assert again.json()["complaint_id"] == first.json()["complaint_id"]

    if redis_lost:
        forget_keys(redis_url, redis_prefix)
    # another body under the same key: refused, naming the key; nothing recorded
    for other in ({**body, "text": "丁堰镇人民路路灯坏了一整条街都是黑的"}, {**body, "phone": "13900001111"},
                  {**body, "unit_override": "SQ_BAIPU"}, {k: v for k, v in body.items() if k != "reported_at"}):
        assert_conflict(post(client, other, key), key)
    assert intake_rows(database_url) == 1
    assert [e.text for e in topic_records(tansu.url) if e.complaint_id == first.json()["complaint_id"]] == [BODY["text"]]

    # the first request's retries still get their ticket after the refusals
    third = post(client, body, key)
    assert third.status_code == 200 and third.json()["ticket_no"] == first.json()["ticket_no"]
    # and a new key files the other complaint
    fresh = post(client, {**body, "text": "丁堰镇人民路路灯坏了一整条街都是黑的"}, key + "-2")
    assert fresh.status_code == 201 and fresh.json()["ticket_no"] != first.json()["ticket_no"]
    assert intake_rows(database_url) == 2
