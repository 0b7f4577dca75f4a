"""Case actions: load the case, apply the workflow transition, write everything in ONE transaction.

Each action writes, atomically:

1. the new current state of the case (``cases``): the status and workflow flags from the core
   state machine (``services/core/workflow.apply``), guarded by optimistic concurrency:
   ``UPDATE ... WHERE version = <loaded>``; a stale write is refused (409);
2. the case event (``case_events``, the history) with ``actor`` = who did it;
3. an outbox row with the ``CaseEvent`` for ``cases.events`` (the relay publishes it);
   a reclassification or re-route also writes its labelled example (``corrections``);
4. with a client action id (``Idempotency-Key`` header or ``action_id``): the response, so a
   retried request is answered again without being applied twice.

Any error rolls the whole transaction back: nothing is half-stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.core.engine import Engine
from services.core.events import CaseEvent
from services.platform.topics import CASES_EVENTS
from services.tracker.commands import Command
from services.tracker.models import Case, CaseAction, CaseEventRow, CorrectionRow, OutboxRow
from services.tracker.transitions import Refused, Step, columns, run_steps, state_of, status_name


class ActionError(Exception):
    """A refused action: HTTP status and a Chinese detail (or FastAPI-style field errors for 422)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status_code = status_code
        self.detail = detail


def field_error(field_name: str, msg: str) -> ActionError:
    return ActionError(422, [{"loc": ["body", field_name], "msg": msg, "type": "value_error"}])


@dataclass(frozen=True)
class Ctx:
    engine: Engine
    now: datetime
    actor: str


@dataclass
class Effect:
    """What an action does to a case, decided by its handler (pure apart from reads)."""

    event_type: str
    steps: list[Step]  # the state-machine moves, applied by the core (services/core/workflow.py)
    changes: dict[str, Any] = field(default_factory=dict)  # other columns (times, unit, deadlines...)
    data: dict[str, Any] = field(default_factory=dict)
    outbox: list[OutboxRow] = field(default_factory=list)
    history: list[CaseEventRow] = field(default_factory=list)
    corrections: list[CorrectionRow] = field(default_factory=list)  # labelled examples (corrections.py)


Handler = Callable[[Session, Case, Any, Ctx], Effect]


@dataclass(frozen=True)
class Outcome:
    response: dict[str, Any]
    change: dict[str, Any] | None  # for the live feed (None when replayed)
    replayed: bool = False


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def snapshot(case: Case) -> dict[str, Any]:
    """The state consumers of cases.events need (the router's deadline watch)."""
    return {
        "status": case.status, "unit": case.unit, "category": case.category, "territory": case.territory,
        "received_at": _iso(case.received_at), "accept_by": _iso(case.accept_by),
        "resolve_by": _iso(case.resolve_by), "accepted_at": _iso(case.accepted_at),
        "returns": case.returns, "version": case.version,
    }


def _replay(row: CaseAction, ticket_no: str, action: str) -> Outcome:
    if row.action != action or row.response.get("ticket_no") != ticket_no:
        raise ActionError(422, [{"loc": ["header", "Idempotency-Key"], "type": "value_error",
                                 "msg": "该操作编号已用于另一项操作（请为每项操作使用新的编号）"}])
    return Outcome({**row.response, "replayed": True}, None, replayed=True)


def _find(session: Session, ticket_no: str) -> Case | None:
    return session.scalars(select(Case).where(Case.ticket_no == ticket_no)).first()


def _apply(session: Session, ticket_no: str, action: str, cmd: Command, ctx: Ctx, handler: Handler,
           authorize: Callable[[Case], None] | None, key: str | None) -> Outcome:
    if key is not None:
        prior = session.get(CaseAction, key)
        if prior is not None:
            return _replay(prior, ticket_no, action)
    case = _find(session, ticket_no)
    if case is None:
        raise ActionError(404, f"工单 {ticket_no} 不存在（或尚未入库，请稍后再试）")
    if authorize is not None:
        authorize(case)
    if cmd.expected_version is not None and cmd.expected_version != case.version:
        raise ActionError(409, f"工单已被修改（当前版本 {case.version}，您的版本 {cmd.expected_version}），请刷新后重试")
    session.expunge(case)  # a detached copy: only the guarded UPDATE below writes the row
    loaded_version = case.version
    effect = handler(session, case, cmd, ctx)
    try:
        after = run_steps(state_of(case), effect.steps)
    except Refused as exc:
        raise ActionError(409, str(exc)) from exc
    values = {**effect.changes, **columns(after), "version": loaded_version + 1, "updated_at": ctx.now}
    result = session.execute(update(Case).where(Case.complaint_id == case.complaint_id,
                                                Case.version == loaded_version).values(**values)
                             .execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 1) != 1:
        raise ActionError(409, "工单刚被他人修改，请刷新后重试")
    for name, value in values.items():
        setattr(case, name, value)
    event = CaseEvent(event_id=f"{effect.event_type}-{uuid.uuid4().hex}", complaint_id=case.complaint_id,
                      ticket_no=case.ticket_no, type=effect.event_type, actor=ctx.actor, at=ctx.now,
                      data={**effect.data, "case": snapshot(case)})
    session.add(CaseEventRow(event_id=event.event_id, complaint_id=case.complaint_id, type=event.type,
                             actor=ctx.actor, at=ctx.now, data=event.data))
    session.add(OutboxRow(topic=CASES_EVENTS, key=case.complaint_id, payload=event.model_dump_json(),
                          created_at=ctx.now, published_at=None))
    for row in (*effect.history, *effect.outbox):
        session.add(row)
    for correction in effect.corrections:  # in this transaction: no action without its example
        correction.event_id = event.event_id
        session.add(correction)
    response = {
        "ticket_no": case.ticket_no, "status": case.status, "status_name": status_name(case.status),
        "unit": case.unit, "version": case.version, "event": event.type, "event_id": event.event_id,
        "actor": ctx.actor, "accept_by": _iso(case.accept_by), "resolve_by": _iso(case.resolve_by),
        "replayed": False,
    }
    if key is not None:
        session.add(CaseAction(key=key, complaint_id=case.complaint_id, action=action, response=response,
                               created_at=ctx.now))
    change = {"type": event.type, "ticket_no": case.ticket_no, "status": case.status, "unit": case.unit,
              "category": case.category, "territory": case.territory, "actor": ctx.actor}
    return Outcome(response, change)


def run_action(sessions: sessionmaker[Session], *, ticket_no: str, action: str, cmd: Command, ctx: Ctx,
               handler: Handler, authorize: Callable[[Case], None] | None = None,
               idempotency_key: str | None = None) -> Outcome:
    """Apply one action in one transaction (blocking: call from a thread)."""
    client_key = idempotency_key or cmd.action_id
    key = f"{ctx.actor}|{client_key}"[:300] if client_key else None
    try:
        with sessions.begin() as session:
            return _apply(session, ticket_no, action, cmd, ctx, handler, authorize, key)
    except IntegrityError as exc:
        # a concurrent request with the same action id won the race: answer as it did
        if key is not None:
            with sessions() as session:
                prior = session.get(CaseAction, key)
                if prior is not None:
                    return _replay(prior, ticket_no, action)
        raise ActionError(409, "工单刚被他人修改，请刷新后重试") from exc
