"""Adapter between the tracker and the case state machine.

The state machine belongs to the domain core (``services/core/workflow.py``, issue 3).
When this module was written that file did not exist yet, so the smallest table the
tracker needs lives here, behind one function, ``next_status(status, action)``; when
the core's table lands, this module only re-exports it (see the report of issue 5).

Statuses are the strings stored in ``cases.status``; actions are the API commands.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"              # 受理
    DISPATCHED = "dispatched"          # 派遣
    ACCEPTED = "accepted"              # 签收
    IN_PROGRESS = "in_progress"        # 处置中
    AWAITING_DECISION = "awaiting_decision"  # 两次退单后待指挥中心裁定
    RESOLVED = "resolved"              # 已反馈，待核查
    REOPENED = "reopened"              # 返工
    CLOSED = "closed"                  # 核查结案
    MERGED = "merged"                  # 已合并
    FORWARDED = "forwarded"            # 已转12345
    ANSWERED = "answered"              # 已直接答复


class Action(StrEnum):
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


STATUS_NAMES: dict[str, str] = {
    Status.RECEIVED: "已受理", Status.DISPATCHED: "已派遣", Status.ACCEPTED: "已签收",
    Status.IN_PROGRESS: "处置中", Status.AWAITING_DECISION: "待指挥中心裁定", Status.RESOLVED: "已处置待核查",
    Status.REOPENED: "返工中", Status.CLOSED: "已结案", Status.MERGED: "已合并",
    Status.FORWARDED: "已转12345", Status.ANSWERED: "已答复",
}
ACTION_NAMES: dict[str, str] = {
    Action.ACCEPT: "签收", Action.START: "开始处置", Action.RETURN: "退单", Action.REQUEST_EXTENSION: "申请延期",
    Action.APPROVE_EXTENSION: "批准延期", Action.REFUSE_EXTENSION: "驳回延期", Action.RESOLVE: "处置反馈",
    Action.VERIFY: "核查结案", Action.REOPEN: "返工", Action.REASSIGN: "改派", Action.DECIDE: "裁定",
    Action.SUPERVISE: "督办", Action.MERGE: "合并", Action.FORWARD: "转12345", Action.ANSWER: "直接答复",
    Action.RATE: "评价",
}

S = Status
TERMINAL = frozenset({S.CLOSED, S.MERGED, S.FORWARDED, S.ANSWERED})
OPEN_BEFORE_RESOLVE = (S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.AWAITING_DECISION, S.REOPENED)
WORKING = (S.ACCEPTED, S.IN_PROGRESS, S.REOPENED)
UNASSIGNED = (S.RECEIVED, S.DISPATCHED, S.AWAITING_DECISION)

# (status, action) -> status after.  RETURN's target is decided by the tracker (re-routed:
# dispatched, or awaiting_decision after the second return); the table gives the default.
TABLE: dict[tuple[Status, Action], Status] = {
    (S.DISPATCHED, Action.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, Action.START): S.IN_PROGRESS,
    (S.REOPENED, Action.START): S.IN_PROGRESS,
    (S.DISPATCHED, Action.RETURN): S.DISPATCHED,
    (S.ACCEPTED, Action.RETURN): S.DISPATCHED,
    **{(s, Action.REQUEST_EXTENSION): s for s in WORKING},
    **{(s, Action.APPROVE_EXTENSION): s for s in WORKING},
    **{(s, Action.REFUSE_EXTENSION): s for s in WORKING},
    **{(s, Action.RESOLVE): S.RESOLVED for s in WORKING},
    (S.RESOLVED, Action.VERIFY): S.CLOSED,
    (S.RESOLVED, Action.REOPEN): S.REOPENED,
    (S.CLOSED, Action.REOPEN): S.REOPENED,
    **{(s, Action.REASSIGN): S.DISPATCHED for s in OPEN_BEFORE_RESOLVE},
    **{(s, Action.DECIDE): S.DISPATCHED for s in UNASSIGNED},
    **{(s, Action.SUPERVISE): s for s in (*OPEN_BEFORE_RESOLVE, S.RESOLVED)},
    **{(s, Action.MERGE): S.MERGED for s in OPEN_BEFORE_RESOLVE},
    **{(s, Action.FORWARD): S.FORWARDED for s in (*UNASSIGNED, S.ACCEPTED)},
    **{(s, Action.ANSWER): S.ANSWERED for s in UNASSIGNED},
    **{(s, Action.RATE): s for s in (S.RESOLVED, S.CLOSED, S.ANSWERED)},
}


class IllegalTransition(Exception):
    """The action is not allowed in the case's current status."""

    def __init__(self, status: str, action: str) -> None:
        self.status = status
        self.action = action
        super().__init__(f"工单当前状态为「{STATUS_NAMES.get(status, status)}」，不能{ACTION_NAMES.get(action, action)}")


def next_status(status: str, action: str) -> str:
    try:
        return TABLE[(Status(status), Action(action))].value
    except (KeyError, ValueError):
        raise IllegalTransition(status, action) from None


def allowed_actions(status: str) -> list[str]:
    return [a.value for (s, a) in TABLE if s.value == status]
