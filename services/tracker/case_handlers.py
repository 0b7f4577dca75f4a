"""What each action does to a case (the status change itself comes from the workflow table).

Handlers read what they need (the engine for re-routing, the merge target), raise
:class:`ActionError` for guards the status alone does not express, and return an
:class:`Effect`; ``actions.run_action`` writes it in one transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core import figures, sla
from services.core.alerts import AlertKind, AlertRaised
from services.core.dispatch import SAME_UNIT_RULE, where
from services.core.engine import Engine
from services.core.workflow import ENDED
from services.platform.topics import ALERTS
from services.tracker import commands as c
from services.tracker import photos
from services.tracker.actions import ActionError, Ctx, Effect, Handler, field_error
from services.tracker.case_complaint import complaint_of
from services.tracker.corrections import correction
from services.tracker.models import Case, CaseEventRow, OutboxRow
from services.tracker.transitions import MAX_RETURNS, Action, status_name


def _on_time(ctx: Ctx, deadline: Any) -> bool | None:
    return None if deadline is None else figures.on_time(ctx.now, deadline)


def accept(_: Session, case: Case, __: c.Empty, ctx: Ctx) -> Effect:
    return Effect("accepted", [("accept", {})], {"accepted_at": ctx.now},
                  {"unit": case.unit, "on_time": _on_time(ctx, case.accept_by)})


def start(_: Session, __: Case, ___: c.Empty, ____: Ctx) -> Effect:
    return Effect("started", [("start", {})])


def _unit(engine: Engine, unit: str, field_name: str = "unit") -> str:
    if unit not in engine.city.units:
        raise field_error(field_name, f"单位 {unit} 不存在")
    return unit


def _redispatch(case: Case, ctx: Ctx, unit: str, category: str | None) -> dict[str, Any]:
    """A new unit gets fresh time limits from now (its own full accept and resolve time)."""
    cat = category or case.category
    changes: dict[str, Any] = {"unit": unit, "accepted_at": None, "extension_hours": None}
    if cat is not None:
        limits = sla.deadlines(ctx.engine.city.categories[cat], ctx.now, case.urgent, ctx.engine.city.timezone)
        changes.update({"category": cat, "accept_by": limits.accept_by, "resolve_by": limits.resolve_by})
        if cat == case.secondary_category:  # corrected to the second matter: it is no longer "another"
            changes["secondary_category"] = None
    return changes


def return_case(_: Session, case: Case, cmd: c.WithReason, ctx: Ctx) -> Effect:
    """退单: the core counts it; re-routed by the core engine, or escalated after the second return."""
    returned = ("return", {"reason": cmd.reason})
    data: dict[str, Any] = {"reason": cmd.reason, "from_unit": case.unit, "returns": case.returns + 1}
    if case.returns + 1 >= MAX_RETURNS or case.final_decision:
        centre = ctx.engine.city.command_centre
        changes = _redispatch(case, ctx, centre, None)
        return Effect("returned", [returned, ("escalate", {})], changes,
                      {**data, "unit": centre, "then": "escalate"})
    decision = where(ctx.engine, complaint_of(case, ctx.now, returned_by=case.unit))
    unit = decision.unit
    changes = {
        "unit": unit, "category": decision.category,
        "category_candidates": [{"code": code, "score": score} for code, score in decision.candidates],
        "territory": decision.territory, "territory_name": decision.territory_name, "village": decision.village,
        "rule": decision.rule, "review": decision.review, "accept_by": decision.accept_by,
        "resolve_by": decision.resolve_by, "accepted_at": None, "extension_hours": None,
        "secondary_category": decision.secondary,
    }
    return Effect("returned", [returned, ("reroute", {"unit": unit})], changes,
                  {**data, "unit": unit, "category": decision.category, "then": "reroute",
                   "rerouted_by": "rule:same_unit" if decision.rule == SAME_UNIT_RULE else "core"})


def request_extension(_: Session, __: Case, cmd: c.ExtensionRequest, ___: Ctx) -> Effect:
    return Effect("extension_requested", [("request_extension", {"duration": f"{cmd.hours}h"})],
                  {"extension_hours": cmd.hours}, {"reason": cmd.reason, "hours": cmd.hours})


def approve_extension(_: Session, case: Case, __: c.Empty, ___: Ctx) -> Effect:
    hours = case.extension_hours or 0
    changes: dict[str, Any] = {"extended": True}
    data: dict[str, Any] = {"hours": hours}
    if hours and case.resolve_by is not None:
        changes["resolve_by"] = sla.extend(case.resolve_by, timedelta(hours=hours))
        data["resolve_by"] = changes["resolve_by"].isoformat()
    return Effect("extension_approved", [("approve_extension", {})], changes, data)


def refuse_extension(_: Session, case: Case, cmd: c.WithReason, __: Ctx) -> Effect:
    return Effect("extension_refused", [("refuse_extension", {"reason": cmd.reason})], {},
                  {"hours": case.extension_hours, "reason": cmd.reason})


def resolve(_: Session, case: Case, cmd: c.Resolve, ctx: Ctx) -> Effect:
    wrong = photos.check_refs(case, cmd.photos)
    if wrong:
        raise field_error("photos", wrong)
    changes = {"resolved_at": ctx.now, "result": cmd.result, "disposal_mode": cmd.disposal_mode,
               "photos": cmd.photos}
    return Effect("resolved", [("resolve", {})], changes,
                  {"result": cmd.result, "disposal_mode": cmd.disposal_mode, "photos": cmd.photos,
                   "on_time": _on_time(ctx, case.resolve_by)})


def verify(_: Session, __: Case, ___: c.Empty, ctx: Ctx) -> Effect:
    return Effect("closed", [("verify", {})], {"closed_at": ctx.now})


def reopen(_: Session, case: Case, cmd: c.WithReason, __: Ctx) -> Effect:
    return Effect("reopened", [("reopen", {"reason": cmd.reason})], {"resolved_at": None, "closed_at": None},
                  {"reason": cmd.reason, "reopens": case.reopens + 1})


def _category(engine: Engine, category: str | None) -> str | None:
    if category is not None and category not in engine.city.categories:
        raise field_error("category", f"类别 {category} 不存在")
    return category


def reassign(_: Session, case: Case, cmd: c.Reassign, ctx: Ctx) -> Effect:
    unit, cat = _unit(ctx.engine, cmd.unit), _category(ctx.engine, cmd.category)
    step = ("dispatch", {"unit": unit}) if case.status == "received" else ("reassign", {"unit": unit})
    return Effect("reassigned", [step], _redispatch(case, ctx, unit, cat),
                  {"from_unit": case.unit, "unit": unit, "category": cat or case.category},
                  corrections=correction(case, ctx.actor, ctx.now, "reassign", unit=unit, category=cat))


def decide(_: Session, case: Case, cmd: c.Decide, ctx: Ctx) -> Effect:
    unit, cat = _unit(ctx.engine, cmd.unit), _category(ctx.engine, cmd.category)
    if unit == ctx.engine.city.command_centre:
        raise field_error("unit", "裁定必须指定具体承办单位")
    return Effect("decided", [("decide", {"unit": unit})], _redispatch(case, ctx, unit, cat),
                  {"from_unit": case.unit, "unit": unit, "category": cat or case.category, "final": True},
                  corrections=correction(case, ctx.actor, ctx.now, "decide", unit=unit, category=cat))


def supervise(_: Session, case: Case, cmd: c.Supervise, ctx: Ctx) -> Effect:
    unit = _unit(ctx.engine, cmd.unit) if cmd.unit else case.unit
    alert = AlertRaised(alert_id=f"supervision:{case.ticket_no}:{ctx.now.strftime('%Y%m%dT%H%M%S%f')}",
                        kind=AlertKind.SUPERVISION, raised_at=ctx.now,
                        message=f"督办：工单 {case.ticket_no}——{cmd.note}", ticket_no=case.ticket_no,
                        complaint_id=case.complaint_id, unit=unit, category=case.category,
                        territory=case.territory, data={"note": cmd.note, "by": ctx.actor})
    row = OutboxRow(topic=ALERTS, key=alert.alert_id, payload=alert.model_dump_json(), created_at=ctx.now)
    return Effect("supervised", [("supervise", {"note": cmd.note})], {}, {"unit": unit, "note": cmd.note, "alert_id": alert.alert_id},
                  outbox=[row])


def merge(session: Session, case: Case, cmd: c.Merge, ctx: Ctx) -> Effect:
    target = session.scalars(select(Case).where(Case.ticket_no == cmd.into_ticket)).first()
    if target is None:
        raise field_error("into_ticket", f"工单 {cmd.into_ticket} 不存在")
    if target.complaint_id == case.complaint_id:
        raise field_error("into_ticket", "不能合并到自身")
    if target.status in ENDED:
        raise ActionError(409, f"目标工单 {target.ticket_no} 当前状态为「{status_name(target.status)}」，不能合并到它")
    note = CaseEventRow(event_id=f"duplicate-{case.complaint_id}", complaint_id=target.complaint_id,
                        type="duplicate_merged", actor=ctx.actor, at=ctx.now, data={"ticket_no": case.ticket_no})
    return Effect("merged", [("merge", {"into": target.ticket_no})], {"closed_at": ctx.now},
                  {"into_ticket": target.ticket_no}, history=[note])


def forward(_: Session, __: Case, cmd: c.Forward, ctx: Ctx) -> Effect:
    return Effect("forwarded", [("forward", {})], {"result": cmd.note, "closed_at": ctx.now},
                  {"note": cmd.note, "to": "12345"})


def answer(_: Session, __: Case, cmd: c.Answer, ctx: Ctx) -> Effect:
    return Effect("answered", [("answer", {})], {"result": cmd.answer, "closed_at": ctx.now}, {"answer": cmd.answer})


def rate(_: Session, __: Case, cmd: c.Rate, ctx: Ctx) -> Effect:
    return Effect("rated", [("rate", {"rating": cmd.rating})], {"rated_at": ctx.now}, {"rating": cmd.rating})


HANDLERS: dict[Action, tuple[type[c.Command], Handler]] = {
    Action.ACCEPT: (c.Empty, accept),
    Action.START: (c.Empty, start),
    Action.RETURN: (c.WithReason, return_case),
    Action.REQUEST_EXTENSION: (c.ExtensionRequest, request_extension),
    Action.APPROVE_EXTENSION: (c.Empty, approve_extension),
    Action.REFUSE_EXTENSION: (c.WithReason, refuse_extension),
    Action.RESOLVE: (c.Resolve, resolve),
    Action.VERIFY: (c.Empty, verify),
    Action.REOPEN: (c.WithReason, reopen),
    Action.REASSIGN: (c.Reassign, reassign),
    Action.DECIDE: (c.Decide, decide),
    Action.SUPERVISE: (c.Supervise, supervise),
    Action.MERGE: (c.Merge, merge),
    Action.FORWARD: (c.Forward, forward),
    Action.ANSWER: (c.Answer, answer),
    Action.RATE: (c.Rate, rate),
}
