"""The case state machine, as an explicit transition table (pure; no I/O).

States (``CaseStatus``) and what moves a case between them (``Action``)::

    received --dispatch--> dispatched --accept--> accepted --start--> in_progress --resolve--> resolved
    resolved --verify--> closed                 (核查结案)
    resolved --reopen--> in_progress            (返工: failed verification, reason required)
    dispatched/accepted --return--> returned    (退单, reason required; returns counted)
    returned --reroute--> dispatched            (re-routed; a third return is not possible:)
    returned --escalate--> awaiting_decision    (after two returns the command centre decides)
    awaiting_decision --decide--> dispatched    (市级裁定: final; the case cannot be returned again)
    received|dispatched|accepted|in_progress --merge--> merged       (duplicate, terminal, target required)
    received|dispatched|returned|awaiting_decision --forward--> forwarded   (转12345, terminal)
    received|dispatched --answer--> answered    (consultation answered by the hotline, terminal)
    received|dispatched|accepted|in_progress|awaiting_decision --reassign--> dispatched (改派, unit required)
    open or resolved --supervise--> same state  (督办: a supervision notice, note required)
    accepted|in_progress --request_extension--> same state, extension = "requested" (延期申请)
    accepted|in_progress --approve_extension--> same state, extension = "approved" (needs a requested one)
    accepted|in_progress --refuse_extension--> same state, extension = "refused"
    resolved|closed --rate--> same state, rating recorded (满意/基本满意/不满意), once

The extension is a flag on the case (``CaseState.extension``), not a state: a squad keeps
working while it waits.  ``apply`` is pure: it returns a new ``CaseState`` or raises
``IllegalTransition`` (an unknown move, a missing reason, a second rating …).

``TRANSITIONS`` maps (status, action) -> target status; an absent pair is illegal.  The
tracker builds its endpoints on ``apply`` and uses ``allowed_actions`` for the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

MAX_RETURNS = 2


class CaseStatus(StrEnum):
    RECEIVED = "received"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    AWAITING_DECISION = "awaiting_decision"
    MERGED = "merged"
    FORWARDED = "forwarded"
    ANSWERED = "answered"


class Action(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    START = "start"
    RESOLVE = "resolve"
    VERIFY = "verify"
    REOPEN = "reopen"
    RETURN = "return"
    REROUTE = "reroute"
    ESCALATE = "escalate"
    DECIDE = "decide"
    MERGE = "merge"
    FORWARD = "forward"
    ANSWER = "answer"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    RATE = "rate"
    REASSIGN = "reassign"
    SUPERVISE = "supervise"


class Extension(StrEnum):
    NONE = "none"
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


RATINGS = ("满意", "基本满意", "不满意")

STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.RECEIVED: "已受理", CaseStatus.DISPATCHED: "已派遣", CaseStatus.ACCEPTED: "已签收",
    CaseStatus.IN_PROGRESS: "处置中", CaseStatus.RESOLVED: "已反馈", CaseStatus.CLOSED: "已结案",
    CaseStatus.RETURNED: "已退单", CaseStatus.AWAITING_DECISION: "待市级裁定", CaseStatus.MERGED: "已合并",
    CaseStatus.FORWARDED: "已转办", CaseStatus.ANSWERED: "已答复",
}
ACTION_LABELS: dict[Action, str] = {
    Action.DISPATCH: "派遣", Action.ACCEPT: "签收", Action.START: "开始处置", Action.RESOLVE: "处置反馈",
    Action.VERIFY: "核查结案", Action.REOPEN: "返工", Action.RETURN: "退单", Action.REROUTE: "重新派遣",
    Action.ESCALATE: "提请市级裁定", Action.DECIDE: "市级裁定", Action.MERGE: "合并", Action.FORWARD: "转办12345",
    Action.ANSWER: "直接答复", Action.REQUEST_EXTENSION: "申请延期", Action.APPROVE_EXTENSION: "批准延期",
    Action.REFUSE_EXTENSION: "驳回延期", Action.RATE: "回访评价", Action.REASSIGN: "改派", Action.SUPERVISE: "督办",
}
EXTENSION_LABELS: dict[Extension, str] = {
    Extension.NONE: "无", Extension.REQUESTED: "延期申请中", Extension.APPROVED: "已批准延期",
    Extension.REFUSED: "延期被驳回",
}

S, A = CaseStatus, Action
_WORKING = (S.ACCEPTED, S.IN_PROGRESS)
_OPEN = (S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.AWAITING_DECISION)
TRANSITIONS: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (S.RECEIVED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, A.START): S.IN_PROGRESS,
    (S.ACCEPTED, A.RESOLVE): S.RESOLVED,
    (S.IN_PROGRESS, A.RESOLVE): S.RESOLVED,
    (S.RESOLVED, A.VERIFY): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.IN_PROGRESS,
    (S.DISPATCHED, A.RETURN): S.RETURNED,
    (S.ACCEPTED, A.RETURN): S.RETURNED,
    (S.RETURNED, A.REROUTE): S.DISPATCHED,
    (S.RETURNED, A.ESCALATE): S.AWAITING_DECISION,
    (S.AWAITING_DECISION, A.DECIDE): S.DISPATCHED,
    (S.RECEIVED, A.MERGE): S.MERGED,
    (S.DISPATCHED, A.MERGE): S.MERGED,
    (S.ACCEPTED, A.MERGE): S.MERGED,
    (S.IN_PROGRESS, A.MERGE): S.MERGED,
    (S.RECEIVED, A.FORWARD): S.FORWARDED,
    (S.RETURNED, A.FORWARD): S.FORWARDED,
    (S.AWAITING_DECISION, A.FORWARD): S.FORWARDED,
    (S.RECEIVED, A.ANSWER): S.ANSWERED,
    # the router dispatches out-of-scope matters and consultations to the 12345 / hotline units
    (S.DISPATCHED, A.FORWARD): S.FORWARDED,
    (S.DISPATCHED, A.ANSWER): S.ANSWERED,
    **{(s, A.REASSIGN): S.DISPATCHED for s in _OPEN},
    **{(s, A.SUPERVISE): s for s in (*_OPEN, S.RESOLVED)},
    **{(s, a): s for s in _WORKING for a in (A.REQUEST_EXTENSION, A.APPROVE_EXTENSION, A.REFUSE_EXTENSION)},
    (S.RESOLVED, A.RATE): S.RESOLVED,
    (S.CLOSED, A.RATE): S.CLOSED,
}

# The status model's named sets: every adapter (pages, SQL filters, alerts, Open311, WeChat, the
# citizen page) asks these instead of spelling statuses out.  Each is a set of ``CaseStatus``
# members, which compare equal to their string values (``"closed" in ENDED`` is true); SQL
# filters take ``values(...)``.
NOT_HANDLED = frozenset({S.MERGED, S.FORWARDED, S.ANSWERED})  # ended without a unit handling it
ENDED = frozenset({*NOT_HANDLED, S.CLOSED})     # nothing more is done (a closed case may still be rated)
FINISHED = frozenset({*ENDED, S.RESOLVED})      # no deadline owed, nothing to watch, the citizen is answered
OPEN = frozenset(CaseStatus) - FINISHED         # someone still has to act: the deadlines run
WORKING = frozenset(_WORKING)                   # a unit has the case in hand (extensions)
UNASSIGNED = frozenset({S.RECEIVED, S.RETURNED, S.AWAITING_DECISION})  # no unit holds it: where it goes is open
NOT_ACCEPTED = frozenset({S.RECEIVED, S.DISPATCHED})  # routed or about to be; no unit has accepted it yet
RATEABLE = frozenset(s for s, a in TRANSITIONS if a is A.RATE)
REASSIGNABLE = frozenset(s for s, a in TRANSITIONS if a is A.REASSIGN)   # 改派
SUPERVISABLE = frozenset(s for s, a in TRANSITIONS if a is A.SUPERVISE)  # 督办


def values(statuses: frozenset[CaseStatus]) -> list[str]:
    """The statuses' string values, sorted (for SQL ``IN`` filters and stable output)."""
    return sorted(s.value for s in statuses)

REQUIRED_PARAMS: dict[Action, tuple[str, ...]] = {
    A.RETURN: ("reason",), A.REOPEN: ("reason",), A.MERGE: ("into",), A.RATE: ("rating",),
    A.REFUSE_EXTENSION: ("reason",), A.REQUEST_EXTENSION: ("duration",), A.DECIDE: ("unit",),
    A.REASSIGN: ("unit",), A.SUPERVISE: ("note",),
}


class IllegalTransition(ValueError):
    """The action is not allowed for the case in its current state (or lacks what it needs)."""

    def __init__(self, status: CaseStatus, action: Action, why: str = "") -> None:
        self.status, self.action = status, action
        msg = f"cannot {action.value} ({ACTION_LABELS[action]}) a case that is {status.value} ({STATUS_LABELS[status]})"
        super().__init__(msg + (f": {why}" if why else ""))


@dataclass(frozen=True)
class CaseState:
    status: CaseStatus = CaseStatus.RECEIVED
    returns: int = 0                       # times returned (退单)
    final_routing: bool = False            # set by the command centre's decision; no more returns
    extension: Extension = Extension.NONE
    reopened: int = 0                      # times reopened after failed verification (返工)
    rating: str | None = None
    unit: str | None = None                # unit the case is (last) dispatched to
    merged_into: str | None = None
    last_reason: str | None = None


def _check(state: CaseState, action: Action, params: dict[str, Any]) -> None:
    s = state.status
    for name in REQUIRED_PARAMS.get(action, ()):
        if not params.get(name):
            raise IllegalTransition(s, action, f"{name} is required")
    if action is A.RETURN and state.final_routing:
        raise IllegalTransition(s, action, "the command centre's decision is final")
    if action is A.REROUTE and state.returns >= MAX_RETURNS:
        raise IllegalTransition(s, action, f"returned {state.returns} times: the command centre decides (escalate)")
    if action is A.ESCALATE and state.returns < MAX_RETURNS:
        raise IllegalTransition(s, action, f"only {state.returns} return(s); re-route instead")
    if action is A.REQUEST_EXTENSION and state.extension in (Extension.REQUESTED, Extension.APPROVED):
        raise IllegalTransition(s, action, f"extension already {state.extension.value}")
    if action in (A.APPROVE_EXTENSION, A.REFUSE_EXTENSION) and state.extension is not Extension.REQUESTED:
        raise IllegalTransition(s, action, "no extension has been requested")
    if action is A.RATE:
        if state.rating is not None:
            raise IllegalTransition(s, action, "already rated")
        if params["rating"] not in RATINGS:
            raise IllegalTransition(s, action, f"rating must be one of {', '.join(RATINGS)}")


def apply(state: CaseState, action: Action | str, **params: Any) -> CaseState:
    """The state after ``action``; raises :class:`IllegalTransition` when it is not allowed."""
    act = Action(action)
    target = TRANSITIONS.get((state.status, act))
    if target is None:
        raise IllegalTransition(state.status, act)
    _check(state, act, params)
    new = replace(state, status=target)
    if act in (A.DISPATCH, A.REROUTE) and params.get("unit"):
        new = replace(new, unit=str(params["unit"]))
    if act is A.RETURN:
        new = replace(new, returns=state.returns + 1, last_reason=str(params["reason"]),
                      extension=Extension.NONE)
    elif act is A.DECIDE:
        new = replace(new, unit=str(params["unit"]), final_routing=True)
    elif act is A.REASSIGN:  # a new unit starts afresh: no pending extension carries over
        new = replace(new, unit=str(params["unit"]), extension=Extension.NONE)
    elif act is A.REOPEN:
        new = replace(new, reopened=state.reopened + 1, last_reason=str(params["reason"]))
    elif act is A.MERGE:
        new = replace(new, merged_into=str(params["into"]))
    elif act is A.REQUEST_EXTENSION:
        new = replace(new, extension=Extension.REQUESTED)
    elif act is A.APPROVE_EXTENSION:
        new = replace(new, extension=Extension.APPROVED)
    elif act is A.REFUSE_EXTENSION:
        new = replace(new, extension=Extension.REFUSED, last_reason=str(params["reason"]))
    elif act is A.RATE:
        new = replace(new, rating=str(params["rating"]))
    return new


def allowed_actions(state: CaseState) -> list[Action]:
    """Actions whose table entry exists for the current status (parameters not checked)."""
    return [a for a in Action if (state.status, a) in TRANSITIONS]
