"""Apply stream events to the case tables, idempotently.

Each event is recorded once in ``case_events`` (unique ``event_id``); applying
an event a second time — a replay, a redelivery, the reconciler racing the
stream processor — changes nothing.  Only the first routing decision of a case
in status ``received`` moves it on; a later decision for the same complaint is
ignored (and not recorded), so re-processing never overwrites squad work.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from services.core import media
from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived, ComplaintRouted
from services.tracker import rollups, supplements
from services.tracker.models import Case, CaseEventRow, IntakeRecord

RECEIVED = "received"
DISPATCHED = "dispatched"


_BATCH = "projection.batch"


class _Batch:
    """What one batch needs, read in two queries instead of two per record (see ``prefetch``)."""

    def __init__(self, session: Session, complaint_ids: set[str], event_ids: set[str], decided_only: set[str]) -> None:
        self.complaint_ids, self.event_ids = complaint_ids, event_ids
        self.cases: dict[str, Case] = {c.complaint_id: c for c in session.scalars(
            select(Case).where(Case.complaint_id.in_(complaint_ids)))} if complaint_ids else {}
        self.seen: set[str] = set(session.scalars(
            select(CaseEventRow.event_id).where(CaseEventRow.event_id.in_(event_ids)))) if event_ids else set()
        # decisions that arrived before their complaint: its intake-log record, in the same one query
        self.log_ids = decided_only - self.cases.keys()
        self.logged: dict[str, str] = {cid: payload for cid, payload in session.execute(
            select(IntakeRecord.complaint_id, IntakeRecord.payload)
            .where(IntakeRecord.complaint_id.in_(self.log_ids)))} if self.log_ids else {}


def prefetch(session: Session, complaint_ids: set[str], event_ids: set[str], decided_only: Collection[str] = ()) -> None:
    """Load the cases and known event ids of a batch (and the intake-log records of the complaints
    in ``decided_only``, those with a decision but no received event in the batch); valid until the
    session's transaction ends."""
    session.info[_BATCH] = _Batch(session, complaint_ids, event_ids, set(decided_only))


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
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None and complaint_id in batch.log_ids:
        payload = batch.logged.get(complaint_id)
    else:
        record = session.get(IntakeRecord, complaint_id)
        payload = record.payload if record is not None else None
    return ComplaintReceived.model_validate_json(payload) if payload is not None else None


def apply_received(session: Session, ev: ComplaintReceived) -> Case | None:
    """Create the case in status ``received``.  Returns the case if this call created it."""
    if _case(session, ev.complaint_id) is not None:
        return None
    now = datetime.now(UTC)
    attachments = [a.model_dump() for a in ev.attachments]
    case = Case(
        complaint_id=ev.complaint_id, ticket_no=ev.ticket_no, status=RECEIVED, channel=ev.channel.value,
        text=ev.text, phone=ev.phone, name=ev.name, address=ev.address, citizen_id=ev.citizen_id,
        location=ev.location.model_dump() if ev.location else None,
        attachments=attachments, category_candidates=[], evidence=[], media_pending=media.any_to_fetch(attachments),
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


@functools.cache
def _dispatch_statement(columns: tuple[str, ...]) -> Update:
    """The compare-and-set UPDATE for these columns, built once (building it per event cost more
    than executing it)."""
    table = cast(Table, Case.__table__)
    return (update(table).where(table.c.complaint_id == bindparam("v_complaint_id"), table.c.status == RECEIVED)
            .values({name: bindparam(f"v_{name}") for name in columns})
            .execution_options(**{rollups.ROLLUP_TRACKED: True}))  # the caller touches its case


def _dispatch(session: Session, case: Case, values: dict[str, Any]) -> bool:
    """Move the case from received to dispatched with ``values``, unless another transaction already did.

    The stream and the reconciler can decide the same case at the same time (the tracker is
    behind, the route timeout passes).  Both read "received"; without this compare-and-set both
    would dispatch it and record two decisions.  On PostgreSQL the UPDATE waits for the other
    transaction and re-checks the condition on the row it committed; SQLite serialises writers.
    The one UPDATE carries every value (the ORM then knows them as committed and writes nothing
    more): a compare-and-set of the status followed by the ORM's own UPDATE cost twice as much.
    """
    if inspect(case).pending:  # created by this transaction and not written yet: nobody else can see it
        for name, value in values.items():
            setattr(case, name, value)
        return True
    with session.no_autoflush:  # one statement, not a flush of the whole batch per event
        claimed = session.execute(_dispatch_statement(tuple(values)),
                                  {"v_complaint_id": case.complaint_id, **{f"v_{k}": v for k, v in values.items()}})
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    for name, value in values.items():
        set_committed_value(case, name, value)
    rollups.touch(session, case.complaint_id)  # the KPI rollup follows at commit
    return True


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
    if case.status != RECEIVED or _already(session, ev.event_id):
        return False
    values: dict[str, Any] = {
        "status": DISPATCHED, "category": ev.category,
        "category_candidates": [c.model_dump() for c in ev.category_candidates],
        "evidence": [e.model_dump() for e in ev.evidence], "urgent": ev.urgent, "territory": ev.territory,
        "territory_name": ev.territory_name, "village": ev.village, "unit": ev.unit, "rule": ev.rule,
        "review": ev.review, "routed_by": ev.router, "routed_at": ev.routed_at, "accept_by": ev.accept_by,
        "resolve_by": ev.resolve_by, "model_version": ev.model_version, "routed_category": ev.category,
        "secondary_category": ev.secondary_category, "version": case.version + 1, "updated_at": datetime.now(UTC)}
    if not _dispatch(session, case, values):
        return False
    _record(session, event_id=ev.event_id, complaint_id=ev.complaint_id, type_="dispatched",
            actor=f"router:{ev.router}", at=ev.routed_at,
            data={"unit": ev.unit, "category": ev.category, "rule": ev.rule, "urgent": ev.urgent,
                  "territory": ev.territory, "village": ev.village, "review": ev.review,
                  "review_reasons": ev.review_reasons, "urgent_evidence": ev.urgent_evidence,
                  "place_evidence": ev.place_evidence, "model_version": ev.model_version,
                  **({"secondary_category": ev.secondary_category} if ev.secondary_category else {}),
                  **({"override": ev.override} if ev.override else {})})
    return True
