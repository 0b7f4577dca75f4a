"""Keeps the KPI rollup (``rollup_models``) equal to a recount of the cases, in the transaction that
changes them.

Cases are written in several ways (the ORM, compare-and-set UPDATEs of the projection and of the
case actions, tests' UPDATEs).  Session events see all of them: ``after_flush`` notes the cases the
ORM wrote; ``do_orm_execute`` notes the cases an UPDATE of ``cases`` matches (a statement that
names its case itself carries the execution option ``ROLLUP_TRACKED`` and calls ``touch``).  Just
before the commit the noted cases are read back and each one's stored contribution
(``case_rollup_keys``) is replaced by its current one: the difference goes to ``kpi_rollup`` (an
upsert, keys in sorted order so concurrent writers lock rows in one order).  Re-reading the current
row makes it exact whatever happened: a replay changes nothing, a re-route moves the counts once.

``rebuild`` recounts everything from the cases (the migration's back-fill, a repair);
``recount`` is the same count, returned instead of written (the tests compare the two).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, event, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session

from services.tracker.models import Case
from services.tracker.rollup_counts import (
    HIST_DIMS,
    Cell,
    Contribution,
    contribution,
    hist_cells,
    month_of,
    zero,
)
from services.tracker.rollup_models import (
    MEASURES,
    CaseRollupKey,
    KpiDurationHist,
    KpiRollup,
    KpiRollupMeta,
    KpiRollupMonth,
)
from services.tracker.stats import CaseFacts

log = logging.getLogger(__name__)
ROLLUP_TRACKED = "rollup_tracked"  # execution option: this UPDATE of cases calls touch() itself
_TOUCHED = "rollups.touched"
_FACT_COLUMNS = (Case.status, Case.unit, Case.category, Case.territory, Case.received_at, Case.routed_at,
                 Case.accept_by, Case.resolve_by, Case.accepted_at, Case.resolved_at, Case.reopens, Case.extended,
                 Case.disposal_mode, Case.rating)
_zones: dict[str, ZoneInfo] = {}  # database URL -> the rollup's time zone (once it is kept)
Sums = dict[tuple[Any, ...], dict[str, int]]
Hist = dict[Cell, int]


def touch(session: Session, complaint_id: str) -> None:
    """The case ``complaint_id`` is changed in this transaction (its contribution is redone at commit)."""
    session.info.setdefault(_TOUCHED, set()).add(complaint_id)


def _note_orm_changes(session: Session) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            touch(session, obj.complaint_id)


@event.listens_for(Session, "after_flush")
def _noted_by_orm(session: Session, _context: Any) -> None:
    _note_orm_changes(session)


@event.listens_for(Session, "do_orm_execute")
def _noted_by_update(state: ORMExecuteState) -> None:
    if not state.is_update or state.execution_options.get(ROLLUP_TRACKED):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != Case.__tablename__:
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    query = select(Case.__table__.c.complaint_id)
    if where is not None:
        query = query.where(where)
    params = state.parameters
    conn = state.session.connection()
    for p in params if isinstance(params, list) else [params or {}]:
        for (complaint_id,) in conn.execute(query, p):
            touch(state.session, complaint_id)


@event.listens_for(Session, "before_commit")
def _apply_touched(session: Session) -> None:
    _note_orm_changes(session)  # the commit flushes only after this event
    if not session.info.get(_TOUCHED):
        return
    session.flush()
    touched = session.info.pop(_TOUCHED, set())
    conn = session.connection()
    tz = zone(conn)
    if tz is not None and touched:
        update_cases(conn, sorted(touched), tz)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def zone(conn: Connection) -> ZoneInfo | None:
    """The time zone the rollup counts days in, or None while no rollup is kept in this database."""
    url = conn.engine.url.render_as_string(hide_password=False)
    if url in _zones:
        return _zones[url]
    if not inspect(conn).has_table(KpiRollupMeta.__tablename__):
        return None
    name = conn.scalar(select(KpiRollupMeta.timezone).where(KpiRollupMeta.id == 1))
    if name is None:
        return None
    _zones[url] = ZoneInfo(name)
    return _zones[url]


def forget_zone(conn: Connection) -> None:
    """After the rollup tables are dropped or rebuilt: read the zone again."""
    _zones.pop(conn.engine.url.render_as_string(hide_password=False), None)


def _facts(rows: Iterable[Any]) -> Iterator[tuple[str, CaseFacts, bool]]:
    for complaint_id, closed_at, *facts in rows:
        yield complaint_id, CaseFacts(*facts), closed_at is not None


def _read(conn: Connection, complaint_ids: list[str], tz: ZoneInfo) -> dict[str, Contribution]:
    # FOR UPDATE (PostgreSQL; SQLite has one writer): a concurrent transaction that changed one of
    # these cases commits its case row and its contribution before this one reads either
    rows = conn.execute(select(Case.complaint_id, Case.closed_at, *_FACT_COLUMNS)
                        .where(Case.complaint_id.in_(complaint_ids)).order_by(Case.complaint_id)
                        .with_for_update(of=Case.__table__))
    return {cid: contribution(f, closed, tz) for cid, f, closed in _facts(rows)}


def update_cases(conn: Connection, complaint_ids: list[str], tz: ZoneInfo) -> None:
    """Replace the stored contributions of these cases by their current ones."""
    new = _read(conn, complaint_ids, tz)
    old = {row.complaint_id: row for row in conn.execute(
        select(CaseRollupKey).where(CaseRollupKey.complaint_id.in_(complaint_ids)))}
    delta: Sums = defaultdict(zero)
    hist: Hist = defaultdict(int)
    stale: list[str] = []
    fresh: list[dict[str, Any]] = []
    for cid in complaint_ids:
        before, after = old.get(cid), new.get(cid)
        if before is not None and after is not None and _key_row(cid, after) == _stored(before):
            continue
        if before is not None:
            old_key = (before.day, before.unit, before.category, before.territory)
            for k, v in before.counts.items():
                delta[old_key][k] -= v
            for cell in hist_cells(old_key, before.accept_b, before.resolve_b):
                hist[cell] -= 1
            stale.append(cid)
        if after is not None:
            for k, v in after.counts.items():
                delta[after.key][k] += v
            for cell in hist_cells(after.key, after.accept_b, after.resolve_b):
                hist[cell] += 1
            fresh.append(_key_row(cid, after))
    if stale:
        conn.execute(delete(CaseRollupKey).where(CaseRollupKey.complaint_id.in_(stale)))
    if fresh:
        conn.execute(insert(CaseRollupKey), fresh)
    _add(conn, delta)
    _add_hist(conn, hist)


def _stored(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in ("complaint_id", "day", "unit", "category", "territory", "counts",
                                          "accept_s", "resolve_s", "accept_b", "resolve_b")}


def _key_row(complaint_id: str, c: Contribution) -> dict[str, Any]:
    day, unit, category, territory = c.key
    return {"complaint_id": complaint_id, "day": day, "unit": unit, "category": category, "territory": territory,
            "counts": c.counts, "accept_s": c.accept_s, "resolve_s": c.resolve_s, "accept_b": c.accept_b,
            "resolve_b": c.resolve_b}


def by_month(daily: Sums) -> Sums:
    """Day x unit x category x territory sums -> month x dimension (total, unit, category, territory) sums."""
    out: Sums = defaultdict(zero)
    for (day, *values), sums in daily.items():
        month = month_of(day)
        for dim, value in zip(HIST_DIMS, ("", *values), strict=True):
            target = out[(month, dim, value)]
            for m, v in sums.items():
                target[m] += v
    return dict(out)


def _add(conn: Connection, delta: Sums) -> None:
    """Add the differences to kpi_rollup and kpi_rollup_month (an upsert per key, in key order);
    emptied keys are removed."""
    _upsert(conn, KpiRollup, ("day", "unit", "category", "territory"), delta)
    _upsert(conn, KpiRollupMonth, ("month", "dim", "value"), by_month(delta))


@functools.cache
def _upsert_statement(dialect_name: str, model: Any, key_names: tuple[str, ...], summed: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET m = m + excluded.m, built once (compiling it per
    row cost more than running it)."""
    table = model.__table__
    stmt = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return stmt.on_conflict_do_update(index_elements=list(key_names),
                                      set_={m: table.c[m] + stmt.excluded[m] for m in summed})


def _upsert(conn: Connection, model: Any, key_names: tuple[str, ...], delta: Sums, summed: tuple[str, ...] = MEASURES,
            empty: str = "received") -> None:
    """Add ``delta`` to the rows of these keys (one statement, rows in key order, so concurrent writers
    lock them in one order); rows whose ``empty`` column fell to 0 are removed."""
    rows = [{**dict(zip(key_names, key, strict=True)), **delta[key]} for key in sorted(delta) if any(delta[key].values())]
    if not rows:
        return
    conn.execute(_upsert_statement(conn.dialect.name, model, key_names, summed), rows)
    table = model.__table__
    for key in sorted(k for k, v in delta.items() if v[empty] < 0):
        conn.execute(delete(table).where(*(table.c[k] == v for k, v in zip(key_names, key, strict=True)),
                                         table.c[empty] == 0))


def _add_hist(conn: Connection, delta: Hist) -> None:
    _upsert(conn, KpiDurationHist, ("month", "dim", "value", "measure", "bucket"),
            {cell: {"n": n} for cell, n in delta.items()}, summed=("n",), empty="n")


def recount(conn: Connection, tz: ZoneInfo, chunk: int = 5000) -> tuple[Sums, dict[str, Contribution], Hist]:
    """The rollup, each case's contribution and the duration histogram, counted from the cases
    (nothing written)."""
    sums: Sums = defaultdict(zero)
    hist: Hist = defaultdict(int)
    per_case: dict[str, Contribution] = {}
    rows = conn.execute(select(Case.complaint_id, Case.closed_at, *_FACT_COLUMNS).execution_options(yield_per=chunk))
    for cid, f, closed in _facts(rows):
        c = contribution(f, closed, tz)
        per_case[cid] = c
        for k, v in c.counts.items():
            sums[c.key][k] += v
        for cell in hist_cells(c.key, c.accept_b, c.resolve_b):
            hist[cell] += 1
    return dict(sums), per_case, dict(hist)


def rebuild(conn: Connection, timezone: str, chunk: int = 5000) -> int:
    """Recount the rollup from the cases and record its time zone (the rollup is kept from now on).
    Returns the number of rollup rows."""
    tz = ZoneInfo(timezone)
    sums, per_case, hist = recount(conn, tz, chunk)
    conn.execute(delete(KpiDurationHist))
    conn.execute(delete(KpiRollupMonth))
    conn.execute(delete(KpiRollup))
    conn.execute(delete(CaseRollupKey))
    conn.execute(delete(KpiRollupMeta))
    keys = [_key_row(cid, c) for cid, c in per_case.items()]
    for i in range(0, len(keys), chunk):
        conn.execute(insert(CaseRollupKey), keys[i:i + chunk])
    rows = [{"day": k[0], "unit": k[1], "category": k[2], "territory": k[3], **v} for k, v in sorted(sums.items())]
    for i in range(0, len(rows), chunk):
        conn.execute(insert(KpiRollup), rows[i:i + chunk])
    months = [{"month": k[0], "dim": k[1], "value": k[2], **v} for k, v in sorted(by_month(sums).items())]
    for i in range(0, len(months), chunk):
        conn.execute(insert(KpiRollupMonth), months[i:i + chunk])
    cells = [dict(zip(("month", "dim", "value", "measure", "bucket"), cell, strict=True), n=n)
             for cell, n in sorted(hist.items())]
    for i in range(0, len(cells), chunk):
        conn.execute(insert(KpiDurationHist), cells[i:i + chunk])
    conn.execute(insert(KpiRollupMeta).values(id=1, timezone=timezone, built_at=datetime.now(UTC)))
    forget_zone(conn)
    log.info("KPI rollup rebuilt: %d cases, %d rows (%s)", len(per_case), len(rows), timezone)
    return len(rows)
