"""Durable intake log (sync SQLAlchemy; called from a thread by the async service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.tracker.models import IntakeRecord

PENDING = "pending"  # being published by the request that created it
QUEUED = "queued"  # the broker could not take it in time: the relay publishes it
PUBLISHED = "published"


class IntakeStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def insert(self, *, complaint_id: str, ticket_no: str, channel: str, idempotency_key: str | None,
               payload: str, created_at: datetime) -> None:
        self.insert_many([{"complaint_id": complaint_id, "ticket_no": ticket_no, "channel": channel,
                           "idempotency_key": idempotency_key, "payload": payload, "created_at": created_at}])

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """One transaction for all rows (Core insert: a third of the ORM's cost on the hot path)."""
        with self._sessions.begin() as s:
            s.execute(insert(IntakeRecord), [{**r, "published_at": None, "state": PENDING} for r in rows])

    def delete(self, complaint_id: str) -> None:
        with self._sessions.begin() as s:
            s.execute(delete(IntakeRecord).where(IntakeRecord.complaint_id == complaint_id))

    def withdraw(self, complaint_id: str) -> bool:
        """Delete a record that is still ``pending`` (its publish failed).  False if a retry took it over."""
        with self._sessions.begin() as s:
            result = s.execute(delete(IntakeRecord).where(IntakeRecord.complaint_id == complaint_id,
                                                          IntakeRecord.state == PENDING))
            return bool(getattr(result, "rowcount", 0))

    def take_over(self, complaint_id: str) -> bool:
        """A retry adopts a ``pending`` record whose request died (e.g. the API was killed): it is queued for
        the tracker's relay and can no longer be withdrawn.  False if it was not pending any more."""
        with self._sessions.begin() as s:
            result = s.execute(update(IntakeRecord).where(IntakeRecord.complaint_id == complaint_id,
                                                          IntakeRecord.state == PENDING).values(state=QUEUED))
            return bool(getattr(result, "rowcount", 0))

    def mark(self, complaint_id: str, state: str, at: datetime | None = None) -> None:
        with self._sessions.begin() as s:
            s.execute(update(IntakeRecord).where(IntakeRecord.complaint_id == complaint_id)
                      .values(state=state, published_at=at))

    def by_idempotency_key(self, key: str) -> IntakeRecord | None:
        with self._sessions() as s:
            return s.scalars(select(IntakeRecord).where(IntakeRecord.idempotency_key == key)).first()

    def max_ticket(self, prefix: str) -> str | None:
        with self._sessions() as s:
            value: Any = s.scalar(select(func.max(IntakeRecord.ticket_no)).where(IntakeRecord.ticket_no.like(prefix + "%")))
            return str(value) if value else None
