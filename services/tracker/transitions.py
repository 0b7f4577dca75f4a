"""Adapter between the tracker's API actions and the core's case state machine.

The rules live in ``services/core/workflow.py`` (``apply``, ``TRANSITIONS``,
``IllegalTransition``).  This module only

- maps an API action to the core action(s) it performs (a return is RETURN followed by
  REROUTE, or by ESCALATE after the second return);
- builds the core ``CaseState`` from a ``cases`` row and the row's columns from a state;
- words a refusal in Chinese, naming the current status;
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from services.core.workflow import (
    ACTION_LABELS,
    MAX_RETURNS,
    STATUS_LABELS,
    TRANSITIONS,
    CaseState,
    CaseStatus,
    Extension,
    IllegalTransition,
    apply,
)
from services.core.workflow import Action as Core
from services.tracker.models import Case

__all__ = ["ACTION_NAMES", "MAX_RETURNS", "STATUS_NAMES", "TABLE", "Action", "Refused", "Step",
           "allowed", "columns", "run_steps", "state_of", "status_name"]

S = CaseStatus


class Action(StrEnum):
    """The API's actions (one endpoint each)."""

    ACCEPT = "accept"
    START = "start"
    RETURN = "return"
    REQUEST_EXTENSION = "extension"
    APPROVE_EXTENSION = "extension_approve"
    REFUSE_EXTENSION = "extension_refuse"
    RESOLVE = "resolve"
    VERIFY = "verify"
    REOPEN = "reopen"
    REASSIGN = "reassign"
    DECIDE = "decide"
    SUPERVISE = "supervise"
    MERGE = "merge"
    FORWARD = "forward"
    ANSWER = "answer"
    RATE = "rate"


WHY_ZH = {
    "the command centre's decision is final": "指挥中心已裁定承办单位，不能再退单",
    "already rated": "已评价过，不能重复评价",
    "no extension has been requested": "没有待审批的延期申请",
    "extension already requested": "已有待审批的延期申请",
    "extension already approved": "已批准过一次延期，不能再申请",
}

Step = tuple[str, dict[str, Any]]  # (core action, parameters)

# The first state-machine move of each API action.
FIRST_STEP: dict[Action, str] = {
    Action.ACCEPT: "accept", Action.START: "start", Action.RETURN: "return",
    Action.REQUEST_EXTENSION: "request_extension", Action.APPROVE_EXTENSION: "approve_extension",
    Action.REFUSE_EXTENSION: "refuse_extension", Action.RESOLVE: "resolve", Action.VERIFY: "verify",
    Action.REOPEN: "reopen", Action.REASSIGN: "reassign", Action.DECIDE: "decide", Action.SUPERVISE: "supervise",
    Action.MERGE: "merge", Action.FORWARD: "forward", Action.ANSWER: "answer", Action.RATE: "rate",
}


def _target(status: CaseStatus, step: str) -> CaseStatus | None:
    return TRANSITIONS.get((status, Core(step)))


# Read-only views for the pages and other adapters: which API action is possible in which status
# (status only; parameters and flags such as a pending extension are checked when it runs).
TABLE: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (status, action): target for status in CaseStatus for action in Action
    if (target := _target(status, FIRST_STEP[action])) is not None
}
STATUS_NAMES: dict[str, str] = {s.value: label for s, label in STATUS_LABELS.items()}
ACTION_NAMES: dict[str, str] = {a.value: ACTION_LABELS[Core(FIRST_STEP[a])] for a in Action}


class Refused(Exception):
    """The state machine refuses the action; ``str()`` is the Chinese message for the user."""


def status_name(status: str) -> str:
    try:
        return STATUS_LABELS[S(status)]
    except ValueError:
        return status


def state_of(case: Case) -> CaseState:
    return CaseState(status=S(case.status), returns=case.returns, final_routing=case.final_decision,
                     extension=Extension(case.extension or Extension.NONE.value), reopened=case.reopens,
                     rating=case.rating, unit=case.unit, merged_into=case.merged_into)


def columns(state: CaseState) -> dict[str, Any]:
    """The ``cases`` columns the core state decides."""
    return {"status": state.status.value, "returns": state.returns, "final_decision": state.final_routing,
            "extension": None if state.extension is Extension.NONE else state.extension.value,
            "reopens": state.reopened, "rating": state.rating, "merged_into": state.merged_into}


def _refusal(exc: IllegalTransition) -> str:
    why = str(exc).split(": ", 1)[1] if ": " in str(exc) else ""
    why_zh = WHY_ZH.get(why, why)
    msg = f"工单当前状态为「{STATUS_LABELS[exc.status]}」，不能{ACTION_LABELS[exc.action]}"
    return msg + (f"：{why_zh}" if why_zh else "")


def run_steps(state: CaseState, steps: list[Step]) -> CaseState:
    """Apply the steps in order through the core; raises :class:`Refused`."""
    for name, params in steps:
        try:
            state = apply(state, name, **params)
        except IllegalTransition as exc:
            raise Refused(_refusal(exc)) from exc
    return state


def allowed(case: Case, step: str) -> bool:
    """Whether the first step of an action is possible now (for views such as ``can_rate``)."""
    try:
        run_steps(state_of(case), [(step, {"rating": "满意", "reason": "-", "into": "-", "unit": "-",
                                           "duration": "-", "note": "-"})])
    except Refused:
        return False
    return True
