"""FastAPI routes: GET/POST /wechat/callback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from redis.asyncio import Redis

from services.intake.wechat.handler import CallbackHandler, Outcome
from services.intake.wechat.ports import IntakePort
from services.intake.wechat.settings import WeChatSettings

__all__ = ["WeChatSettings", "build_router"]

PATH = "/wechat/callback"
# the platform's own protocol: a plain-text echo, an XML (or encrypted XML) reply, or "success"
REPLIES: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}, "application/xml": {}},
                                                  "description": "echostr / 被动回复 XML / success"}}


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, max_body: int) -> bytes:
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > max_body:
            raise _TooLarge
    return bytes(buf)


def _respond(outcome: Outcome) -> Response:
    return Response(content=outcome.body, status_code=outcome.status, media_type=outcome.media_type)


def build_router(
    settings: WeChatSettings,
    port_factory: Callable[[], IntakePort | Awaitable[IntakePort]],
    redis_factory: Callable[[], Redis | Awaitable[Redis]],
    *,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """Routes for the Official Account callback.

    ``port_factory`` and ``redis_factory`` (sync or async) are called once, on first use.
    The handler is reachable as ``router.wechat_handler`` (e.g. to drain background work).
    """
    handler = CallbackHandler(settings, port_factory, redis_factory, clock=clock)
    router = APIRouter(tags=["wechat"])

    @router.get(PATH, include_in_schema=False, response_class=Response, responses=REPLIES)
    async def wechat_handshake(request: Request) -> Response:
        return _respond(handler.handshake(request.query_params))

    @router.post(PATH, include_in_schema=False, response_class=Response, responses=REPLIES)
    async def wechat_push(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.reply_budget_s
        length = request.headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return _respond(Outcome(400, "bad content-length"))
            if int(length) > settings.max_body:
                return _respond(Outcome(413, "body too large"))
        try:
            body = await asyncio.wait_for(_read_body(request, settings.max_body), settings.reply_budget_s / 2)
        except _TooLarge:
            return _respond(Outcome(413, "body too large"))
        except TimeoutError:
            return _respond(Outcome(408, "body too slow"))
        except Exception:
            return _respond(Outcome(400, "bad body"))
        return _respond(await handler.push(request.query_params, body, deadline))

    router.wechat_handler = handler  # type: ignore[attr-defined]
    return router
