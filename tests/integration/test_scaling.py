"""Two router workers against one broker share the partitions and route every complaint exactly once."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import redis
from kafka import KafkaConsumer

from services.core.events import ComplaintRouted
from services.platform.topics import COMPLAINTS_ROUTED
from tests.e2e.test_pipeline import wait_routed

N = 30


def live_workers(stack: Any) -> dict[str, dict[bytes, bytes]]:
    r = redis.Redis.from_url(stack.env["COMPLAINTS_REDIS_URL"])
    prefix = stack.env["COMPLAINTS_REDIS_PREFIX"]
    return {k.decode(): r.hgetall(k) for k in r.scan_iter(f"{prefix}worker:*")}


def test_two_workers_share_partitions_and_route_each_complaint_once(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("worker", "tracker", "api"))
    stack.procs["worker2"] = stack.procs.pop("worker")  # keep a handle on the first
    stack.start("worker")
    deadline = time.monotonic() + 60
    while True:  # wait for a stable group: both workers hold partitions, all 3 covered
        beats = live_workers(stack)
        parts = [b.get(b"partitions", b"").decode() for b in beats.values()]
        held = [p for p in parts if p]
        if len(held) == 2 and sorted(",".join(held).split(",")) == ["0", "1", "2"]:
            break
        assert time.monotonic() < deadline, beats
        time.sleep(0.5)
    tickets = []
    for i in range(N):
        body = {"channel": "hotline", "text": f"如城街道花园社区门口有人占道摆摊卖水果，第{i}次", "phone": "13812345678"}
        r = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body, headers=stack.headers, timeout=10)
        assert r.status_code == 201
        tickets.append(r.json()["ticket_no"])
    for t in tickets:
        wait_routed(stack.base_url, stack.headers, t)
    consumer = KafkaConsumer(COMPLAINTS_ROUTED, bootstrap_servers=stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"],
                             auto_offset_reset="earliest", consumer_timeout_ms=3000, group_id=None)
    routed = Counter(ComplaintRouted.model_validate_json(m.value).ticket_no for m in consumer)
    consumer.close()
    assert set(routed) == set(tickets)
    assert max(routed.values()) == 1, routed.most_common(3)
    time.sleep(3)  # one more heartbeat each
    per_worker = [int(b.get(b"routed", b"0")) for b in live_workers(stack).values()]
    assert len(per_worker) == 2 and all(n > 0 for n in per_worker) and sum(per_worker) == N, per_worker
