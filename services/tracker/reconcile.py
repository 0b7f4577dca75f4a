"""Nothing is lost: notice complaints that were ticketed but never became a routed case, and fix them.

Independent of the stream processor (which can skip a record after a restart,
and whose embedded broker forgets everything when it restarts):

1. an intake record older than ``route_timeout`` with no case → the case is created
   from the record itself;
2. a case still ``received`` after ``route_timeout`` → routed here by the same core
   (``router="reconciler"``) and the decision is published through the outbox.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import ComplaintReceived, ComplaintRouted
from services.platform.topics import COMPLAINTS_ROUTED
from services.tracker.models import Case, IntakeRecord, OutboxRow
from services.tracker.projection import RECEIVED, apply_routed

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=3)


def orphans(session: Session, older_than: datetime, limit: int = 200) -> list[IntakeRecord]:
    q = (select(IntakeRecord).outerjoin(Case, Case.complaint_id == IntakeRecord.complaint_id)
         .where(Case.complaint_id.is_(None), IntakeRecord.created_at < older_than,
                IntakeRecord.created_at > older_than - LOOKBACK)
         .order_by(IntakeRecord.created_at).limit(limit))
    return list(session.scalars(q))


def unrouted(session: Session, older_than: datetime, limit: int = 200) -> list[Case]:
    q = (select(Case).where(Case.status == RECEIVED, Case.received_at < older_than)
         .order_by(Case.received_at).limit(limit))
    return list(session.scalars(q))


def enqueue(session: Session, ev: ComplaintRouted) -> None:
    session.add(OutboxRow(topic=COMPLAINTS_ROUTED, key=ev.complaint_id, payload=ev.model_dump_json(),
                          created_at=datetime.now(UTC), published_at=None))


def reconcile(session: Session, engine: Engine, route_timeout_s: float,
              applied_until: datetime | None = None) -> dict[str, int]:
    """One pass; the caller commits.  Returns what it repaired.

    ``applied_until``: the tracker has applied every stream record produced before this moment
    (``progress.StreamProgress``); a complaint received later than ``route_timeout`` before it
    may still have its decision waiting unread on the stream, and is left alone for now."""
    now = datetime.now(UTC)
    cutoff = min(now, applied_until or now) - timedelta(seconds=route_timeout_s)
    created = routed = 0
    for record in orphans(session, cutoff):
        received = ComplaintReceived.model_validate_json(record.payload)
        ev = routed_event(received, decide(engine, received), router="reconciler",
                          model_version=engine.model.version)
        if apply_routed(session, ev, received, engine):
            enqueue(session, ev)
            created += 1
            log.warning("reconciler: %s had no case after %.0fs; created and routed to %s",
                        record.ticket_no, route_timeout_s, ev.unit)
    session.flush()
    for case in unrouted(session, cutoff):
        stored = session.get(IntakeRecord, case.complaint_id)
        received = (ComplaintReceived.model_validate_json(stored.payload) if stored is not None
                    else _from_case(case))
        ev = routed_event(received, decide(engine, received), router="reconciler",
                          model_version=engine.model.version)
        if apply_routed(session, ev, None, engine):
            enqueue(session, ev)
            routed += 1
            log.warning("reconciler: %s not routed after %.0fs; routed to %s", case.ticket_no, route_timeout_s, ev.unit)
    return {"created": created, "routed": routed}


def _from_case(case: Case) -> ComplaintReceived:
    return ComplaintReceived.model_validate({
        "event_id": f"recv-{case.complaint_id}", "complaint_id": case.complaint_id, "ticket_no": case.ticket_no,
        "city": "", "channel": case.channel, "text": case.text, "phone": case.phone, "name": case.name,
        "address": case.address, "received_at": case.received_at, "location": case.location,
        "attachments": case.attachments or [], "citizen_id": case.citizen_id,
    })
