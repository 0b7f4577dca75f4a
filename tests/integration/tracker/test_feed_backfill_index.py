"""The feed's back-fill (/api/v1/wall/recent, called by every load of /dashboard and /wall) reads the latest
events through an index on case_events.at: without one SQLite scanned and sorted the whole history
(70 ms per page load at 10,000 cases, docs/pages-benchmark.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from services.platform.db import make_engine, make_sessionmaker
from services.platform.migrate import upgrade
from services.tracker import wall_figures
from tests.integration.tracker.conftest import make_case


def test_the_latest_events_are_read_through_the_index_on_their_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    tickets = [make_case(sessions, received_at=datetime.now(UTC) - timedelta(minutes=i)) for i in range(3)]
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM case_events" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    with sessions() as s:
        items = wall_figures.recent(s, 30, datetime.now(UTC) - timedelta(hours=1))
    event.remove(engine, "before_cursor_execute", keep)
    assert {i["ticket_no"] for i in items} == set(tickets)  # their received and dispatched events
    (statement, parameters), = statements
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "USING INDEX ix_case_events_at" in plan, plan
    assert "SCAN case_events" not in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan
    engine.dispose()
