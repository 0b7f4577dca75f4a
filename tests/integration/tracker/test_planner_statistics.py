"""SQLite keeps no planner statistics by itself: without them it reads the whole territory index for
"received today per town" (the wall's map). `refresh_planner_statistics` (run hourly by the tracker
worker, and by `bench-data` after loading) makes it search today's range instead; on PostgreSQL it
does nothing (autovacuum analyses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.ops.bench_data import load
from services.platform.db import make_engine, refresh_planner_statistics

TODAY_BY_TOWN = "SELECT territory, count(*) FROM cases WHERE received_at >= ? GROUP BY territory"


def _plan(url: str, since: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + TODAY_BY_TOWN, (since,)))
    finally:
        engine.dispose()


def test_sqlite_plans_today_by_town_from_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'year.db'}"
    load(url, 3000, seed=7)
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            analysed = conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'cases'").scalar_one()
            assert analysed > 0  # the loader left the statistics a worker would have gathered
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")
    finally:
        engine.dispose()
    assert "SCAN cases USING INDEX ix_cases_territory" in _plan(url, since)  # guessing: the whole index

    engine = make_engine(url)
    try:
        assert refresh_planner_statistics(engine) is True
        with engine.connect() as conn:
            rows = dict(conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'cases'").all())
            cases = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
    finally:
        engine.dispose()
    assert abs(int(rows["ix_cases_received_at"].split()[0]) - cases) <= cases // 10  # sampled (analysis_limit)
    plan = _plan(url, since)
    assert "(received_at>?)" in plan and "SCAN" not in plan, plan  # today's range of either received_at index


def test_postgres_is_left_to_autovacuum(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        assert refresh_planner_statistics(engine) is False
    finally:
        engine.dispose()
