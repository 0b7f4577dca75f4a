"""`complaints bench-data`: the read side with a year of history.

1. A fresh database (PostgreSQL: ``bench_data`` by default, created here and dropped at the end
   unless ``--keep``; SQLite: a new file), migrated with the project's own migrations.
2. N cases received over the last year (``services/ops/bench_data_gen.py``: every town, category and
   unit of the city configuration; a real mix of statuses, extensions, reopenings, ratings,
   returns, reassignments; ``case_events`` consistent with each case's status; alerts,
   corrections, intake-log records), written with COPY (psycopg 3 ``cursor.copy``) on PostgreSQL
   and ``executemany`` in big transactions on SQLite; then ANALYZE on PostgreSQL (what autovacuum
   does on a live database).
3. Every read the pages and the API make, through the FastAPI app in-process
   (``services/ops/bench_data_reads.py``, in a process of its own so its memory is the API's), with
   p50/p95/p99 in ms, the database size and the process's RSS.

One JSON line with ``--json``, else a table.  Figures, not assertions: see docs/reads-benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select
from sqlalchemy.engine import make_url

from services.ops.bench_data_gen import Batch, generate, sources
from services.tracker.models import AlertRow, Case, CaseEventRow, CorrectionRow, IntakeRecord

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_data"
TABLES: list[tuple[str, Table]] = [(name, model.__table__) for name, model in (  # type: ignore[misc]
    ("intake", IntakeRecord), ("cases", Case), ("events", CaseEventRow), ("alerts", AlertRow),
    ("corrections", CorrectionRow))]


def _columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True and c.name == "id")]


def _json_columns(table: Table) -> set[str]:
    return {c.name for c in table.columns if isinstance(c.type, JSON)}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(url: str) -> None:
    """An empty database at ``url`` (dropped first if it exists), migrated to head."""
    from services.platform.migrate import upgrade

    if is_sqlite(url):
        path = Path(make_url(url).database or "")
        for extra in ("", "-wal", "-shm", ".writelock"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        import psycopg

        parsed = make_url(url)
        name = parsed.database
        admin = psycopg_url(str(parsed.set(database="postgres")))
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(url)


def drop_database(url: str) -> None:
    if is_sqlite(url):
        path = make_url(url).database or ""
        for extra in ("", "-wal", "-shm", ".writelock"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        return
    import psycopg

    parsed = make_url(url)
    with psycopg.connect(psycopg_url(str(parsed.set(database="postgres"))), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _rows(batch: Batch, key: str) -> list[dict[str, Any]]:
    return {"intake": batch.intake, "cases": batch.cases, "events": batch.events, "alerts": batch.alerts,
            "corrections": batch.corrections}[key]


def _progress(counts: Counter[str]) -> None:
    if counts["cases"] % 100000 < 5000:
        print(f"bench-data: {counts['cases']} cases loaded", file=sys.stderr, flush=True)


def load_postgres(url: str, batches: Iterable[Batch]) -> Counter[str]:
    import psycopg

    counts: Counter[str] = Counter()
    plan = [(key, table.name, _columns(table), _json_columns(table)) for key, table in TABLES]
    with psycopg.connect(psycopg_url(url)) as conn:
        # the secondary indexes are built once after the load (much faster than kept row by row,
        # a GIN trigram index above all); those of constraints (primary keys, unique) stay
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            ([t.name for _, t in TABLES],)).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        for batch in batches:
            with conn.cursor() as cur:
                for key, name, cols, json_cols in plan:
                    rows = _rows(batch, key)
                    if not rows:
                        continue
                    with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in json_cols
                                            and row[c] is not None else row[c] for c in cols])
                    counts[key] += len(rows)
            conn.commit()
            _progress(counts)
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return counts


def load_sqlite(url: str, batches: Iterable[Batch]) -> Counter[str]:
    from services.platform.db import make_engine

    counts: Counter[str] = Counter()
    engine = make_engine(url)
    try:
        for batch in batches:
            with engine.begin() as conn:
                for key, table in TABLES:
                    rows = _rows(batch, key)
                    if rows:
                        conn.execute(insert(table), rows)
                        counts[key] += len(rows)
            _progress(counts)
    finally:
        engine.dispose()
    return counts


def statuses(url: str) -> dict[str, int]:
    from services.platform.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Case.status, func.count()).group_by(Case.status)).all()
    finally:
        engine.dispose()
    return {str(s): int(n) for s, n in sorted(rows)}


def database_bytes(url: str) -> int:
    if is_sqlite(url):
        path = make_url(url).database or ""
        return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
    import psycopg

    with psycopg.connect(psycopg_url(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def load(url: str, cases: int, seed: int, now: datetime | None = None) -> dict[str, Any]:
    """Create, migrate and fill the database; returns what was written and how long it took."""
    from services.core.loader import load_city
    from services.platform.db import make_engine, refresh_planner_statistics
    from services.platform.settings import CommonSettings
    from services.resources import demo_complaints

    settings = CommonSettings()
    city = load_city(settings.city, str(settings.config_root))
    texts = sources(city, [json.loads(line) for line in demo_complaints().read_text(encoding="utf-8").splitlines()
                           if line.strip()])
    started = time.perf_counter()
    fresh_database(url)
    migrated = time.perf_counter()
    batches = generate(city, texts, cases, now=now or datetime.now(UTC), seed=seed)
    counts = load_sqlite(url, batches) if is_sqlite(url) else load_postgres(url, batches)
    done = time.perf_counter()
    rollup_s = rebuild_rollups(url, city.timezone)
    engine = make_engine(url)
    try:  # what the tracker worker does hourly (SQLite; PostgreSQL's autovacuum analyses by itself)
        refresh_planner_statistics(engine)
    finally:
        engine.dispose()
    return {"rows": dict(counts), "load_s": round(done - migrated, 1), "migrate_s": round(migrated - started, 1),
            "cases_per_s": round(cases / max(done - migrated, 1e-9)), "rollup_rebuild_s": rollup_s,
            "statuses": statuses(url), "db_bytes": database_bytes(url)}


def rebuild_rollups(url: str, timezone: str) -> float | None:
    """Derived tables the tracker keeps from the cases (the KPI rollup, when the code has one) are
    recounted by their own ``rebuild``: the history was written beside the projection, not through it.
    Returns the seconds it took (None: no rollup)."""
    import importlib

    from services.platform.db import make_engine

    try:
        rollups = importlib.import_module("services.tracker.rollups")
    except ImportError:
        return None
    rebuild = getattr(rollups, "rebuild", None)
    if rebuild is None:
        return None
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            rebuild(conn, timezone)
    finally:
        engine.dispose()
    return round(time.perf_counter() - started, 1)


def existing(url: str) -> dict[str, Any]:
    """What a database kept by an earlier run (``--keep``) holds, to measure it again (``--reuse``)."""
    from services.platform.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = {key: int(conn.execute(select(func.count()).select_from(table)).scalar() or 0) for key, table in TABLES}
    finally:
        engine.dispose()
    if not rows["cases"]:
        raise ValueError(f"--reuse: no cases in {make_url(url).render_as_string()}")
    return {"rows": rows, "load_s": None, "reused": True, "statuses": statuses(url), "db_bytes": database_bytes(url)}


def measure(url: str, repeats: int, seed: int, budget_s: float, skip: str = "") -> dict[str, Any]:
    """The reads, in a process of their own (its RSS is the API's with this history)."""
    cmd = [sys.executable, "-m", "services.ops.bench_data_reads", "--database-url", url, "--repeats", str(repeats),
           "--seed", str(seed), "--budget-s", str(budget_s), "--skip", skip]
    # its progress (stderr) goes straight to ours
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False, cwd=Path(__file__).resolve().parents[2])
    if out.returncode != 0:
        raise RuntimeError(f"reads failed ({out.returncode})")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = args.database_url
    loaded = existing(url) if args.reuse else load(url, args.cases, args.seed)
    if args.reuse:
        args.cases = loaded["rows"]["cases"]
    try:
        reads = measure(url, args.repeats, args.seed, args.budget_s, args.skip)
    finally:
        if not args.keep:
            drop_database(url)
    backend = "sqlite" if is_sqlite(url) else "postgresql"
    target = 500.0 if backend == "sqlite" else 200.0
    over = sorted(name for name, r in reads["reads"].items() if r["p95_ms"] > target)
    return {"backend": backend, "cases": args.cases, "seed": args.seed, "repeats": args.repeats, **loaded,
            "target_p95_ms": target, "over_target": over, **reads, "kept": bool(args.keep)}


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['backend']}: {result['cases']} cases, {result['rows'].get('events', 0)} events, "
          f"loaded in {result['load_s']} s ({result.get('cases_per_s')} cases/s), "
          f"database {result['db_bytes'] / 2**20:.0f} MiB, API RSS {result['rss_mb']}")
    print(f"statuses: {result['statuses']}")
    print(f"{'read':<34} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for name, r in result["reads"].items():
        flag = "  over target" if name in result["over_target"] else ""
        print(f"{name:<34} {r['n']:>4} {r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f} {r['p99_ms']:>9.1f}{flag}")
    if result.get("missing"):
        print(f"reads the API does not offer yet: {', '.join(result['missing'])}")
    if result.get("errors"):
        print(f"errors: {result['errors']}")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench-data", help="read latencies with a year of history (N cases, COPY-loaded)")
    p.add_argument("--cases", type=int, default=100000, help="cases over the last year (default 100000)")
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help=f"a database to create (dropped first!), PostgreSQL or sqlite:///file (default {DEFAULT_URL})")
    p.add_argument("--repeats", type=int, default=20, help="timed calls of each read (default 20)")
    p.add_argument("--budget-s", type=float, default=60.0,
                   help="at most this long per read: fewer calls (at least 3) when a read is slow, and only "
                        "one when a single call takes longer (default 60)")
    p.add_argument("--seed", type=int, default=12319)
    p.add_argument("--skip", default="",
                   help="reads to leave out, comma-separated name prefixes (e.g. export,stats_year_by)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--reuse", action="store_true",
                   help="measure the database a run with --keep left (no load; --cases is what it holds)")
    p.add_argument("--json", action="store_true", help="one JSON line")

    def handler(args: argparse.Namespace) -> int:
        result = run(args)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print_table(result)
        return 1 if result.get("errors") else 0

    p.set_defaults(func=handler)
