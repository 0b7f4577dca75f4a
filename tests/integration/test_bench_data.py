"""`complaints bench-data` with a small history, on PostgreSQL and SQLite: the rows it loads make sense
(every status of a year's mix, history consistent with each case's status, towns, categories and
units of the city), and its JSON line has every read with p50/p95/p99."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from services.cli import main
from services.core.loader import load_city
from services.platform.db import make_engine
from services.tracker.models import AlertRow, Case, CaseEventRow, CorrectionRow, IntakeRecord

CASES = 2000
# the status each history event leaves a case in (the others leave the status as it was)
MOVES = {"dispatched": "dispatched", "reassigned": "dispatched", "decided": "dispatched", "accepted": "accepted",
         "started": "in_progress", "reopened": "in_progress", "resolved": "resolved", "closed": "closed",
         "forwarded": "forwarded", "answered": "answered", "merged": "merged"}


def _status_after(row: CaseEventRow) -> str | None:
    if row.type == "returned":
        return "awaiting_decision" if row.data.get("then") == "escalate" else "dispatched"
    return MOVES.get(row.type)


def _check_history(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            cases = {r.complaint_id: r for r in conn.execute(select(Case))}
            events: dict[str, list[Any]] = defaultdict(list)
            for e in conn.execute(select(CaseEventRow).order_by(CaseEventRow.at, CaseEventRow.id)):
                events[e.complaint_id].append(e)
            counts = {"intake": len(conn.execute(select(IntakeRecord.complaint_id)).all()),
                      "alerts": Counter(a.kind for a in conn.execute(select(AlertRow.kind))),
                      "corrections": len(conn.execute(select(CorrectionRow.id)).all())}
    finally:
        engine.dispose()
    assert len(cases) == CASES
    assert counts["intake"] == CASES
    assert counts["corrections"] > 0
    assert {"accept_overdue", "resolve_overdue", "supervision", "hotspot"} <= set(counts["alerts"])
    for cid, case in cases.items():
        history = events[cid]
        assert [e.type for e in history[:2]] == ["received", "dispatched"], case.ticket_no
        moved = [s for e in history if (s := _status_after(e)) is not None]
        assert moved[-1] == case.status, (case.ticket_no, [e.type for e in history])
        kinds = Counter(e.type for e in history)
        assert kinds["reopened"] == case.reopens
        assert kinds["returned"] == case.returns
        assert kinds["rated"] == (1 if case.rating else 0)
        assert kinds["extension_approved"] == (1 if case.extended else 0)
        assert (case.closed_at is not None) == (case.status in ("closed", "merged", "forwarded", "answered"))
        assert (case.resolved_at is not None) == (case.status in ("resolved", "closed")), case.ticket_no
        assert case.version == 1 + sum(kinds[k] for k in kinds if k not in ("received", "duplicate_merged"))
    return {"cases": list(cases.values()), "events": sum(len(v) for v in events.values())}


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_bench_data_loads_a_year_and_times_every_read(backend: str, request: pytest.FixtureRequest,
                                                      capsys: pytest.CaptureFixture[str], redis_url: str) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    code = main(["bench-data", "--cases", str(CASES), "--repeats", "3", "--budget-s", "5", "--database-url", url,
                 "--keep", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert out["backend"] == backend and out["cases"] == CASES and out["errors"] == {}
    assert out["rows"]["cases"] == CASES and out["rows"]["events"] > 4 * CASES
    # a year's mix: mostly closed, some open of the last days, the ones not for the squads
    status = out["statuses"]
    assert sum(status.values()) == CASES
    assert {"closed", "forwarded", "answered", "merged", "accepted"} <= set(status)
    assert status["closed"] > CASES / 2
    loaded = _check_history(url)
    assert out["rows"]["events"] == loaded["events"]
    city = load_city("rugao")
    cases = loaded["cases"]
    assert set(city.units) - {"COMMAND_CENTER"} <= {c.unit for c in cases}
    assert len({c.territory for c in cases if c.territory}) == len(city.territories)
    assert len({c.category for c in cases}) >= len(city.categories) - 2
    assert sum(c.extended for c in cases) > 0 and sum(c.reopens for c in cases) > 0
    assert sum(1 for c in cases if c.rating) > CASES / 4
    assert any(c.final_decision for c in cases) or status.get("awaiting_decision")
    # every read of the pages and the API, each timed: the lists, deep pages, filters, search, detail,
    # duplicates, citizen lookup, the KPIs of a day, a month and a year, the wall
    reads = out["reads"]
    for name in ("cases_first_page", "cases_unit", "cases_category", "cases_town", "cases_overdue", "case_detail",
                 "duplicates_suggest", "citizen_lookup", "wall_map", "wall_trend", "wall_recent", "stats_day",
                 "stats_month", "stats_year", "stats_year_by_unit", "stats_year_by_category",
                 "stats_year_by_territory"):
        assert name in reads, name
    for name, figures in reads.items():
        assert figures["n"] >= 3, name
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"], name
    assert out["db_bytes"] > 0
    assert out["rss_mb"]["after_reads"] > 50
