"""Conversation state and dedupe in Redis: survives restarts, shared by all API processes."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.core.events import Attachment, GeoPoint

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""

CS_WINDOW_S = 48 * 3600


@dataclass(frozen=True, slots=True)
class OpenComplaint:
    ticket_no: str
    complaint_id: str
    place_found: bool
    last_at: float


@dataclass(slots=True)
class Pending:
    """Location / media sent before the complaint exists; attached when it is created."""

    location: GeoPoint | None
    attachments: list[Attachment]


def _s(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _open_from(raw: Any) -> OpenComplaint | None:
    text = _s(raw)
    if text is None:
        return None
    try:
        return OpenComplaint(**json.loads(text))
    except (ValueError, TypeError):
        return None


def _pending_from(items: list[Any]) -> Pending:
    pending = Pending(location=None, attachments=[])
    for raw in items:
        try:
            item = json.loads(_s(raw) or "{}")
            if "location" in item:
                pending.location = GeoPoint(**item["location"])  # the latest location wins
            if "attachment" in item:
                pending.attachments.append(Attachment(**item["attachment"]))
        except (ValueError, TypeError):
            continue
    return pending


class WeChatState:
    def __init__(self, redis: Redis, prefix: str = "wechat:", dedupe_ttl_s: int = 86400) -> None:
        self.redis = redis
        self.prefix = prefix
        self.dedupe_ttl_s = dedupe_ttl_s

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # --- dedupe and reply cache -------------------------------------------------
    async def cached_reply(self, dedupe: str) -> str | None:
        return _s(await self.redis.get(self.key("reply", dedupe)))

    async def store_reply(self, dedupe: str, reply: str, *, overwrite: bool = False) -> bool:
        """Cache the reply plaintext; without ``overwrite`` the first stored reply wins."""
        ok = await self.redis.set(self.key("reply", dedupe), reply, ex=self.dedupe_ttl_s, nx=not overwrite)
        return bool(ok)

    async def bind_fingerprint(self, dedupe: str, fingerprint: str) -> bool:
        """Bind the dedupe key to the message's fingerprint (first wins, kept as long as its reply).

        False when the key was bound to another message: same MsgId, different content."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.key("fp", dedupe), fingerprint, ex=self.dedupe_ttl_s, nx=True)
        pipe.get(self.key("fp", dedupe))
        _, stored = await pipe.execute()
        return _s(stored) in (None, fingerprint)

    async def fingerprint_matches(self, dedupe: str, fingerprint: str) -> bool:
        """Read only: False when the key is bound to another message (a stale push binds nothing)."""
        stored = await self.redis.get(self.key("fp", dedupe))
        return _s(stored) in (None, fingerprint)

    async def lookup_or_claim(self, dedupe: str, ttl_s: float) -> tuple[str | None, bool]:
        """One round trip: the cached reply (if any) and whether we claimed the message."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.key("reply", dedupe))
        pipe.set(self.key("claim", dedupe), "1", px=max(1, int(ttl_s * 1000)), nx=True)
        reply, claimed = await pipe.execute()
        return _s(reply), bool(claimed)

    async def finish(self, dedupe: str, reply: str | None, last: tuple[str, float] | None) -> str | None:
        """One round trip: cache the reply (first wins), drop the claim, note the citizen's activity.

        Returns the reply now cached (ours, or one stored before us), or None if none was given.
        """
        pipe = self.redis.pipeline(transaction=False)
        if reply is not None:
            pipe.set(self.key("reply", dedupe), reply, ex=self.dedupe_ttl_s, nx=True)
            pipe.get(self.key("reply", dedupe))
        pipe.delete(self.key("claim", dedupe))
        if last is not None:
            pipe.set(self.key("last", last[0]), repr(float(last[1])), ex=CS_WINDOW_S + 3600)
        results = await pipe.execute()
        return _s(results[1]) if reply is not None else None

    async def release(self, dedupe: str) -> None:
        await self.redis.delete(self.key("claim", dedupe))

    # --- per-citizen lock -----------------------------------------------------------
    @asynccontextmanager
    async def citizen_lock(self, openid: str, ttl_s: float = 5.0, wait_s: float = 2.0) -> AsyncIterator[bool]:
        """Serialise one citizen's messages across processes (best effort: yields False on timeout)."""
        key = self.key("lock", openid)
        token = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        end = loop.time() + wait_s
        acquired = False
        while True:
            if await self.redis.set(key, token, px=int(ttl_s * 1000), nx=True):
                acquired = True
                break
            if loop.time() >= end:
                break
            await asyncio.sleep(0.02)
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    await self.redis.eval(_RELEASE, 1, key, token)  # type: ignore[misc]
                except (RedisError, OSError) as exc:
                    # The lock expires by itself; failing here would turn a stored complaint's
                    # answer into an error and make the citizen send it again.
                    log.warning("wechat: citizen lock not released (expires in %ss): %s", ttl_s, exc)

    # --- open complaint -------------------------------------------------------------------
    async def open_complaint(self, openid: str) -> OpenComplaint | None:
        return _open_from(await self.redis.get(self.key("open", openid)))

    async def set_open_complaint(self, openid: str, oc: OpenComplaint, window_s: float) -> None:
        # the Redis TTL only collects garbage; the window itself is checked against last_at
        await self.redis.set(
            self.key("open", openid), json.dumps(asdict(oc)), ex=max(1, int(window_s) + 60)
        )

    async def snapshot(self, openid: str) -> tuple[OpenComplaint | None, Pending]:
        """One round trip: the open complaint (window not checked) and the pending items."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.key("open", openid))
        pipe.lrange(self.key("pending", openid), 0, -1)
        raw_open, raw_pending = await pipe.execute()
        return _open_from(raw_open), _pending_from(raw_pending)

    async def commit_open(self, openid: str, oc: OpenComplaint, window_s: float, clear_pending: bool) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.key("open", openid), json.dumps(asdict(oc)), ex=max(1, int(window_s) + 60))
        if clear_pending:
            pipe.delete(self.key("pending", openid))
        await pipe.execute()

    async def close_complaint(self, openid: str) -> None:
        await self.redis.delete(self.key("open", openid))

    # --- pending supplements (before the complaint exists) ------------------------------
    async def add_pending(
        self, openid: str, *, location: GeoPoint | None = None, attachment: Attachment | None = None,
        window_s: float = 600,
    ) -> None:
        item: dict[str, Any] = {}
        if location is not None:
            item["location"] = location.model_dump()
        if attachment is not None:
            item["attachment"] = attachment.model_dump()
        key = self.key("pending", openid)
        pipe = self.redis.pipeline()
        pipe.rpush(key, json.dumps(item, ensure_ascii=False))
        pipe.ltrim(key, -20, -1)
        pipe.expire(key, max(1, int(window_s)))
        await pipe.execute()

    async def pending(self, openid: str) -> Pending:
        return _pending_from(await self.redis.lrange(self.key("pending", openid), 0, -1))  # type: ignore[misc]

    async def clear_pending(self, openid: str) -> None:
        await self.redis.delete(self.key("pending", openid))

    # --- last message time (48 h customer-service window) --------------------------------
    async def mark_last_message(self, openid: str, at: float | None = None) -> None:
        ts = time.time() if at is None else at
        await self.redis.set(self.key("last", openid), repr(float(ts)), ex=CS_WINDOW_S + 3600)

    async def last_message_at(self, openid: str) -> float | None:
        raw = _s(await self.redis.get(self.key("last", openid)))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None
