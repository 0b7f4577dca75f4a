"""Outbound WeChat API client: shared access_token, customer-service and subscription messages.

* access_token from ``/cgi-bin/stable_token``, cached in Redis for every process; one process
  refreshes at a time (Redis lock), the others wait for the cache.
* errcode 40001/42001/40014 (token invalid/expired) -> refresh and retry once.
* ``notify``: customer-service message within 48 h of the citizen's last message, else (or on
  45015) a subscription message; each notification id is claimed in Redis (SET NX) before
  sending so it is never sent twice; a notification that finally failed is released.
* ``get_media``: download a temporary medium (image, voice), refused over a size limit.
* network errors, 5xx and errcode -1 are retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, Field, SecretStr
from redis.asyncio import Redis

from services.intake.wechat.state import CS_WINDOW_S, WeChatState

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40001, 40014, 42001})
OUT_OF_WINDOW = 45015
QUOTA_CODES = frozenset({45047, 45009})
_ERROR_TYPES = ("application/json", "text/plain", "text/html")  # WeChat sends its JSON errors as text/plain
_R = TypeVar("_R")
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class WeChatApiSettings(BaseModel):
    appid: str
    secret: SecretStr
    base_url: str = "https://api.weixin.qq.com"
    key_prefix: str = "wechat:"
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=4, ge=1)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=8.0, ge=0)
    cs_window_s: float = Field(default=CS_WINDOW_S - 600, description="48 h minus a safety margin")
    notification_ttl_s: int = 30 * 86400
    sending_ttl_s: int = 120
    token_lock_ttl_s: float = 10.0
    quota_retry_after_s: float = 3600.0
    media_max_bytes: int = Field(default=10 * 2**20, gt=0, description="larger media are refused")


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"errcode={errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class MediaTooLarge(WeChatApiError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(-4, f"medium of {size}+ bytes is over the limit of {limit}")
        self.size = size
        self.limit = limit


class _Transient(Exception):
    """One attempt failed in a way worth retrying (5xx, garbled answer, system busy)."""


def _errcode(answer: object) -> int:
    return int(answer.get("errcode", 0) or 0) if isinstance(answer, dict) else 0


@dataclass(frozen=True, slots=True)
class Medium:
    content: bytes
    content_type: str


class NotifyStatus(StrEnum):
    SENT_CUSTOM = "sent_custom"
    SENT_SUBSCRIBE = "sent_subscribe"
    DUPLICATE = "duplicate"  # already sent under this notification id
    IN_PROGRESS = "in_progress"  # another sender is sending it now: ask again later
    UNKNOWN = "unknown"  # a sender died while sending it: maybe delivered, never sent again (at most once)
    QUOTA = "quota"  # 45047/45009: released, retry later
    NO_CHANNEL = "no_channel"  # outside 48 h and no subscription template given: released
    FAILED = "failed"  # released for retry


@dataclass(frozen=True, slots=True)
class NotifyResult:
    status: NotifyStatus
    errcode: int | None = None
    detail: str | None = None
    retry_after_s: float | None = None

    @property
    def sent(self) -> bool:
        return self.status in (NotifyStatus.SENT_CUSTOM, NotifyStatus.SENT_SUBSCRIBE)


class WeChatApiClient:
    def __init__(
        self,
        settings: WeChatApiSettings,
        redis: Redis,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.state = WeChatState(redis, settings.key_prefix)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(base_url=settings.base_url, timeout=settings.timeout_s)
        self.clock = clock
        self.sleep = sleep
        self._token_key = self.state.key("token", settings.appid)
        self._lock_key = self.state.key("token-lock", settings.appid)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    # --- HTTP with backoff ----------------------------------------------------------------
    async def _retrying(self, attempt: Callable[[], Awaitable[_R]]) -> _R:
        """Run ``attempt`` until it returns; network errors and ``_Transient`` are retried with backoff."""
        last: str = ""
        for n in range(self.settings.max_attempts):
            if n:
                delay = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** (n - 1))
                await self.sleep(delay * (0.5 + random.random() / 2))
            try:
                return await attempt()
            except httpx.TransportError as exc:
                last = f"network: {type(exc).__name__}"
            except _Transient as exc:
                last = str(exc)
        raise WeChatApiError(-2, f"gave up after {self.settings.max_attempts} attempts: {last}")

    @staticmethod
    def _json(status: int, raw: bytes) -> dict[str, Any]:
        """A JSON answer of the API; 5xx, non-JSON and errcode -1 (system busy) are transient."""
        if status >= 500:
            raise _Transient(f"http {status}")
        try:
            data = json.loads(raw)
        except ValueError:
            raise _Transient("invalid JSON") from None
        if not isinstance(data, dict):
            raise _Transient("unexpected JSON")
        if _errcode(data) == -1:
            raise _Transient("errcode -1")
        return data

    async def _post(self, path: str, payload: Mapping[str, Any], token: str | None) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")  # WeChat wants raw UTF-8
        params = {"access_token": token} if token else None

        async def attempt() -> dict[str, Any]:
            resp = await self.http.post(
                path, params=params, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
            )
            return self._json(resp.status_code, resp.content)

        return await self._retrying(attempt)

    # --- access_token -----------------------------------------------------------------------
    async def _cached_token(self) -> str | None:
        raw = await self.redis.get(self._token_key)
        if raw is None:
            return None
        try:
            item = json.loads(raw)
            if float(item["expires_at"]) - self.clock() > 60:
                return str(item["token"])
        except (ValueError, KeyError, TypeError):
            pass
        return None

    async def access_token(self) -> str:
        token = await self._cached_token()
        return token if token is not None else await self.refresh_token(stale=None)

    async def _stable_token(self, force: bool) -> tuple[str, int]:
        s = self.settings
        data = await self._post(
            "/cgi-bin/stable_token",
            {"grant_type": "client_credential", "appid": s.appid, "secret": s.secret.get_secret_value(),
             "force_refresh": force},
            None,
        )
        if int(data.get("errcode", 0) or 0) != 0 or "access_token" not in data:
            raise WeChatApiError(int(data.get("errcode", -3) or -3), str(data.get("errmsg", "no access_token")))
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def refresh_token(self, stale: str | None) -> str:
        """Get a token other than ``stale``; only one process talks to WeChat at a time."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.settings.token_lock_ttl_s + 2
        while True:
            current = await self._cached_token()
            if current is not None and current != stale:
                return current
            me = secrets.token_hex(8)
            ttl_ms = int(self.settings.token_lock_ttl_s * 1000)
            if await self.redis.set(self._lock_key, me, px=ttl_ms, nx=True):
                try:
                    current = await self._cached_token()
                    if current is not None and current != stale:
                        return current
                    token, expires_in = await self._stable_token(force=False)
                    if token == stale:  # WeChat still hands out the token it rejected
                        token, expires_in = await self._stable_token(force=True)
                    item = {"token": token, "expires_at": self.clock() + expires_in}
                    await self.redis.set(self._token_key, json.dumps(item), ex=max(60, expires_in - 300))
                    return token
                finally:
                    await self.redis.eval(_RELEASE, 1, self._lock_key, me)  # type: ignore[misc]
            if loop.time() >= end:
                raise WeChatApiError(-3, "timed out waiting for the token refresh of another process")
            await asyncio.sleep(0.05)

    async def _authed(self, send: Callable[[str], Awaitable[_R]]) -> _R:
        """``send(token)``; on 40001/42001/40014 refresh the token and send once more."""
        token = await self.access_token()
        result = await send(token)
        if _errcode(result) in TOKEN_INVALID:
            result = await send(await self.refresh_token(stale=token))
        return result

    async def call(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """An authenticated API call; refresh the token once on 40001/42001/40014."""
        data = await self._authed(lambda token: self._post(path, payload, token))
        code = _errcode(data)
        if code != 0:
            raise WeChatApiError(code, str(data.get("errmsg", "")))
        return data

    # --- temporary media ----------------------------------------------------------------------
    async def get_media(self, media_id: str) -> Medium:
        """Download a temporary medium (``MediaId`` of an image or voice message).

        Raises ``WeChatApiError`` with WeChat's errcode (40007: expired or unknown), and
        ``MediaTooLarge`` for a body over ``media_max_bytes`` (never returned in part)."""
        answer = await self._authed(lambda token: self._retrying(lambda: self._get_media_once(media_id, token)))
        if isinstance(answer, Medium):
            return answer
        raise WeChatApiError(_errcode(answer) or -3, str(answer.get("errmsg", "no media in the answer")))

    async def _get_media_once(self, media_id: str, token: str) -> Medium | dict[str, Any]:
        limit = self.settings.media_max_bytes
        params = {"access_token": token, "media_id": media_id}
        async with self.http.stream("GET", "/cgi-bin/media/get", params=params) as resp:
            if resp.status_code >= 500:
                raise _Transient(f"http {resp.status_code}")
            content_type = resp.headers.get("content-type", "")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise MediaTooLarge(int(declared), limit)
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise MediaTooLarge(len(body), limit)
        if resp.status_code != 200 or content_type.startswith(_ERROR_TYPES):  # errors come as JSON
            return self._json(resp.status_code, bytes(body))
        return Medium(bytes(body), content_type)

    # --- messages -------------------------------------------------------------------------------
    async def send_text(self, openid: str, text: str) -> None:
        """Customer-service text (only within 48 h of the citizen's last message: else 45015)."""
        await self.call(
            "/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}}
        )

    async def send_subscribe(
        self, openid: str, template_id: str, data: Mapping[str, str], page: str | None = None
    ) -> None:
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": v} for k, v in data.items()},
        }
        if page:
            payload["page"] = page
        await self.call("/cgi-bin/message/subscribe/bizsend", payload)

    async def in_service_window(self, openid: str, last_message_at: float | None = None) -> bool:
        """Within 48 h of the citizen's last message (Redis knows it; ``last_message_at`` is what the
        caller knows, e.g. when the complaint came, in case Redis lost it)."""
        known = [t for t in (await self.state.last_message_at(openid), last_message_at) if t is not None]
        return bool(known) and self.clock() - max(known) < self.settings.cs_window_s

    async def notify(
        self,
        notification_id: str,
        openid: str,
        text: str | None,
        *,
        template_id: str | None = None,
        data: Mapping[str, str] | None = None,
        page: str | None = None,
        last_message_at: float | None = None,
    ) -> NotifyResult:
        """Send one notification at most once (per ``notification_id``).

        The claim says ``sending:<lease end>`` until the outcome is known.  Meanwhile another
        sender gets IN_PROGRESS (not final: if this send fails, the claim is given back and the
        other sends it).  A claim still "sending" after its lease means its sender died while
        sending: WeChat may or may not have it, and its API has no idempotency key, so the
        answer is UNKNOWN and it is not sent again (a citizen never gets a message twice).
        """
        key = self.state.key("notif", notification_id)
        lease_end = self.clock() + self.settings.sending_ttl_s
        if not await self.redis.set(key, f"sending:{lease_end!r}", ex=self.settings.notification_ttl_s, nx=True):
            return _claimed_elsewhere(await self.redis.get(key), self.clock())
        try:
            result = await self._deliver(openid, text, template_id, data or {}, page, last_message_at)
        except Exception as exc:  # released below
            log.warning("notification %s failed: %r", notification_id, exc)
            result = NotifyResult(NotifyStatus.FAILED, getattr(exc, "errcode", None), str(exc))
        if result.sent:
            await self.redis.set(key, result.status.value, ex=self.settings.notification_ttl_s)
        else:
            await self.redis.delete(key)
        return result

    async def _deliver(self, openid: str, text: str | None, template_id: str | None, data: Mapping[str, str],
                       page: str | None, last_message_at: float | None) -> NotifyResult:
        quota: WeChatApiError | None = None
        if text and await self.in_service_window(openid, last_message_at):
            try:
                await self.send_text(openid, text)
                return NotifyResult(NotifyStatus.SENT_CUSTOM)
            except WeChatApiError as exc:
                if exc.errcode in QUOTA_CODES:
                    quota = exc
                elif exc.errcode != OUT_OF_WINDOW:
                    return NotifyResult(NotifyStatus.FAILED, exc.errcode, exc.errmsg)
        if template_id:
            try:
                await self.send_subscribe(openid, template_id, data, page)
                return NotifyResult(NotifyStatus.SENT_SUBSCRIBE)
            except WeChatApiError as exc:
                if exc.errcode in QUOTA_CODES:
                    return NotifyResult(NotifyStatus.QUOTA, exc.errcode, exc.errmsg, self.settings.quota_retry_after_s)
                return NotifyResult(NotifyStatus.FAILED, exc.errcode, exc.errmsg)
        if quota is not None:
            return NotifyResult(NotifyStatus.QUOTA, quota.errcode, quota.errmsg, self.settings.quota_retry_after_s)
        return NotifyResult(NotifyStatus.NO_CHANNEL, detail="outside the 48 h window and no template")


def _claimed_elsewhere(value: bytes | str | None, now: float) -> NotifyResult:
    """What another sender's claim on a notification means for this one at ``now``."""
    text = value.decode() if isinstance(value, bytes) else value
    if text is None:  # given back after a failed send just now: the next sweep sends it
        return NotifyResult(NotifyStatus.IN_PROGRESS)
    if text.startswith("sending"):
        _, _, lease_end = text.partition(":")
        try:  # a claim of an older version has no lease, only a short TTL of its own
            alive = not lease_end or now < float(lease_end)
        except ValueError:
            alive = False
        return NotifyResult(NotifyStatus.IN_PROGRESS) if alive else NotifyResult(
            NotifyStatus.UNKNOWN, detail="its sender died while sending it; not sent again")
    return NotifyResult(NotifyStatus.DUPLICATE)
