"""The tile equals the list: on generated cases (assorted statuses and deadlines, SQLite and PostgreSQL)
the overdue / near-due counts of GET /api/v1/stats (`live`, the tiles) equal what
GET /api/v1/cases?overdue= / ?near_due= lists, and both pick exactly the cases the core's own
predicates (services/core/figures.py, run here in Python) pick; the period KPI agrees too."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from services.core import figures as fig
from tests.integration.tracker.conftest import Api, make_case

M = timedelta(minutes=1)
H = timedelta(hours=1)
UNITS = ("SQ_BAIPU", "SQ_RUCHENG")
STATUSES = ("dispatched", "dispatched", "accepted", "accepted", "in_progress", "in_progress", "awaiting_decision",
            "resolved", "closed", "merged", "forwarded", "answered")
MARGIN = 3 * M  # no deadline (nor its near-due moment) this close to the test's "now": requests take time


def _clear_of(now: datetime, received: datetime, deadlines: list[datetime]) -> bool:
    moments = [*deadlines, *(fig.near_due_at(received, d) for d in deadlines)]
    return all(abs(m - now) > MARGIN for m in moments)


def generate(api: Api, n: int, seed: int) -> dict[str, dict[str, Any]]:
    """``n`` cases; returns ticket -> the columns set, for the core's own verdict."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    made: dict[str, dict[str, Any]] = {}
    while len(made) < n:
        accept_in = timedelta(minutes=rng.choice((15, 30, 60, 120, 24 * 60)))
        resolve_in = timedelta(hours=rng.choice((2, 4, 24, 72, 240)))
        clock_at = rng.choice((accept_in, resolve_in)) * rng.uniform(0.05, 1.5)  # before, near, after a deadline
        received = now - clock_at
        status = rng.choice(STATUSES)
        accepted = status in ("accepted", "in_progress", "resolved", "closed")
        if not _clear_of(now, received, [received + accept_in, received + resolve_in]):
            continue
        unit = rng.choice(UNITS)
        ticket = make_case(api.sessions, unit=unit, received_at=received, accept_in=accept_in, resolve_in=resolve_in,
                           territory="320682105" if unit == "SQ_BAIPU" else "320682001")
        values: dict[str, Any] = {"status": status}
        if accepted:
            values["accepted_at"] = received + accept_in * rng.choice((0.5, 2))  # on time or late
        if status in ("resolved", "closed"):
            values["resolved_at"] = received + resolve_in * rng.choice((0.5, 2))
        if status in ("merged", "forwarded", "answered", "closed"):
            values["closed_at"] = now
        api.set(ticket, **values)
        made[ticket] = {"unit": unit, "received_at": received, "accept_by": received + accept_in,
                        "resolve_by": received + resolve_in, "accepted_at": values.get("accepted_at"), "status": status}
    unrouted = make_case(api.sessions, routed=False, received_at=now - 30 * H)  # received, no deadline yet
    made[unrouted] = {"unit": None, "received_at": now - 30 * H, "accept_by": None, "resolve_by": None,
                      "accepted_at": None, "status": "received"}
    return made


def listed(api: Api, role: str, **params: Any) -> tuple[int, set[str]]:
    r = api.get(role, "/api/v1/cases", limit=500, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["cases"]) <= body["total"]
    return body["total"], {c["ticket_no"] for c in body["cases"]}


def test_tiles_equal_lists_on_generated_cases(api: Api) -> None:
    made = generate(api, 140, seed=17)
    now = datetime.now(UTC)
    verdict = {t: fig.due(fig.Clock(m["status"], m["received_at"], m["accept_by"], m["resolve_by"], m["accepted_at"]),
                          now).state for t, m in made.items()}
    expect_over = {t for t, s in verdict.items() if s is fig.DueState.OVERDUE}
    expect_near = {t for t, s in verdict.items() if s is fig.DueState.NEAR_DUE}
    assert len(expect_over) >= 10 and len(expect_near) >= 3, (len(expect_over), len(expect_near))  # a real test

    stats = api.get("command", "/api/v1/stats", **{"from": (now - 30 * 24 * H).date().isoformat(), "group_by": "unit"})
    assert stats.status_code == 200, stats.text
    body = stats.json()
    live = body["live"]

    over_total, over = listed(api, "command", overdue="true")
    near_total, near = listed(api, "command", near_due="true")
    assert over == expect_over and near == expect_near            # the SQL picks what the core picks
    assert live["overdue"] == over_total == len(over)             # the tile equals the list
    assert live["near_due"] == near_total == len(near)
    assert live["open"] == sum(1 for m in made.values() if fig.is_open(m["status"]))
    assert body["total"]["overdue_open"] == live["overdue"]       # the period KPI: same definition, same cases
    assert sum(g["overdue"] for g in live["groups"].values()) == live["overdue"]

    not_over_total, not_over = listed(api, "command", overdue="false")
    assert not_over_total + over_total == len(made) and not (not_over & over)
    not_near_total, _ = listed(api, "command", near_due="false")
    assert not_near_total + near_total == len(made)
    # filters combine; the case API says the same per case
    open_over_total, _ = listed(api, "command", overdue="true", status="dispatched")
    assert open_over_total == sum(1 for t in expect_over if made[t]["status"] == "dispatched")
    some = sorted(over)[:3] + sorted(near)[:3]
    for ticket in some:
        state = api.get("command", f"/api/v1/cases/{ticket}").json()["due"]["state"]
        assert state == verdict[ticket].value, ticket

    # a squad's own list equals its unit's live figure
    squad_total, squad_over = listed(api, "squad", overdue="true")
    assert squad_total == live["groups"]["SQ_BAIPU"]["overdue"]
    assert squad_over == {t for t in expect_over if made[t]["unit"] == "SQ_BAIPU"}
    squad_near_total, _ = listed(api, "squad", near_due="true")
    assert squad_near_total == live["groups"]["SQ_BAIPU"]["near_due"]


def test_list_total_counts_past_the_limit(api: Api) -> None:
    now = datetime.now(UTC)
    for _ in range(4):
        make_case(api.sessions, received_at=now - 10 * H)  # 4 h to resolve: overdue
    r = api.get("command", "/api/v1/cases", overdue="true", limit=2).json()
    assert (r["count"], r["total"]) == (2, 4)
