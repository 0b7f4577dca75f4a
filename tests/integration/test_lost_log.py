"""A worker whose group offsets point past the end of the log (a broker that lost its log) still routes.

Faust skips every record below the offset it believes it has read.  After the embedded broker
restarts (memory storage) the new log starts again at 0, and a committed offset of the old log
would make the router skip every new complaint until the reconciler (ROUTE_TIMEOUT_S) stepped in.
The worker notices a log that ends before what it has read and reads it again from the start.
"""

from __future__ import annotations

from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.platform.topics import COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED
from tests.e2e.test_pipeline import wait_routed

STALE_OFFSET = 1000


def test_router_rereads_a_log_that_ends_before_its_committed_offset(stack_factory: Any, sqlite_url: str) -> None:
    # The reconciler must not be the one routing here: give it ten minutes.
    stack = stack_factory(sqlite_url, services=("tracker", "api"), route_timeout_s="600")
    group = stack.env["COMPLAINTS_ROUTER_GROUP"]
    client = KafkaConsumer(bootstrap_servers=stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"], group_id=group,
                           enable_auto_commit=False)
    parts = [TopicPartition(COMPLAINTS_RECEIVED, p) for p in range(3)]
    client.assign(parts)
    client.commit({tp: OffsetAndMetadata(STALE_OFFSET, "", -1) for tp in parts})
    assert all(client.committed(tp) == STALE_OFFSET for tp in parts)
    client.close()

    tickets = []
    for i in range(6):
        body = {"channel": "hotline", "text": f"如城街道花园社区门口有人占道摆摊卖水果，第{i}回", "phone": "13812345678"}
        r = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body, headers=stack.headers, timeout=10)
        assert r.status_code == 201, r.text
        tickets.append(r.json()["ticket_no"])
    stack.start("worker")
    cases = [wait_routed(stack.base_url, stack.headers, t, timeout_s=90) for t in tickets]
    assert {c["routed_by"] for c in cases} == {"stream"}, [c["routed_by"] for c in cases]
    assert "reading it again from the start" in stack.logs("worker")


def test_tracker_rereads_a_log_that_ends_before_its_committed_offset(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("worker", "api"), route_timeout_s="600")
    group = stack.env["COMPLAINTS_TRACKER_GROUP"]
    client = KafkaConsumer(bootstrap_servers=stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"], group_id=group,
                           enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for topic in (COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED) for p in range(3)]
    client.assign(parts)
    client.commit({tp: OffsetAndMetadata(STALE_OFFSET, "", -1) for tp in parts})
    client.close()

    tickets = []
    for i in range(6):
        body = {"channel": "hotline", "text": f"丁堰镇人民路路灯坏了一整条街都是黑的，第{i}回", "phone": "13812345678"}
        r = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body, headers=stack.headers, timeout=10)
        assert r.status_code == 201, r.text
        tickets.append(r.json()["ticket_no"])
    stack.start("tracker")
    cases = [wait_routed(stack.base_url, stack.headers, t, timeout_s=90) for t in tickets]
    assert {c["routed_by"] for c in cases} == {"stream"}, [c["routed_by"] for c in cases]
