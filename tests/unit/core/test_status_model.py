"""The status model's named sets (services/core/workflow.py): derived from the transition table
where they can be, and the only place statuses are grouped (issue 18)."""

from __future__ import annotations

import ast
from pathlib import Path

from services.core import workflow as wf
from services.core.workflow import TRANSITIONS, Action, CaseStatus

S = CaseStatus
ROOT = Path(__file__).resolve().parents[3] / "services"
STATUS_VALUES = {s.value for s in CaseStatus}
# string tuples that hold status-like words for another reason
NOT_STATUS_SETS = {"services/tracker/notifier.py": "event types (accepted/resolved) that notify the citizen"}


def moves(status: CaseStatus) -> set[Action]:
    return {a for s, a in TRANSITIONS if s is status}


def test_open_and_finished_split_every_status() -> None:
    assert frozenset(CaseStatus) == wf.OPEN | wf.FINISHED and not wf.OPEN & wf.FINISHED
    assert wf.NOT_HANDLED < wf.ENDED < wf.FINISHED
    assert {S.RESOLVED} == wf.FINISHED - wf.ENDED and {S.CLOSED} == wf.ENDED - wf.NOT_HANDLED


def test_ended_cases_only_take_a_rating() -> None:
    for status in wf.ENDED:
        assert moves(status) <= {Action.RATE}, status
    for status in wf.OPEN | {S.RESOLVED}:
        assert moves(status) - {Action.RATE, Action.SUPERVISE}, f"{status} is not ended but nothing moves it"


def test_not_handled_is_reached_only_by_merge_forward_or_answer() -> None:
    into = {a for (_s, a), t in TRANSITIONS.items() if t in wf.NOT_HANDLED}
    assert into == {Action.MERGE, Action.FORWARD, Action.ANSWER}


def test_action_sets_follow_the_table() -> None:
    assert {S.RESOLVED, S.CLOSED} == wf.RATEABLE
    assert wf.OPEN - {S.RETURNED} == wf.REASSIGNABLE  # a returned case is re-routed, not reassigned
    assert wf.REASSIGNABLE | {S.RESOLVED} == wf.SUPERVISABLE
    assert all((s, Action.REQUEST_EXTENSION) in TRANSITIONS for s in wf.WORKING)
    assert {s for s, a in TRANSITIONS if a is Action.ANSWER} == wf.NOT_ACCEPTED
    assert wf.UNASSIGNED < wf.OPEN and not wf.UNASSIGNED & (wf.WORKING | {S.DISPATCHED})


def test_sets_answer_plain_strings_and_sql_values() -> None:
    assert "closed" in wf.ENDED and "resolved" not in wf.ENDED and "dispatched" in wf.OPEN
    assert wf.values(wf.ENDED) == ["answered", "closed", "forwarded", "merged"]
    assert all(type(v) is str for v in wf.values(wf.OPEN))


def _status_literals(tree: ast.AST) -> list[tuple[int, list[str]]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.Set | ast.List) and len(node.elts) >= 2:
            words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(words) == len(node.elts) and set(words) <= STATUS_VALUES:
                found.append((node.lineno, words))
    return found


def test_no_module_spells_out_a_set_of_statuses() -> None:
    spelled = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel.startswith("services/ops/") or rel == "services/core/workflow.py" or rel in NOT_STATUS_SETS:
            continue
        spelled += [f"{rel}:{line} {words}" for line, words in _status_literals(ast.parse(path.read_text()))]
    assert not spelled, "use the named sets of services/core/workflow.py:\n" + "\n".join(spelled)


def test_the_scan_finds_a_spelled_out_set() -> None:
    tree = ast.parse('FINISHED = ("closed", "merged")\nOTHER = ("closed", "x")\n')
    assert _status_literals(tree) == [(1, ["closed", "merged"])]
