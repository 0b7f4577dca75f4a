"""Transport-independent callback pipeline: verify, decrypt, parse, dedupe, converse, reply.

Every failure maps to a 4xx or to a safe 200 reply; nothing escapes as a 500.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from redis.asyncio import Redis

from services.intake.wechat.conversation import Conversation
from services.intake.wechat.crypto import (
    InvalidSignatureError,
    WeChatCrypto,
    WeChatCryptoError,
    check_signature,
)
from services.intake.wechat.messages import (
    EventMessage,
    Message,
    MessageError,
    XmlRejected,
    build_text_reply,
    conflict_text,
    dedupe_key,
    message_fingerprint,
    parse_message,
    parse_xml,
)
from services.intake.wechat.ports import IntakePort, MessageConflict
from services.intake.wechat.settings import WeChatSettings
from services.intake.wechat.state import WeChatState

log = logging.getLogger(__name__)

SUCCESS = "success"
ACCEPTED_LATER = "您的消息已收到，正在登记中。稍后发送“查询”即可看到工单号和办理进度。"
SORRY = "系统繁忙，您的消息暂未登记成功，请稍后重新发送。"
T = TypeVar("T")


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    body: str
    media_type: str = "text/plain"


class _Lazy(Generic[T]):
    """Calls a (sync or async) factory once, on first use."""

    def __init__(self, factory: Callable[[], T | Awaitable[T]]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        if self._value is None:
            async with self._lock:
                if self._value is None:
                    value = self._factory()
                    self._value = await value if inspect.isawaitable(value) else value
        assert self._value is not None
        return self._value


def _marks_activity(msg: Message) -> bool:
    """Does this message open the 48 h customer-service window? (not unsubscribe / LOCATION)"""
    return not (isinstance(msg, EventMessage) and msg.event.lower() in ("unsubscribe", "location"))


class CallbackHandler:
    def __init__(
        self,
        settings: WeChatSettings,
        port_factory: Callable[[], IntakePort | Awaitable[IntakePort]],
        redis_factory: Callable[[], Redis | Awaitable[Redis]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.token = settings.token.get_secret_value()
        key = settings.encoding_aes_key
        self.crypto = WeChatCrypto(self.token, key.get_secret_value(), settings.appid) if key else None
        self._port = _Lazy(port_factory)
        self._redis = _Lazy(redis_factory)
        self._background: set[asyncio.Task[str]] = set()

    async def _state(self) -> WeChatState:
        return WeChatState(await self._redis.get(), self.settings.key_prefix, self.settings.dedupe_ttl_s)

    # --- GET -------------------------------------------------------------------------
    def handshake(self, query: Mapping[str, str]) -> Outcome:
        echostr = query.get("echostr")
        if not check_signature(self.token, query.get("signature"), query.get("timestamp"), query.get("nonce")):
            return Outcome(403, "forbidden")
        if not echostr or len(echostr) > 1024:
            return Outcome(400, "bad request")
        return Outcome(200, echostr)

    # --- POST ------------------------------------------------------------------------
    async def push(self, query: Mapping[str, str], body: bytes, deadline: float) -> Outcome:
        try:
            return await self._push(query, body, deadline)
        except Rejected as r:
            log.info("wechat push rejected: %s %s", r.status, r.reason)
            return Outcome(r.status, r.reason)
        except Exception:  # never a 500
            log.exception("wechat push failed before a message was understood")
            return Outcome(400, "bad request")

    async def _push(self, query: Mapping[str, str], body: bytes, deadline: float) -> Outcome:
        timestamp, nonce = query.get("timestamp"), query.get("nonce")
        if not check_signature(self.token, query.get("signature"), timestamp, nonce):
            raise Rejected(403, "bad signature")
        assert timestamp is not None
        try:
            ts = int(timestamp)
        except ValueError as exc:
            raise Rejected(403, "bad timestamp") from exc
        try:
            fields = parse_xml(body, self.settings.max_body)
            aes = query.get("encrypt_type", "raw").lower() == "aes"
            if aes:
                if self.crypto is None:
                    raise Rejected(400, "encryption not configured")
                encrypt = fields.get("Encrypt")
                if not encrypt:
                    raise Rejected(400, "missing Encrypt")
                plain = self.crypto.decrypt_message(encrypt, query.get("msg_signature"), timestamp, nonce)
                fields = parse_xml(plain, self.settings.max_body)
            elif self.settings.require_encryption:
                raise Rejected(403, "plaintext push not allowed")
            msg = parse_message(fields)
        except InvalidSignatureError as exc:
            raise Rejected(403, "bad msg_signature") from exc
        except (WeChatCryptoError, XmlRejected, MessageError) as exc:
            raise Rejected(400, type(exc).__name__) from exc
        now = self.clock()
        fresh = abs(now - ts) <= self.settings.timestamp_skew_s
        reply = await self._process(msg, fresh, deadline)
        if reply == SUCCESS or not reply:
            return Outcome(200, SUCCESS)
        if aes:
            assert self.crypto is not None
            return Outcome(200, self.crypto.encrypt_message(reply, nonce, str(int(now))), "application/xml")
        return Outcome(200, reply, "application/xml")

    async def _process(self, msg: Message, fresh: bool, deadline: float) -> str:
        key = dedupe_key(msg)
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(self._run(msg, key, fresh, deadline))
        done, _ = await asyncio.wait({task}, timeout=max(0.05, deadline - loop.time()))
        if task in done:
            try:
                return task.result()
            except Rejected:
                raise
            except Exception:
                log.exception("wechat message %s could not be handled", key)
                return build_text_reply(msg, SORRY, int(self.clock()))
        # Over budget: answer now, let the work finish in the background (nothing is lost),
        # and make the answer we gave the one a retry will get.
        self._background.add(task)
        task.add_done_callback(self._background_done)
        fallback = build_text_reply(msg, ACCEPTED_LATER, int(self.clock()))
        try:
            state = await asyncio.wait_for(self._state(), 0.2)
            await asyncio.wait_for(state.store_reply(key, fallback, overwrite=True), 0.3)
        except Exception:
            log.warning("could not cache the fallback reply for %s", key)
        return fallback

    def _background_done(self, task: asyncio.Task[str]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background wechat handling failed: %r", task.exception())

    async def _run(self, msg: Message, key: str, fresh: bool, deadline: float) -> str:
        state = await self._state()
        # Short claim: it only has to cover the in-budget work (over budget the fallback reply is
        # cached); if this process dies, a WeChat retry soon finds the claim gone and redoes the
        # work (create_complaint is idempotent per dedupe key).
        loop = asyncio.get_running_loop()
        if msg.msg_id:
            # a fresh push binds its MsgId to its content; a stale one (refused below unless it is a
            # retry with a cached reply) only compares, so a refused push leaves nothing behind
            fp = message_fingerprint(msg)
            same = await (state.bind_fingerprint(key, fp) if fresh else state.fingerprint_matches(key, fp))
            if not same:
                raise Rejected(409, conflict_text(key))  # same MsgId, other content: not a retry
        while True:
            cached, claimed = await state.lookup_or_claim(key, self.settings.reply_budget_s + 1)
            if cached is not None:
                return cached  # a retry: the identical reply, even with a stale timestamp
            if not fresh:
                if claimed:
                    await state.release(key)
                raise Rejected(403, "stale timestamp")
            if claimed:
                break
            # the same message is being handled right now (a retry, another process): wait for its
            # reply, or take over if its claim lapses (that process died)
            if loop.time() >= deadline - 0.3:
                return build_text_reply(msg, ACCEPTED_LATER, int(self.clock()))
            await asyncio.sleep(0.05)
        now = self.clock()
        last = (msg.from_user, now) if _marks_activity(msg) else None
        try:
            conv = Conversation(await self._port.get(), state, window_s=self.settings.window_s, clock=self.clock,
                                max_text_chars=self.settings.max_text_chars)
            text = await asyncio.wait_for(conv.handle(msg), self.settings.background_timeout_s)
        except MessageConflict as exc:  # the intake log has another message under this key
            await state.finish(key, None, last)
            raise Rejected(409, conflict_text(exc.dedupe_key)) from exc
        except Exception:
            await state.finish(key, None, last)  # not cached: a retry may try again
            raise
        reply = SUCCESS if text is None else build_text_reply(msg, text, int(now))
        try:
            return await state.finish(key, reply, last) or reply
        except Exception as exc:
            # The work is done (the complaint may already be registered): answer it.  Only the
            # retry cache is missing, and the port is idempotent per dedupe key.
            log.warning("could not cache the WeChat reply for %s: %s", key, exc)
            return reply

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for background work (tests, graceful shutdown)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)
