"""The async Redis client of the API, with every transport failure surfacing as a Redis error.

Under uvloop, writing to a connection whose server just died raises ``RuntimeError`` ("the handler is
closed") inside redis-py instead of a ``ConnectionError``; the API would answer 500 instead of 503.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError


class SafeConnection(Connection):
    async def _send_packed_command(self, command: Any) -> None:
        try:
            await super()._send_packed_command(command)
        except RuntimeError as exc:  # uvloop: transport closed under us
            raise RedisConnectionError(f"Redis connection lost: {exc}") from exc


def async_redis(url: str, **kw: Any) -> aioredis.Redis:
    """``redis.asyncio.from_url`` with :class:`SafeConnection` (TCP URLs)."""
    if url.startswith("redis://"):
        kw.setdefault("connection_class", SafeConnection)
    client: aioredis.Redis = aioredis.Redis.from_url(url, **kw)
    return client
