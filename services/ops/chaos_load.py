"""The chaos run's clients: hotline operators' consoles and the WeChat platform, at a fixed offered rate.

A hotline console retries a connection error, a 503 or a 409 ("same key in progress") with the same
Idempotency-Key a bounded number of times; WeChat retries the same MsgId (as the platform does).
Every attempt is recorded: a client timeout (10 s) is a hang, whatever the request.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

CLIENT_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 200
TICKET_RE = re.compile(r"[A-Z]{1,6}\d{14}")
ACCEPTED_LATER = "正在登记中"  # services.intake.wechat.handler.ACCEPTED_LATER
TEXTS = (
    "如城街道花园社区门口有人占道摆摊卖水果",
    "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得睡不着",
    "长江镇永福村路边垃圾堆了好几天没人清理，臭味很大",
    "东陈镇集镇上有家饭店油烟直排，楼上住户受不了",
    "丁堰镇人民路路灯坏了一整条街都是黑的",
    "如城街道海阳路上有人私自搭建违章建筑",
)


@dataclass
class Submission:
    index: int
    channel: str
    key: str  # Idempotency-Key (hotline) or MsgId (WeChat)
    marker: str
    text: str
    started: float = 0.0
    finished: float | None = None
    outcome: str = "pending"  # ticket | accepted_later (WeChat: ticket told later) | error | hang
    status: int | None = None
    ticket: str | None = None
    tickets: set[str] = field(default_factory=set)  # every distinct ticket any attempt returned
    attempts: int = 0
    hangs: int = 0
    unclear: list[str] = field(default_factory=list)  # answers that were neither a ticket nor a clear error
    reply: str | None = None  # WeChat: the reply text when it held no ticket


@dataclass
class Accepted:
    """A non-replayed ticket: the system accepted a complaint (for the recovery times)."""

    attempt_started: float
    at: float


class Load:
    def __init__(self, base_url: str, admin_token: str, run_id: str, *, wechat_token: str | None,
                 wechat_share: float = 0.3, max_attempts: int = 10, seed: int = 12319) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {admin_token}"}
        self.run_id = run_id
        self.wechat_token = wechat_token
        self.wechat_share = wechat_share
        self.max_attempts = max_attempts
        self.rng = random.Random(seed)
        self.submissions: list[Submission] = []
        self.accepted: list[Accepted] = []
        self.accepted_tickets: set[str] = set()  # WeChat cases the squad accepted
        # httpcore's pool gets CPU-bound (quadratic) when thousands of requests queue for a connection,
        # as they do while the API is down: requests beyond this many in flight wait here instead.
        self.inflight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.client = httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S, limits=httpx.Limits(
            max_connections=MAX_IN_FLIGHT + 8, max_keepalive_connections=64))

    async def close(self) -> None:
        await self.client.aclose()

    def new(self, channel: str | None = None) -> Submission:
        i = len(self.submissions)
        if channel is None:
            use_wechat = self.wechat_token is not None and self.rng.random() < self.wechat_share
            channel = "wechat" if use_wechat else "hotline"
        marker = f"CH{self.run_id}N{i:06d}"
        text = f"{self.rng.choice(TEXTS)}（编号{marker}）"
        key = f"chaos-{self.run_id}-{i}" if channel == "hotline" else str(10**15 + i)
        sub = Submission(i, channel, key, marker, text)
        self.submissions.append(sub)
        return sub

    async def run_one(self, sub: Submission) -> None:
        sub.started = time.monotonic()
        if sub.channel == "wechat":
            await self._wechat(sub)
        else:
            await self._hotline(sub)
        sub.finished = time.monotonic()

    # --- hotline ---------------------------------------------------------------------------
    async def _hotline(self, sub: Submission) -> None:
        body = {"channel": "hotline", "text": sub.text, "phone": "13812345678"}
        headers = {**self.headers, "Idempotency-Key": sub.key}
        for attempt in range(self.max_attempts):
            try:
                async with self.inflight:
                    sub.attempts += 1
                    started = time.monotonic()
                    r = await self.client.post(self.base_url + "/api/v1/complaints", json=body, headers=headers)
            except httpx.TimeoutException:
                sub.hangs += 1
                sub.outcome, sub.status = "hang", None
            except httpx.TransportError:
                sub.outcome, sub.status = "error", None  # connection refused/reset: the API is down
            else:
                sub.status = r.status_code
                if r.status_code in (200, 201):  # 200: a retry answered with the ticket given before
                    self._ticket(sub, r, started)
                    return
                sub.outcome = "error"
                if r.status_code >= 500 and r.status_code != 503:
                    sub.unclear.append(f"{r.status_code}: {r.text[:200]}")
                elif r.status_code not in (503, 409, 429):
                    return  # a clear refusal: retrying the same request cannot help
            await asyncio.sleep(min(3.0, 0.25 * 2**attempt) * (0.75 + 0.5 * self.rng.random()))

    def _ticket(self, sub: Submission, r: httpx.Response, started: float) -> None:
        try:
            data: dict[str, Any] = r.json()
            ticket = str(data["ticket_no"])
        except Exception:
            sub.unclear.append(f"{r.status_code} without a ticket: {r.text[:200]}")
            sub.outcome = "error"
            return
        sub.outcome, sub.ticket = "ticket", ticket
        sub.tickets.add(ticket)
        if not data.get("replayed"):
            self.accepted.append(Accepted(started, time.monotonic()))

    # --- WeChat (plaintext mode, signed) ---------------------------------------------------
    def _signed_query(self) -> dict[str, str]:
        assert self.wechat_token is not None
        timestamp, nonce = str(int(time.time())), str(self.rng.randrange(10**9))
        signature = hashlib.sha1("".join(sorted([self.wechat_token, timestamp, nonce])).encode()).hexdigest()
        return {"signature": signature, "timestamp": timestamp, "nonce": nonce}

    def _wechat_xml(self, sub: Submission) -> bytes:
        return (
            "<xml><ToUserName><![CDATA[gh_rugao12319]]></ToUserName>"
            f"<FromUserName><![CDATA[o-chaos-{self.run_id}-{sub.index}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{sub.text}]]></Content><MsgId>{sub.key}</MsgId></xml>"
        ).encode()

    async def _wechat(self, sub: Submission) -> None:
        for attempt in range(4):  # the platform tries a push three times; one more after an outage
            try:
                async with self.inflight:
                    sub.attempts += 1
                    started = time.monotonic()
                    r = await self.client.post(self.base_url + "/wechat/callback", params=self._signed_query(),
                                               content=self._wechat_xml(sub), headers={"Content-Type": "text/xml"})
            except httpx.TimeoutException:
                sub.hangs += 1
                sub.outcome, sub.status = "hang", None
            except httpx.TransportError:
                sub.outcome, sub.status = "error", None
            else:
                sub.status = r.status_code
                found = TICKET_RE.search(r.text) if r.status_code == 200 else None
                if found:
                    sub.outcome, sub.ticket = "ticket", found.group(0)
                    if not sub.tickets:
                        self.accepted.append(Accepted(started, time.monotonic()))
                    sub.tickets.add(sub.ticket)
                    return
                sub.outcome = "error"
                if r.status_code == 200:  # WeChat does not retry an answered push
                    sub.reply = r.text[:300]
                    if ACCEPTED_LATER in r.text:  # "being registered; send 查询 for the ticket number"
                        sub.outcome = "accepted_later"
                    return
                if r.status_code >= 500 and r.status_code != 503:
                    sub.unclear.append(f"{r.status_code}: {r.text[:200]}")
                elif 400 <= r.status_code < 500:
                    return
            await asyncio.sleep(min(5.0, 1.0 * 2**attempt))

    async def wechat_available(self) -> bool:
        """True once POST /wechat/callback answers a signed push (not 404/405)."""
        if self.wechat_token is None:
            return False
        try:
            r = await self.client.post(self.base_url + "/wechat/callback", params=self._signed_query(),
                                       content=b"<xml></xml>", headers={"Content-Type": "text/xml"})
        except httpx.HTTPError:
            return False
        return r.status_code not in (404, 405)

    # --- a squad accepting WeChat cases (each acceptance notifies the citizen once) -----------
    async def accept_wechat_cases(self, done: asyncio.Event, deadline_s: float) -> None:
        """Accept every WeChat case once it is routed, retrying through the faults, until ``done`` is set
        and all are accepted (or the deadline)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            todo = [s.ticket for s in self.submissions
                    if s.channel == "wechat" and s.ticket and s.ticket not in self.accepted_tickets]
            if done.is_set() and not todo:
                return
            await asyncio.gather(*(self._accept(t) for t in todo[:100]))
            await asyncio.sleep(0.5)

    async def _accept(self, ticket: str) -> None:
        try:
            async with self.inflight:
                r = await self.client.post(f"{self.base_url}/api/v1/cases/{ticket}/accept", json={},
                                           headers={**self.headers, "Idempotency-Key": f"accept-{ticket}"})
        except httpx.HTTPError:
            return
        if r.status_code == 200 or (r.status_code == 409 and "accepted" in r.text):
            self.accepted_tickets.add(ticket)

    # --- the offered load ------------------------------------------------------------------
    async def offer(self, n: int, rate: float, stop_new: asyncio.Event | None = None) -> None:
        """Start one submission every 1/rate seconds (open loop: a slow system does not slow the load)."""
        start = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if stop_new is not None and stop_new.is_set():
                break
            tasks.append(asyncio.create_task(self.run_one(self.new())))
        await asyncio.gather(*tasks)

    def recovered_at(self, fault_at: float) -> float | None:
        """When a complaint was first accepted by a request sent after the fault."""
        after = [a.at for a in self.accepted if a.attempt_started >= fault_at]
        return min(after) if after else None
