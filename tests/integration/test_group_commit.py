"""Concurrent intake writes share transactions; a unique clash fails only the request that caused it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.intake.group_commit import GroupCommitWriter
from services.intake.store import IntakeStore
from services.platform.db import make_engine, make_sessionmaker
from services.platform.migrate import upgrade
from services.tracker.models import IntakeRecord


def row(ticket: str) -> dict[str, object]:
    return {"complaint_id": str(uuid.uuid4()), "ticket_no": ticket, "channel": "hotline", "idempotency_key": None,
            "payload": "{}", "created_at": datetime.now(UTC)}


async def test_batch_with_a_clash_fails_only_the_offender(database_url: str) -> None:
    upgrade(database_url)
    sessions = make_sessionmaker(make_engine(database_url))
    writer = GroupCommitWriter(IntakeStore(sessions))
    tickets = [f"RG20261126{i:06d}" for i in range(50)] + ["RG20261126000007"]  # the last one clashes
    results = await asyncio.gather(*(writer.insert(**row(t)) for t in tickets), return_exceptions=True)
    writer.close()
    assert all(r is None for r in results[:50])
    assert isinstance(results[50], IntegrityError)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IntakeRecord)) == 50


async def test_writes_are_durable_before_the_caller_continues(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    writer = GroupCommitWriter(IntakeStore(sessions))
    await writer.insert(**row("RG20261126000001"))
    with sessions() as s:  # a fresh session sees it: committed, not just queued
        assert s.scalar(select(IntakeRecord.ticket_no)) == "RG20261126000001"
    with pytest.raises(IntegrityError):
        await writer.insert(**row("RG20261126000001"))
    writer.close()
