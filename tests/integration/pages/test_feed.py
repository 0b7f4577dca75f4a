"""GET /api/v1/feed: server-sent events from Redis pub/sub, filtered per role, seen by every API replica."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import redis

from tests.integration.pages.conftest import LiveApi


class Listener:
    """Reads an SSE stream in a thread: events and comment lines land in queues."""

    def __init__(self, url: str, **kw: Any) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        self.status: int | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, kw), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "feed did not answer"

    def _run(self, url: str, kw: dict[str, Any]) -> None:
        try:
            self._read(url, kw)
        except httpx.HTTPError:  # the server went away at the end of the test
            self._ready.set()

    def _read(self, url: str, kw: dict[str, Any]) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=30), **kw) as client, client.stream("GET", url) as r:
            self.status = r.status_code
            self.content_type = r.headers.get("content-type", "")
            self._ready.set()
            if r.status_code != 200:
                return
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("data: "):
                    self.events.put(json.loads(line[6:]))
                elif line.startswith(":"):
                    self.comments.put(line)

    def take(self, n: int, timeout_s: float = 5) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < n and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                out.append(self.events.get(timeout=0.1))
        return out

    def stop(self) -> None:
        self._stop.set()


def publish(redis_url: str, prefix: str, *changes: dict[str, Any]) -> None:
    client = redis.Redis.from_url(redis_url)
    for change in changes:
        client.publish(f"{prefix}feed", json.dumps(change, ensure_ascii=False))
    client.close()


def wait_subscribed(redis_url: str, prefix: str, n: int) -> None:
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 10
    while int(client.pubsub_numsub(f"{prefix}feed")[0][1]) < n:  # type: ignore[index]
        assert time.monotonic() < deadline, "feed streams did not subscribe"
        time.sleep(0.05)
    client.close()


def test_feed_streams_changes_filtered_per_role(api_factory: Callable[..., LiveApi], redis_url: str) -> None:
    api = api_factory(heartbeat_s=0.5)
    command = Listener(api.url + "/api/v1/feed", headers=api.h("command"))
    squad = Listener(api.url + "/api/v1/feed", cookies={"c12319_token": api.tokens["squad"]})
    assert command.status == squad.status == 200 and command.content_type.startswith("text/event-stream")
    wait_subscribed(redis_url, api.redis_prefix, 2)
    baipu = {"type": "dispatched", "ticket_no": "RG20261126000001", "unit": "SQ_BAIPU"}
    rucheng = {"type": "dispatched", "ticket_no": "RG20261126000002", "unit": "SQ_RUCHENG"}
    returned = {"type": "returned", "ticket_no": "RG20261126000003", "unit": "COMMAND_CENTER", "from_unit": "SQ_BAIPU"}
    received = {"type": "received", "ticket_no": "RG20261126000004"}
    raw = redis.Redis.from_url(redis_url)
    raw.publish(f"{api.redis_prefix}feed", b"\xff not json")  # ignored; the stream goes on
    raw.close()
    publish(redis_url, api.redis_prefix, baipu, rucheng, returned, received)
    assert [e["ticket_no"] for e in command.take(4)] == [c["ticket_no"] for c in (baipu, rucheng, returned, received)]
    assert [e["ticket_no"] for e in squad.take(2)] == [baipu["ticket_no"], returned["ticket_no"]]
    assert squad.take(1, timeout_s=1) == []
    assert command.comments.get(timeout=3).startswith(": ")  # connected / heartbeat comments
    time.sleep(1.2)
    comments = []
    while not command.comments.empty():
        comments.append(command.comments.get())
    assert ": heartbeat" in comments
    command.stop()
    squad.stop()


def test_every_replica_sees_every_change(api_factory: Callable[..., LiveApi], redis_url: str) -> None:
    a = api_factory()
    b = api_factory()
    watcher = Listener(b.url + "/api/v1/feed", headers=b.h("command"))
    wait_subscribed(redis_url, a.redis_prefix, 1)
    ticket = a.new_case("白蒲镇唐堡村有个工地晚上十一点还在打桩")
    r = a.post("operator", f"/api/v1/cases/{ticket}/link", {"text": "再次来电反映", "phone": "13900001111"})
    assert r.status_code == 201, r.text
    got = watcher.take(1)
    assert got and got[0]["type"] == "linked_call" and got[0]["ticket_no"] == ticket
    watcher.stop()


def test_feed_needs_a_login(api_factory: Callable[..., LiveApi]) -> None:
    api = api_factory()
    assert httpx.get(api.url + "/api/v1/feed", timeout=5).status_code == 401
    r = httpx.get(api.url + "/api/v1/feed", cookies={"c12319_token": "wrong"}, timeout=5)
    assert r.status_code == 401
