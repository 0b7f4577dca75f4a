"""Apply stream events to the case tables, idempotently.

Each event is recorded once in ``case_events`` (unique ``event_id``); applying
an event a second time — a replay, a redelivery, the reconciler racing the
stream processor — changes nothing.  Only the first routing decision of a case
in status ``received`` moves it on; a later decision for the same complaint is
ignored (and not recorded), so re-processing never overwrites squad work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, inspect, select, update
from sqlalchemy.orm import Session

from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived, ComplaintRouted
from services.tracker import supplements
from services.tracker.models import Case, CaseEventRow, IntakeRecord

RECEIVED = "received"
DISPATCHED = "dispatched"


_BATCH = "projection.batch"


class _Batch:
    """What one batch needs, read in two queries instead of two per record (see ``prefetch``)."""

    def __init__(self, session: Session, complaint_ids: set[str], event_ids: set[str]) -> None:
        self.complaint_ids, self.event_ids = complaint_ids, event_ids
        self.cases: dict[str, Case] = {c.complaint_id: c for c in session.scalars(
            select(Case).where(Case.complaint_id.in_(complaint_ids)))} if complaint_ids else {}
        self.seen: set[str] = set(session.scalars(
            select(CaseEventRow.event_id).where(CaseEventRow.event_id.in_(event_ids)))) if event_ids else set()


def prefetch(session: Session, complaint_ids: set[str], event_ids: set[str]) -> None:
    """Load the cases and known event ids of a batch; valid until the session's transaction ends."""
    session.info[_BATCH] = _Batch(session, complaint_ids, event_ids)


def end_batch(session: Session) -> None:
    session.info.pop(_BATCH, None)


def _case(session: Session, complaint_id: str) -> Case | None:
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None and complaint_id in batch.complaint_ids:
        return batch.cases.get(complaint_id)
    return session.get(Case, complaint_id)


def _already(session: Session, event_id: str) -> bool:
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None and event_id in batch.event_ids:
        return event_id in batch.seen
    return session.scalar(select(CaseEventRow.id).where(CaseEventRow.event_id == event_id)) is not None


def _record(session: Session, *, event_id: str, complaint_id: str, type_: str, actor: str, at: datetime,
            data: dict[str, Any]) -> None:
    session.add(CaseEventRow(event_id=event_id, complaint_id=complaint_id, type=type_, actor=actor, at=at, data=data))
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None:
        batch.seen.add(event_id)


def _from_intake_log(session: Session, complaint_id: str) -> ComplaintReceived | None:
    record = session.get(IntakeRecord, complaint_id)
    return ComplaintReceived.model_validate_json(record.payload) if record is not None else None


def apply_received(session: Session, ev: ComplaintReceived) -> Case | None:
    """Create the case in status ``received``.  Returns the case if this call created it."""
    if _case(session, ev.complaint_id) is not None:
        return None
    now = datetime.now(UTC)
    case = Case(
        complaint_id=ev.complaint_id, ticket_no=ev.ticket_no, status=RECEIVED, channel=ev.channel.value,
        text=ev.text, phone=ev.phone, name=ev.name, address=ev.address, citizen_id=ev.citizen_id,
        location=ev.location.model_dump() if ev.location else None,
        attachments=[a.model_dump() for a in ev.attachments], category_candidates=[], evidence=[],
        urgent=False, review=False, received_at=ev.received_at, returns=0, version=1, updated_at=now,
    )
    session.add(case)
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None:
        batch.cases[ev.complaint_id] = case
    if not _already(session, ev.event_id):
        _record(session, event_id=ev.event_id, complaint_id=ev.complaint_id, type_="received",
                actor=ev.submitted_by or f"channel:{ev.channel.value}", at=ev.received_at,
                data={"needs_operator": ev.needs_operator})
    if ev.channel == Channel.WECHAT:  # only WeChat conversations bring supplements
        supplements.apply_pending(session, case, None)
    return case


def _claim_dispatch(session: Session, case: Case) -> bool:
    """Move the row from received to dispatched unless another transaction already did.

    The stream and the reconciler can decide the same case at the same time (the tracker is
    behind, the route timeout passes).  Both read "received"; without this compare-and-set both
    would dispatch it and record two decisions.  On PostgreSQL the UPDATE waits for the other
    transaction and re-checks the condition on the row it committed; SQLite serialises writers.
    """
    if inspect(case).pending:
        return True  # created by this transaction and not written yet: nobody else can see it
    table = cast(Table, Case.__table__)
    with session.no_autoflush:  # one statement, not a flush of the whole batch per event
        claimed = session.execute(update(table).where(table.c.complaint_id == case.complaint_id,
                                                      table.c.status == RECEIVED).values(status=DISPATCHED))
    return bool(getattr(claimed, "rowcount", 0) == 1)


def apply_routed(session: Session, ev: ComplaintRouted, received: ComplaintReceived | None = None,
                 engine: Engine | None = None) -> bool:
    """Dispatch the case per the routing decision.  Returns True if the case changed.

    With an engine, a case routed to the command centre for want of a place is
    re-routed when a supplement (e.g. a WeChat location) has brought one since."""
    case = _case(session, ev.complaint_id)
    if case is None:
        # routed before received (two topics, no order between them): the intake log has the complaint
        received = received or ev.complaint or _from_intake_log(session, ev.complaint_id)
        if received is None:
            return False
        created = apply_received(session, received)
        if created is None:
            return False
        session.flush()
        case = created
    if case.status != RECEIVED or _already(session, ev.event_id) or not _claim_dispatch(session, case):
        return False
    case.status = DISPATCHED
    case.category = ev.category
    case.category_candidates = [c.model_dump() for c in ev.category_candidates]
    case.evidence = [e.model_dump() for e in ev.evidence]
    case.urgent = ev.urgent
    case.territory = ev.territory
    case.territory_name = ev.territory_name
    case.village = ev.village
    case.unit = ev.unit
    case.rule = ev.rule
    case.review = ev.review
    case.routed_by = ev.router
    case.routed_at = ev.routed_at
    case.accept_by = ev.accept_by
    case.resolve_by = ev.resolve_by
    case.version += 1
    case.updated_at = datetime.now(UTC)
    _record(session, event_id=ev.event_id, complaint_id=ev.complaint_id, type_="dispatched",
            actor=f"router:{ev.router}", at=ev.routed_at,
            data={"unit": ev.unit, "category": ev.category, "rule": ev.rule, "urgent": ev.urgent,
                  "territory": ev.territory, "village": ev.village, "review": ev.review,
                  "review_reasons": ev.review_reasons, "urgent_evidence": ev.urgent_evidence,
                  "place_evidence": ev.place_evidence, **({"override": ev.override} if ev.override else {})})
    return True
