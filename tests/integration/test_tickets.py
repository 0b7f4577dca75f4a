"""Ticket numbers stay unique when Redis loses its counter: the database seeds it again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis

from services.intake.tickets import TicketAllocator


async def test_counter_continues_after_the_database_when_redis_lost_it(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    in_db: dict[str, str | None] = {"max": None}
    alloc = TicketAllocator(client, prefix="RG", timezone="Asia/Shanghai", key_prefix=prefix,
                            max_in_db=lambda day: in_db["max"] if (in_db["max"] or "").startswith(day) else None)
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 11:00 in Rugao
    first = [await alloc.next(now) for _ in range(3)]
    assert first == ["RG20261126000001", "RG20261126000002", "RG20261126000003"]
    in_db["max"] = first[-1]
    await client.delete(f"{prefix}ticket:RG20261126")  # Redis restarted without persistence
    assert await alloc.next(now) == "RG20261126000004"
    # a new local day starts a new sequence
    assert await alloc.next(datetime(2026, 11, 26, 16, 30, tzinfo=UTC)) == "RG20261127000001"
    await client.delete(f"{prefix}ticket:RG20261126", f"{prefix}ticket:RG20261127")
    await client.aclose()
