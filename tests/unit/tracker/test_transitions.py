"""The tracker's adapter on the core state machine: every status × every API action."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from services.core.workflow import TRANSITIONS, CaseStatus
from services.core.workflow import Action as Core
from services.tracker.transitions import (
    FIRST_STEP,
    TABLE,
    Action,
    Refused,
    columns,
    run_steps,
    state_of,
)

PARAMS: dict[str, Any] = {"rating": "满意", "reason": "原因", "into": "RG20261126000001", "unit": "SQ_BAIPU",
                          "duration": "24h", "note": "请加快处置"}


def case(status: str, **kw: Any) -> Any:
    base = {"status": status, "returns": 0, "final_decision": False, "extension": None, "reopens": 0,
            "rating": None, "unit": "SQ_BAIPU", "merged_into": None}
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_and_action(status: CaseStatus, action: Action) -> None:
    step = FIRST_STEP[action]
    extension = "requested" if action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION) else None
    state = state_of(case(status.value, extension=extension))
    expected = TRANSITIONS.get((status, Core(step)))
    if expected is None:
        with pytest.raises(Refused) as refused:
            run_steps(state, [(step, PARAMS)])
        assert "工单当前状态为「" in str(refused.value)
        assert (status, action) not in TABLE
    else:
        assert run_steps(state, [(step, PARAMS)]).status == expected
        assert TABLE[(status, action)] == expected


def test_return_then_reroute_or_escalate() -> None:
    first = run_steps(state_of(case("dispatched")), [("return", PARAMS), ("reroute", {"unit": "SQ_RUCHENG"})])
    assert first.status == CaseStatus.DISPATCHED and first.returns == 1 and first.unit == "SQ_RUCHENG"
    with pytest.raises(Refused):  # a second return cannot be re-routed: the command centre decides
        run_steps(first, [("return", PARAMS), ("reroute", {"unit": "SQ_BAIPU"})])
    second = run_steps(first, [("return", PARAMS), ("escalate", {})])
    assert second.status == CaseStatus.AWAITING_DECISION and second.returns == 2
    decided = run_steps(second, [("decide", {"unit": "SQ_BAIPU"})])
    assert columns(decided)["final_decision"] is True
    with pytest.raises(Refused) as final:
        run_steps(decided, [("return", PARAMS)])
    assert "不能再退单" in str(final.value)


def test_refusals_are_chinese_and_name_the_status() -> None:
    with pytest.raises(Refused) as exc:
        run_steps(state_of(case("resolved", rating="满意")), [("rate", PARAMS)])
    assert str(exc.value) == "工单当前状态为「已反馈」，不能回访评价：已评价过，不能重复评价"
    with pytest.raises(Refused) as exc:
        run_steps(state_of(case("closed")), [("reassign", {"unit": "SQ_BAIPU"})])
    assert str(exc.value) == "工单当前状态为「已结案」，不能改派"
