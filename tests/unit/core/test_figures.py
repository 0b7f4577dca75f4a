"""The one definition of overdue, near due, on time and response (services/core/figures.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.core import figures as fig
from services.core.figures import Clock, Deadline, DueState
from services.core.workflow import CaseStatus

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def clock(status: str = "dispatched", accept_in: timedelta | None = 30 * M, resolve_in: timedelta | None = 4 * H,
          accepted: timedelta | None = None) -> Clock:
    return Clock(status, T0, T0 + accept_in if accept_in is not None else None,
                 T0 + resolve_in if resolve_in is not None else None, T0 + accepted if accepted is not None else None)


def test_status_sets_cover_every_status_once() -> None:
    every = {s.value for s in CaseStatus}
    assert every == fig.OPEN | fig.FINISHED and not fig.OPEN & fig.FINISHED
    assert {"received", "dispatched", "accepted", "in_progress", "returned", "awaiting_decision"} == fig.OPEN
    assert {"merged", "forwarded", "answered"} == fig.NOT_HANDLED and fig.NOT_HANDLED < fig.FINISHED


@pytest.mark.parametrize(("at", "state", "kind"), [
    (0 * M, DueState.OK, Deadline.ACCEPT),
    (23 * M, DueState.OK, Deadline.ACCEPT),
    (24 * M, DueState.NEAR_DUE, Deadline.ACCEPT),      # 80 % of the 30 minutes used
    (30 * M, DueState.NEAR_DUE, Deadline.ACCEPT),      # at the deadline itself it is still met
    (30 * M + timedelta(microseconds=1), DueState.OVERDUE, Deadline.ACCEPT),
    (5 * H, DueState.OVERDUE, Deadline.ACCEPT),        # the earliest missed deadline decides
])
def test_unaccepted_case_is_judged_on_its_accept_deadline(at: timedelta, state: DueState, kind: Deadline) -> None:
    due = fig.due(clock(), T0 + at)
    assert (due.state, due.kind) == (state, kind)
    assert fig.is_overdue(clock(), T0 + at) is (state is DueState.OVERDUE)
    assert fig.is_near_due(clock(), T0 + at) is (state is DueState.NEAR_DUE)


def test_accepted_case_owes_only_its_resolve_deadline() -> None:
    c = clock("accepted", accepted=10 * M)
    assert [k for k, _ in fig.owed(c)] == [Deadline.RESOLVE]
    assert fig.due(c, T0 + H).state is DueState.OK                      # accept deadline passed, but met
    assert fig.due(c, T0 + 3 * H + 12 * M).state is DueState.NEAR_DUE   # 80 % of 4 h
    assert fig.due(c, T0 + 3 * H + 11 * M).state is DueState.OK
    overdue = fig.due(c, T0 + 4 * H + M)
    assert (overdue.state, overdue.kind, overdue.deadline) == (DueState.OVERDUE, Deadline.RESOLVE, T0 + 4 * H)
    assert fig.resolve_overdue(c, T0 + 4 * H + M) and not fig.resolve_overdue(c, T0 + 4 * H)


def test_unaccepted_case_past_only_its_resolve_deadline_is_overdue() -> None:
    c = clock(accept_in=5 * H, resolve_in=4 * H)  # odd data: still one answer, the earliest deadline first
    assert fig.due(c, T0 + 4 * H + M).kind is Deadline.RESOLVE and fig.is_overdue(c, T0 + 4 * H + M)


@pytest.mark.parametrize("status", sorted(fig.FINISHED))
def test_finished_cases_are_never_overdue_or_near_due(status: str) -> None:
    late = T0 + 100 * H
    assert fig.due(clock(status), late).state is DueState.NONE
    assert not fig.is_overdue(clock(status), late) and not fig.resolve_overdue(clock(status), late)


def test_no_deadline_no_figure() -> None:
    c = clock("received", accept_in=None, resolve_in=None)
    assert fig.owed(c) == [] and fig.due(c, T0 + 100 * H).state is DueState.NONE


def test_near_due_at_is_exact_and_never_before_the_start() -> None:
    assert fig.near_due_at(T0, T0 + 30 * M) == T0 + 24 * M
    assert fig.near_due_at(T0, T0 + timedelta(microseconds=7)) == T0 + timedelta(microseconds=5)  # floor
    assert fig.near_due_at(T0, T0 - H) == T0


def test_on_time_and_the_rates() -> None:
    assert fig.on_time(T0, T0) and fig.on_time(T0, None) and not fig.on_time(T0 + M, T0)
    assert not fig.on_time(None, T0)  # not done is not on time
    assert fig.response_rate(3, 5) == 0.6 and fig.response_rate(0, 0) is None
    assert fig.on_time_resolution_rate(3, 4, 1) == 0.6 and fig.on_time_resolution_rate(0, 0, 0) is None
    assert fig.is_handled("closed", routed=True) and not fig.is_handled("forwarded", routed=True)
    assert not fig.is_handled("dispatched", routed=False)
