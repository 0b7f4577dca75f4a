"""Supplements to a complaint (WeChat: a location, a photo or more text after the first message).

A supplement is stored first (``complaint_supplements``) and applied to the case in
the same transaction when the case exists; otherwise the projection applies it
when it creates the case.  A supplement that brings a place to a case parked at
the command centre for want of one re-routes it with the same core.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.core import media
from services.core.dispatch import where
from services.core.engine import Engine
from services.core.events import CaseEvent
from services.core.workflow import NOT_ACCEPTED
from services.platform.db import UTCDateTime
from services.platform.topics import CASES_EVENTS
from services.tracker.case_complaint import complaint_of
from services.tracker.models import Base, Case, CaseEventRow, OutboxRow

REROUTABLE = NOT_ACCEPTED  # a held case the citizen's added place may route


class Supplement(Base):
    __tablename__ = "complaint_supplements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(String(36), index=True)
    ticket_no: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


def add(session: Session, *, complaint_id: str, ticket_no: str, actor: str, data: dict[str, Any],
        engine: Engine | None) -> bool:
    """Store a supplement and apply it if the case exists.  Returns True if applied now."""
    row = Supplement(complaint_id=complaint_id, ticket_no=ticket_no, actor=actor, data=data,
                     created_at=datetime.now(UTC), applied_at=None)
    session.add(row)
    session.flush()
    # locked: the media fetcher updates the same attachments list (compare-and-set on the version)
    case = session.get(Case, complaint_id, with_for_update=True)
    if case is None:
        return False
    _apply(session, case, row, engine)
    return True


def apply_pending(session: Session, case: Case, engine: Engine | None) -> int:
    rows = session.scalars(select(Supplement).where(Supplement.complaint_id == case.complaint_id,
                                                    Supplement.applied_at.is_(None)).order_by(Supplement.id)).all()
    for row in rows:
        _apply(session, case, row, engine)
    return len(rows)


def _apply(session: Session, case: Case, row: Supplement, engine: Engine | None) -> None:
    now = datetime.now(UTC)
    data = row.data
    if data.get("location"):
        case.location = data["location"]
    if data.get("attachments"):
        # each attachment keeps when it came: WeChat drops its media three days after the message
        sent = row.created_at.isoformat()
        case.attachments = [*(case.attachments or []), *({"received_at": sent, **a} for a in data["attachments"])]
        case.media_pending = media.any_to_fetch(case.attachments)
    if data.get("text"):
        case.text = f"{case.text}\n【补充】{data['text']}"[:8000]
    case.version += 1
    case.updated_at = now
    row.applied_at = now
    event_id = f"supp-{row.complaint_id}-{row.id}"
    session.add(CaseEventRow(event_id=event_id, complaint_id=case.complaint_id, type="supplemented",
                             actor=row.actor, at=row.created_at, data=data))
    _outbox(session, case, event_id, "supplemented", row.actor, data)
    if engine is not None:
        reroute_if_placed(session, case, engine)


def reroute_if_placed(session: Session, case: Case, engine: Engine) -> bool:
    """A case parked at the command centre because no place was known is routed once a place is."""
    if case.status not in REROUTABLE or case.unit != engine.city.command_centre or case.territory is not None:
        return False
    decision = where(engine, complaint_of(case, case.received_at))
    if decision.territory is None or decision.unit == engine.city.command_centre:
        return False
    data = {"from_unit": case.unit, "unit": decision.unit, "territory": decision.territory,
            "village": decision.village, "rule": decision.rule, "place_evidence": decision.place_evidence}
    case.unit, case.territory, case.territory_name = decision.unit, decision.territory, decision.territory_name
    case.village, case.rule = decision.village, decision.rule
    case.version += 1
    event_id = f"reroute-{case.complaint_id}-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    session.add(CaseEventRow(event_id=event_id, complaint_id=case.complaint_id, type="rerouted",
                             actor="router:supplement", at=now, data=data))
    _outbox(session, case, event_id, "rerouted", "router:supplement", data)
    return True


def _outbox(session: Session, case: Case, event_id: str, type_: str, actor: str, data: dict[str, Any]) -> None:
    ev = CaseEvent(event_id=event_id, complaint_id=case.complaint_id, ticket_no=case.ticket_no, type=type_,
                   actor=actor, at=datetime.now(UTC), data=data)
    session.add(OutboxRow(topic=CASES_EVENTS, key=case.complaint_id, payload=ev.model_dump_json(),
                          created_at=datetime.now(UTC), published_at=None))
