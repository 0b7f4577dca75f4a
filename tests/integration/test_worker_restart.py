"""The router worker killed (SIGKILL) and started again routes no complaint twice and loses none (issue 16).

Against the real Tansu broker: the worker is killed in the middle of a stream of complaints and
again while idle (everything routed and committed: the case where a restarted worker took a log
that ends exactly at its committed offset for a lost log and routed everything again), and the
worker starts in a new group, from the beginning of the log (a worker reading again records it had
routed already, as a rebalanced one does for what was not committed).  Downstream each complaint is routed exactly once: one decision on ``complaints.routed``
(what a squad's feed or any other consumer of the topic sees), one ``dispatched`` change on the
live feed (what the squad page and the dashboard get), one ``dispatched`` event in the case's
history (the tracker), every case routed by the stream (the reconciler is given ten minutes).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import httpx
import redis
from kafka import KafkaConsumer, TopicPartition

from services.core.events import ComplaintRouted
from services.platform.topics import COMPLAINTS_ROUTED
from tests.e2e.test_pipeline import wait_routed
from tests.integration.test_router_tracker import post

TEXTS = ("如城街道花园社区门口有人占道摆摊卖水果", "白蒲镇唐堡村工地晚上还在打桩", "丁堰镇人民路路灯坏了一整条街都是黑的",
         "长江镇临江路有人乱倒建筑垃圾")


def body(i: int) -> dict[str, Any]:
    return {"channel": "hotline", "text": f"{TEXTS[i % len(TEXTS)]}，编号{i}", "phone": "13812345678"}


class FeedWatcher:
    """Counts the live feed's changes per ticket (the Redis channel behind /api/v1/feed)."""

    def __init__(self, url: str, channel: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.dispatched: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message and message.get("type") == "message":
                change = json.loads(message["data"])
                if change.get("type") == "dispatched":
                    self.dispatched[change["ticket_no"]] += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.pubsub.close()
        self.client.close()


def routed_records(bootstrap: str) -> Counter[str]:
    """How many decisions ``complaints.routed`` holds for each ticket (read from the beginning)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=3000)
    parts = [TopicPartition(COMPLAINTS_ROUTED, p) for p in range(3)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    counts: Counter[str] = Counter()
    for message in consumer:
        counts[ComplaintRouted.model_validate_json(message.value).ticket_no] += 1
    consumer.close()
    return counts


def post_stream(stack: Any, start: int, n: int, rate: float, out: list[str]) -> None:
    for i in range(start, start + n):
        out.append(post(stack, body(i)))
        time.sleep(1 / rate)


def test_worker_killed_mid_stream_routes_each_complaint_once(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, route_timeout_s="600")
    bootstrap = stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"]
    feed = FeedWatcher(stack.env["COMPLAINTS_REDIS_URL"], f"{stack.env['COMPLAINTS_REDIS_PREFIX']}feed")
    try:
        tickets = [post(stack, body(i)) for i in range(6)]
        for t in tickets:
            wait_routed(stack.base_url, stack.headers, t, timeout_s=60)

        # 1. SIGKILL in the middle of a stream, started again at once; the stream goes on.
        poster = threading.Thread(target=post_stream, args=(stack, 100, 40, 20.0, tickets))
        poster.start()
        time.sleep(0.8)
        stack.kill("worker")
        stack.start("worker")
        poster.join(60)
        assert not poster.is_alive()
        for t in tickets:
            wait_routed(stack.base_url, stack.headers, t, timeout_s=90)

        # 2. SIGKILL while idle: every offset committed, each log ends where the group stands.
        time.sleep(2.0)  # commits every 0.5 s
        stack.kill("worker")
        stack.start("worker")
        tickets += [post(stack, body(i)) for i in range(200, 203)]
        for t in tickets:
            wait_routed(stack.base_url, stack.headers, t, timeout_s=90)
        time.sleep(5.0)  # lost-log checks (every 2 s) of the restarted worker

        # 3. A worker that reads again everything it had routed: a new group starts at the beginning.
        stack.kill("worker")
        stack.env["COMPLAINTS_ROUTER_GROUP"] += "-again"
        stack.start("worker")
        tickets += [post(stack, body(i)) for i in range(300, 303)]
        for t in tickets:
            wait_routed(stack.base_url, stack.headers, t, timeout_s=90)
        time.sleep(3.0)  # any second decision would reach the topic and the feed by now
    finally:
        feed.close()

    assert len(set(tickets)) == len(tickets) == 6 + 40 + 3 + 3
    cases = [httpx.get(f"{stack.base_url}/api/v1/cases/{t}", headers=stack.headers, timeout=5).json() for t in tickets]
    assert {c["routed_by"] for c in cases} == {"stream"}
    assert all([h["type"] for h in c["history"]] == ["received", "dispatched"] for c in cases), \
        [(c["ticket_no"], [h["type"] for h in c["history"]]) for c in cases]
    on_topic = routed_records(bootstrap)
    assert {t: on_topic[t] for t in tickets if on_topic[t] != 1} == {}
    assert set(on_topic) == set(tickets)
    assert {t: feed.dispatched[t] for t in tickets if feed.dispatched[t] != 1} == {}
    worker_log = stack.logs("worker")
    assert "reading it again from the start" not in worker_log
    assert "whose decisions the broker already has" in worker_log  # step 3 read them all again
