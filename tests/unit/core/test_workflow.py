"""The case state machine, exhaustively: every state × every action."""

from __future__ import annotations

from typing import Any

import pytest

from services.core.workflow import (
    ACTION_LABELS,
    REQUIRED_PARAMS,
    STATUS_LABELS,
    TRANSITIONS,
    Action,
    CaseState,
    CaseStatus,
    Extension,
    IllegalTransition,
    allowed_actions,
    apply,
)

PARAMS: dict[Action, dict[str, Any]] = {
    Action.RETURN: {"reason": "不是本辖区"}, Action.REOPEN: {"reason": "核查未通过"},
    Action.MERGE: {"into": "RG-1"}, Action.RATE: {"rating": "满意"},
    Action.REFUSE_EXTENSION: {"reason": "理由不足"}, Action.REQUEST_EXTENSION: {"duration": "2d"},
    Action.DECIDE: {"unit": "SQ_BAIPU"}, Action.DISPATCH: {"unit": "SQ_DINGYAN"},
    Action.REROUTE: {"unit": "SQ_BAIPU"}, Action.REASSIGN: {"unit": "SQ_RUCHENG"},
    Action.SUPERVISE: {"note": "请加快处置"},
}

EXPECTED: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (CaseStatus.RECEIVED, Action.DISPATCH): CaseStatus.DISPATCHED,
    (CaseStatus.RECEIVED, Action.MERGE): CaseStatus.MERGED,
    (CaseStatus.RECEIVED, Action.FORWARD): CaseStatus.FORWARDED,
    (CaseStatus.RECEIVED, Action.ANSWER): CaseStatus.ANSWERED,
    (CaseStatus.DISPATCHED, Action.ACCEPT): CaseStatus.ACCEPTED,
    (CaseStatus.DISPATCHED, Action.RETURN): CaseStatus.RETURNED,
    (CaseStatus.DISPATCHED, Action.MERGE): CaseStatus.MERGED,
    (CaseStatus.ACCEPTED, Action.START): CaseStatus.IN_PROGRESS,
    (CaseStatus.ACCEPTED, Action.RESOLVE): CaseStatus.RESOLVED,
    (CaseStatus.ACCEPTED, Action.RETURN): CaseStatus.RETURNED,
    (CaseStatus.ACCEPTED, Action.MERGE): CaseStatus.MERGED,
    (CaseStatus.ACCEPTED, Action.REQUEST_EXTENSION): CaseStatus.ACCEPTED,
    (CaseStatus.ACCEPTED, Action.APPROVE_EXTENSION): CaseStatus.ACCEPTED,
    (CaseStatus.ACCEPTED, Action.REFUSE_EXTENSION): CaseStatus.ACCEPTED,
    (CaseStatus.IN_PROGRESS, Action.RESOLVE): CaseStatus.RESOLVED,
    (CaseStatus.IN_PROGRESS, Action.MERGE): CaseStatus.MERGED,
    (CaseStatus.IN_PROGRESS, Action.REQUEST_EXTENSION): CaseStatus.IN_PROGRESS,
    (CaseStatus.IN_PROGRESS, Action.APPROVE_EXTENSION): CaseStatus.IN_PROGRESS,
    (CaseStatus.IN_PROGRESS, Action.REFUSE_EXTENSION): CaseStatus.IN_PROGRESS,
    (CaseStatus.RESOLVED, Action.VERIFY): CaseStatus.CLOSED,
    (CaseStatus.RESOLVED, Action.REOPEN): CaseStatus.IN_PROGRESS,
    (CaseStatus.RESOLVED, Action.RATE): CaseStatus.RESOLVED,
    (CaseStatus.CLOSED, Action.RATE): CaseStatus.CLOSED,
    (CaseStatus.RETURNED, Action.REROUTE): CaseStatus.DISPATCHED,
    (CaseStatus.RETURNED, Action.ESCALATE): CaseStatus.AWAITING_DECISION,
    (CaseStatus.RETURNED, Action.FORWARD): CaseStatus.FORWARDED,
    (CaseStatus.AWAITING_DECISION, Action.DECIDE): CaseStatus.DISPATCHED,
    (CaseStatus.AWAITING_DECISION, Action.FORWARD): CaseStatus.FORWARDED,
    (CaseStatus.DISPATCHED, Action.FORWARD): CaseStatus.FORWARDED,
    (CaseStatus.DISPATCHED, Action.ANSWER): CaseStatus.ANSWERED,
    **{(s, Action.REASSIGN): CaseStatus.DISPATCHED for s in (
        CaseStatus.RECEIVED, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS,
        CaseStatus.AWAITING_DECISION)},
    **{(s, Action.SUPERVISE): s for s in (
        CaseStatus.RECEIVED, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS,
        CaseStatus.AWAITING_DECISION, CaseStatus.RESOLVED)},
}


def _state_for(status: CaseStatus, action: Action) -> CaseState:
    """A state in ``status`` that satisfies the action's preconditions where any exist."""
    returns = 2 if action is Action.ESCALATE else 0
    ext = Extension.REQUESTED if action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION) else Extension.NONE
    return CaseState(status=status, returns=returns, extension=ext)


def test_table_is_what_the_design_says() -> None:
    assert TRANSITIONS == EXPECTED
    assert set(STATUS_LABELS) == set(CaseStatus) and set(ACTION_LABELS) == set(Action)


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_and_action(status: CaseStatus, action: Action) -> None:
    state = _state_for(status, action)
    if (status, action) in EXPECTED:
        new = apply(state, action, **PARAMS.get(action, {}))
        assert new.status == EXPECTED[(status, action)]
        assert action in allowed_actions(state)
    else:
        with pytest.raises(IllegalTransition, match=f"cannot {action.value}"):
            apply(state, action, **PARAMS.get(action, {}))
        assert action not in allowed_actions(state)


@pytest.mark.parametrize("action", sorted(REQUIRED_PARAMS))
def test_required_parameters(action: Action) -> None:
    status = next(s for (s, a) in EXPECTED if a is action)
    with pytest.raises(IllegalTransition, match="is required"):
        apply(_state_for(status, action), action)


def test_two_returns_then_command_centre_decides_finally() -> None:
    s = apply(CaseState(), Action.DISPATCH, unit="SQ_DINGYAN")
    s = apply(s, Action.RETURN, reason="不是本辖区")
    with pytest.raises(IllegalTransition, match="re-route instead"):
        apply(s, Action.ESCALATE)
    s = apply(s, Action.REROUTE, unit="SQ_BAIPU")
    s = apply(apply(s, Action.ACCEPT), Action.RETURN, reason="不是我们的事")
    assert (s.status, s.returns, s.last_reason) == (CaseStatus.RETURNED, 2, "不是我们的事")
    with pytest.raises(IllegalTransition, match="command centre decides"):
        apply(s, Action.REROUTE, unit="SQ_JIUHUA")
    s = apply(apply(s, Action.ESCALATE), Action.DECIDE, unit="SQ_JIUHUA")
    assert (s.status, s.unit, s.final_routing) == (CaseStatus.DISPATCHED, "SQ_JIUHUA", True)
    with pytest.raises(IllegalTransition, match="final"):
        apply(s, Action.RETURN, reason="还是不归我们")


def test_extension_flag_and_reopen_and_rating() -> None:
    s = apply(apply(apply(CaseState(), "dispatch"), "accept"), "start")
    with pytest.raises(IllegalTransition, match="no extension has been requested"):
        apply(s, Action.APPROVE_EXTENSION)
    s = apply(s, Action.REQUEST_EXTENSION, duration="2d")
    assert s.extension is Extension.REQUESTED and s.status is CaseStatus.IN_PROGRESS
    with pytest.raises(IllegalTransition, match="already requested"):
        apply(s, Action.REQUEST_EXTENSION, duration="1d")
    s = apply(s, Action.APPROVE_EXTENSION)
    assert s.extension is Extension.APPROVED
    s = apply(apply(s, Action.RESOLVE), Action.REOPEN, reason="现场仍有油烟")
    assert (s.status, s.reopened) == (CaseStatus.IN_PROGRESS, 1)
    s = apply(apply(s, Action.RESOLVE), Action.VERIFY)
    with pytest.raises(IllegalTransition, match="rating must be one of"):
        apply(s, Action.RATE, rating="很好")
    s = apply(s, Action.RATE, rating="基本满意")
    assert (s.status, s.rating) == (CaseStatus.CLOSED, "基本满意")
    with pytest.raises(IllegalTransition, match="already rated"):
        apply(s, Action.RATE, rating="满意")


def test_terminal_states_allow_nothing() -> None:
    for status in (CaseStatus.MERGED, CaseStatus.FORWARDED, CaseStatus.ANSWERED):
        assert allowed_actions(CaseState(status=status)) == []
