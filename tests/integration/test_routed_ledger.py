"""The router's ledger of delivered decisions (real Redis): a record read again is known, a complaint
published again (another position) is not, and Redis away means routing without it, never an error."""

from __future__ import annotations

import asyncio

from services.platform.embedded import free_port
from services.platform.redisio import async_redis
from services.router.ledger import Position, RoutedLedger


def test_a_record_read_again_is_known_and_a_republished_one_is_not(redis_url: str, redis_prefix: str) -> None:
    async def run() -> None:
        redis = async_redis(redis_url)
        ledger = RoutedLedger(redis, redis_prefix, ttl_s=60)
        first, second = Position("c-1", 0, 5), Position("c-2", 1, 7)
        assert await ledger.already_routed([first, second]) == set()
        await ledger.note([first])
        assert await ledger.already_routed([first, second]) == {first}
        # the same complaint at another position (relay of an adopted row, a new log): routed again
        assert await ledger.already_routed([Position("c-1", 0, 9), Position("c-1", 2, 5)]) == set()
        assert 0 < await redis.ttl(f"{redis_prefix}routed:c-1") <= 60
        await redis.aclose()

    asyncio.run(run())


def test_redis_away_means_routing_without_the_ledger() -> None:
    async def run() -> None:
        redis = async_redis(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1, socket_connect_timeout=1)
        ledger = RoutedLedger(redis, "x:")
        position = Position("c-1", 0, 1)
        await ledger.note([position])  # logged, not raised
        assert await ledger.already_routed([position]) == set()
        await redis.aclose()

    asyncio.run(run())
