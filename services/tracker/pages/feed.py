"""GET /api/v1/feed: the live feed as server-sent events, from the Redis pub/sub channel.

Every API process subscribes to the same channel (``<prefix>feed``), so a dashboard
connected to any of them sees every change.  A squad member only receives the events
of the own unit.  A comment line every 15 s keeps proxies from closing the stream.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from redis.asyncio import Redis

from services.tracker.auth import Principal, Role, require

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["pages"])
HEARTBEAT_S = 15.0
POLL_S = 1.0


def visible(change: dict[str, Any], principal: Principal) -> bool:
    """A squad member sees only events about the own unit; everyone else sees everything."""
    if principal.role != Role.SQUAD:
        return True
    return principal.unit is not None and principal.unit in (change.get("unit"), change.get("from_unit"))


def sse(change: dict[str, Any]) -> str:
    return f"event: change\ndata: {json.dumps(change, ensure_ascii=False)}\n\n"


async def stream(request: Request, redis: Redis, channel: str, principal: Principal,
                 heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[str]:
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    try:
        yield "retry: 3000\n: connected\n\n"
        last = time.monotonic()
        while not await request.is_disconnected():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
            if message is not None and message.get("type") == "message":
                try:
                    change = json.loads(message["data"])
                except (TypeError, ValueError):
                    change = None
                if isinstance(change, dict) and visible(change, principal):
                    yield sse(change)
            if time.monotonic() - last >= heartbeat_s:
                last = time.monotonic()
                yield ": heartbeat\n\n"
    except Exception as exc:  # Redis away: end the stream; EventSource reconnects by itself
        log.info("live feed stream ended: %s: %s", type(exc).__name__, exc)
    finally:
        with anyio.CancelScope(shield=True):
            try:
                await pubsub.unsubscribe(channel)
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except Exception as exc:
                log.debug("pubsub close failed: %s", exc)


@router.get("/feed", summary="实时动态（server-sent events）", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "event: change，data 为一项变更（JSON）；每 15 秒一行注释保持连接"}})
async def feed(
    request: Request,
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND, Role.SQUAD))],
) -> StreamingResponse:
    state = request.app.state
    heartbeat = float(getattr(state, "feed_heartbeat_s", HEARTBEAT_S))
    body = stream(request, state.redis, f"{state.settings.redis_prefix}feed", principal, heartbeat)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
