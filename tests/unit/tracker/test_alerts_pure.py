"""The pure alert functions: near-due at 80%, overdue after the deadline, hot spots in a sliding window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.core.alerts import (
    AlertKind,
    OpenCase,
    bucket_start,
    deadline_alerts,
    hotspot_alert,
    near_due_at,
    next_check,
)

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
CASE = OpenCase("c1", "RG20261126000001", "SQ_BAIPU", "NOISE_CONSTRUCTION", "320682105", T0,
                accept_by=T0 + timedelta(minutes=30), resolve_by=T0 + timedelta(hours=4))


def kinds(now: datetime, case: OpenCase = CASE) -> list[AlertKind]:
    return [a.kind for a in deadline_alerts(case, now)]


def test_near_due_is_80_percent_of_the_time() -> None:
    assert near_due_at(T0, T0 + timedelta(minutes=30)) == T0 + timedelta(minutes=24)
    assert kinds(T0 + timedelta(minutes=23, seconds=59)) == []
    assert kinds(T0 + timedelta(minutes=24)) == [AlertKind.ACCEPT_NEAR_DUE]
    assert kinds(T0 + timedelta(minutes=30)) == [AlertKind.ACCEPT_NEAR_DUE]  # at the deadline: not yet overdue
    assert kinds(T0 + timedelta(minutes=30, seconds=1)) == [AlertKind.ACCEPT_NEAR_DUE, AlertKind.ACCEPT_OVERDUE]
    late = T0 + timedelta(hours=5)
    assert kinds(late) == [AlertKind.ACCEPT_NEAR_DUE, AlertKind.ACCEPT_OVERDUE,
                           AlertKind.RESOLVE_NEAR_DUE, AlertKind.RESOLVE_OVERDUE]


def test_accepted_case_only_watches_the_resolve_deadline() -> None:
    accepted = OpenCase(**{**CASE.__dict__, "accepted": True})
    assert kinds(T0 + timedelta(hours=1), accepted) == []
    assert kinds(T0 + timedelta(hours=3, minutes=12), accepted) == [AlertKind.RESOLVE_NEAR_DUE]


def test_alert_ids_are_deterministic_and_name_the_deadline() -> None:
    now = T0 + timedelta(hours=5)
    first = [a.alert_id for a in deadline_alerts(CASE, now)]
    again = [a.alert_id for a in deadline_alerts(CASE, now + timedelta(hours=1))]
    assert first == again
    assert first[1] == "accept_overdue:RG20261126000001:2026-11-26T00:30:00Z"
    extended = OpenCase(**{**CASE.__dict__, "resolve_by": T0 + timedelta(hours=28)})
    assert {a.alert_id for a in deadline_alerts(extended, now)} & set(first) == set(first[:2])


def test_next_check_walks_through_the_thresholds() -> None:
    assert next_check(CASE, T0) == T0 + timedelta(minutes=24)
    assert next_check(CASE, T0 + timedelta(minutes=24)) == T0 + timedelta(minutes=30)
    assert next_check(CASE, T0 + timedelta(minutes=31)) == T0 + timedelta(hours=3, minutes=12)
    assert next_check(CASE, T0 + timedelta(hours=4)) == T0 + timedelta(hours=4)  # overdue strictly after
    assert next_check(CASE, T0 + timedelta(hours=4, seconds=1)) is None


def test_hotspot_needs_n_in_the_sliding_window() -> None:
    window = timedelta(hours=1)
    times = [T0 + timedelta(minutes=m) for m in (0, 20, 40, 50)]
    args = {"category": "OPEN_BBQ", "place": "花园居委会", "place_name": "花园居委会", "window": window}
    assert hotspot_alert(times=times[:3], now=times[2], threshold=4, **args) is None  # type: ignore[arg-type]
    alert = hotspot_alert(times=times, now=times[3], threshold=4, **args)  # type: ignore[arg-type]
    assert alert is not None and alert.kind == AlertKind.HOTSPOT and alert.data["count"] == 4
    assert alert.alert_id == "hotspot:OPEN_BBQ:花园居委会:2026-11-26T00:00:00Z"
    later = T0 + timedelta(minutes=65)  # the first one left the window
    assert hotspot_alert(times=[*times, later], now=later, threshold=5, **args) is None  # type: ignore[arg-type]
    assert hotspot_alert(times=[*times, later], now=later, threshold=4, **args).alert_id.endswith(  # type: ignore[arg-type, union-attr]
        "2026-11-26T01:00:00Z")
    assert bucket_start(T0 + timedelta(minutes=59), window) == T0
