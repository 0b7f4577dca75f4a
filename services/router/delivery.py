"""Two rules of the worker's agents: output is delivered before input is acknowledged, and a
Redis outage delays alert bookkeeping instead of crashing the agent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    topic: Any  # a faust topic
    key: bytes | None
    value: bytes


async def deliver(records: Sequence[Outgoing], *, first_delay_s: float = 0.2, max_delay_s: float = 5.0) -> None:
    """Send every record and wait until the broker has each; send the failed ones again until it does.

    Faust's ``topic.send`` only buffers: without waiting for the result, a record the broker
    refused (it was restarting, say) is dropped while the input offset is still committed.
    Re-sending can write a record twice when only the acknowledgement was lost: consumers
    are idempotent (at-least-once).
    """
    pending = list(records)
    delay = first_delay_s
    while pending:
        futures = [await r.topic.send(key=r.key, value=r.value) for r in pending]
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed: list[Outgoing] = []
        errors: list[Exception] = []
        for record, result in zip(pending, results, strict=True):
            if isinstance(result, Exception):
                failed.append(record)
                errors.append(result)
            elif isinstance(result, BaseException):  # cancelled: the worker is stopping
                raise result
        if not failed:
            return
        log.warning("%d of %d records not delivered (%s: %s); sending them again in %.1f s",
                    len(failed), len(pending), type(errors[0]).__name__, errors[0], delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay_s)
        pending = failed


async def with_redis_retry(what: str, step: Callable[[], Awaitable[T]], then: Callable[[T], Awaitable[None]],
                           *, give_up_after_s: float = 60.0, max_delay_s: float = 5.0) -> bool:
    """Run ``step`` until Redis answers (backing off), then ``then`` with its result once.

    Returns False if Redis stayed away for ``give_up_after_s`` (the step is skipped and logged:
    alert bookkeeping is worth less than keeping the stream moving).
    """
    deadline = time.monotonic() + give_up_after_s
    delay = 0.2
    while True:
        try:
            result = await step()
            break
        except (RedisError, OSError) as exc:
            if time.monotonic() >= deadline:
                log.error("alerts: %s skipped, Redis away for %.0f s: %s", what, give_up_after_s, exc)
                return False
            log.warning("alerts: %s waits for Redis (%s: %s)", what, type(exc).__name__, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
    try:
        await then(result)
    except (RedisError, OSError) as exc:  # claiming an alert failed: the deadline check finds it again
        log.warning("alerts: %s not raised now (%s: %s)", what, type(exc).__name__, exc)
    return True
