"""Reclassifications and re-routes by people are recorded as labelled examples, in the action's own
transaction; the command centre reads them and the correction rate per day x category."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from services.tracker.corrections import Corrected, Routed, load_rates, rates
from services.tracker.models import Case, CorrectionRow
from tests.integration.tracker.conftest import BAIPU_TEXT, Api, make_case


def url(ticket: str, action: str) -> str:
    return f"/api/v1/cases/{ticket}/{action}"


def rows(api: Api) -> list[CorrectionRow]:
    with api.sessions() as s:
        return list(s.scalars(select(CorrectionRow).order_by(CorrectionRow.id)))


def count(api: Api) -> int:
    with api.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(CorrectionRow)) or 0)


def test_reassign_and_decide_record_labelled_examples(api: Api) -> None:
    ticket = make_case(api.sessions, unit="SQ_BAIPU", category="NOISE_CONSTRUCTION")
    api.set(ticket, model_version="m0del0000000001", urgent=True)
    r = api.post("command", url(ticket, "reassign"), {"unit": "SQ_RUCHENG", "category": "CONSTRUCTION_DUST"},
                 **{"Idempotency-Key": "fix-1"})
    assert r.status_code == 200, r.text
    [row] = rows(api)
    assert row.event_id == r.json()["event_id"] and row.action == "reassign"
    assert row.actor.startswith("command:cc-") and row.ticket_no == ticket
    assert (row.old_category, row.old_unit, row.old_urgent) == ("NOISE_CONSTRUCTION", "SQ_BAIPU", True)
    assert (row.new_category, row.new_unit, row.new_urgent) == ("CONSTRUCTION_DUST", "SQ_RUCHENG", True)
    assert row.model_version == "m0del0000000001" and row.routed_category == "NOISE_CONSTRUCTION"
    assert row.text == f"{BAIPU_TEXT}\n某小区3栋"  # what the classifier read: text + address
    assert abs((row.at - datetime.now(UTC)).total_seconds()) < 60
    # a retried request is answered again, not applied (or recorded) twice
    again = api.post("command", url(ticket, "reassign"), {"unit": "SQ_RUCHENG", "category": "CONSTRUCTION_DUST"},
                     **{"Idempotency-Key": "fix-1"})
    assert again.status_code == 200 and again.json()["replayed"] and count(api) == 1
    # the same decision again changes nothing: no example
    assert api.post("command", url(ticket, "reassign"), {"unit": "SQ_RUCHENG"}).status_code == 200
    assert count(api) == 1
    # the command centre's final decision after two returns is one too; old = the decision in force
    other = make_case(api.sessions, unit="SQ_BAIPU")
    api.set(other, status="awaiting_decision", returns=2)
    assert api.post("command", url(other, "decide"), {"unit": "CITY_CONSTRUCTION",
                                                      "category": "CONSTRUCTION_SAFETY"}).status_code == 200
    decided = rows(api)[-1]
    assert (decided.action, decided.old_unit, decided.new_unit, decided.new_category) == (
        "decide", "SQ_BAIPU", "CITY_CONSTRUCTION", "CONSTRUCTION_SAFETY")
    listed = api.get("command", "/api/v1/corrections").json()
    assert [c["ticket_no"] for c in listed["corrections"]] == [other, ticket]
    assert listed["corrections"][1]["old"] == {"category": "NOISE_CONSTRUCTION", "unit": "SQ_BAIPU", "urgent": True}
    assert listed["corrections"][1]["model_version"] == "m0del0000000001"


def test_a_refused_action_stores_no_example(api: Api) -> None:
    """The handler builds the example before the state machine refuses: nothing half-stored."""
    ticket = make_case(api.sessions)
    api.set(ticket, status="closed")
    r = api.post("command", url(ticket, "reassign"), {"unit": "SQ_RUCHENG", "category": "CONSTRUCTION_DUST"})
    assert r.status_code == 409, r.text
    stale = make_case(api.sessions)
    r = api.post("command", url(stale, "reassign"), {"unit": "SQ_RUCHENG", "expected_version": 1})
    assert r.status_code == 409, r.text
    assert count(api) == 0
    assert api.case(ticket).unit == "SQ_BAIPU" and api.case(stale).unit == "SQ_BAIPU"


def test_correction_rate_per_day_and_category(api: Api) -> None:
    noise = [make_case(api.sessions, category="NOISE_CONSTRUCTION") for _ in range(3)]
    make_case(api.sessions, category="CONSTRUCTION_DUST")
    assert api.post("command", url(noise[0], "reassign"), {"unit": "SQ_BAIPU",
                                                           "category": "CONSTRUCTION_DUST"}).status_code == 200
    assert api.post("command", url(noise[1], "reassign"), {"unit": "SQ_RUCHENG"}).status_code == 200
    body: dict[str, Any] = api.get("command", "/api/v1/corrections/stats", days=7).json()
    today = body["days"][-1]["date"]
    cells = {(d["date"], d["category"]): d for d in body["days"]}
    assert cells[(today, "NOISE_CONSTRUCTION")] == {"date": today, "category": "NOISE_CONSTRUCTION", "routed": 3,
                                                     "corrected": 2, "reclassified": 1, "rate": 0.6667}
    assert cells[(today, "CONSTRUCTION_DUST")]["corrected"] == 0
    assert body["total"] == {"routed": 4, "corrected": 2, "reclassified": 1, "rate": 0.5}
    assert body["model_version"] and body["days_back"] == 7
    assert api.get("command", "/api/v1/corrections/stats", days=0).status_code == 422


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])  # Berlin: a period across the DST change
def test_rates_counted_in_sql_equal_the_pure_count(api: Api, zone: str) -> None:
    """``load_rates`` (grouped in the database) gives what ``rates`` gives over the loaded rows, for
    random routing times (around city midnights and a DST change), categories, versions and corrections."""
    rng = random.Random(7)
    start = datetime(2026, 10, 20, tzinfo=UTC)
    end = start + timedelta(days=14)
    tickets = []
    for i in range(60):
        at = start + timedelta(hours=rng.randrange(-30, 14 * 24 + 30), minutes=rng.choice((0, 1, 59)))
        ticket = make_case(api.sessions, category=rng.choice(("NOISE_CONSTRUCTION", "GARBAGE")), received_at=at)
        api.set(ticket, model_version=rng.choice((None, "v1", "v2")),
                routed_category=None if i % 13 == 0 else rng.choice(("NOISE_CONSTRUCTION", "GARBAGE")))
        tickets.append(ticket)
    for ticket in rng.sample(tickets, 30):
        body = {"unit": rng.choice(("SQ_RUCHENG", "SQ_BAIPU")), "category": rng.choice(("GARBAGE", "CONSTRUCTION_DUST"))}
        r = api.post("command", url(ticket, "reassign"), body, **{"Idempotency-Key": f"r-{ticket}"})
        assert r.status_code in (200, 409), r.text
    tz = ZoneInfo(zone)
    with api.sessions() as s:
        routed = [Routed(*row) for row in s.execute(
            select(Case.complaint_id, Case.routed_at, Case.routed_category, Case.model_version)
            .where(Case.routed_at >= start, Case.routed_at < end))]
        corrected = [Corrected(*row) for row in s.execute(
            select(CorrectionRow.complaint_id, CorrectionRow.new_category)
            .where(CorrectionRow.routed_at >= start, CorrectionRow.routed_at < end))]
        got = load_rates(s, start, end, tz)
    expected = rates(routed, corrected, tz)
    assert got == expected
    assert expected["total"]["corrected"] >= 10 and expected["total"]["reclassified"] >= 5
    assert len({d["date"] for d in expected["days"]}) >= 14
