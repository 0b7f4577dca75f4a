"""Database adapter: engine and session factory for PostgreSQL (production) and SQLite (embedded)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_READ_ONLY = ("SELECT", "PRAGMA", "EXPLAIN")


class _WriteLockCursor(sqlite3.Cursor):
    def _locked(self, run: Any, sql: str, params: Any) -> _WriteLockCursor:
        conn: FairWriteConnection = self.connection  # type: ignore[assignment]
        conn.before_statement(sql)
        try:
            run(sql, params)
            return self
        finally:
            conn.after_statement()

    def execute(self, sql: str, parameters: Any = (), /) -> _WriteLockCursor:
        return self._locked(super().execute, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _WriteLockCursor:
        return self._locked(super().executemany, sql, seq_of_parameters)


class FairWriteConnection(sqlite3.Connection):
    """A SQLite connection that takes a lock file before it writes and lets go when its transaction ends.

    SQLite has one writer at a time, and a waiting writer sleeps in steps of up to 100 ms
    (sqlite3_busy_timeout) without being woken when the lock comes free: a process that writes
    in a loop (the tracker applying batches) kept the API's intake-log inserts waiting for
    hundreds of milliseconds.  Waiting on this lock instead wakes within a couple of
    milliseconds of its release.  Held from the first write of a transaction to its commit or
    rollback (or to the end of a statement outside a transaction), as SQLite's own lock is.
    """

    lock_path = ""
    timeout_s = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fd: int | None = None
        self._held = False

    def before_statement(self, sql: str) -> None:
        if self._held or sql.lstrip()[:7].upper().startswith(_READ_ONLY):
            return
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout_s
        delay = 0.0002
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked (write lock file)") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.002)
        self._held = True

    def after_statement(self) -> None:
        if self._held and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._held and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._held = False

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or _WriteLockCursor)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _fair_write_factory(db_path: str) -> type[FairWriteConnection]:
    return type("FairWriteConnectionFor", (FairWriteConnection,), {"lock_path": db_path + ".writelock"})


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
        extra: dict[str, Any] = {"poolclass": StaticPool} if path in ("", ":memory:") else {}
        if not extra:
            connect_args["factory"] = _fair_write_factory(str(Path(path).resolve()))
        engine = create_engine(url, connect_args=connect_args, **extra, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kw)


ANALYSIS_LIMIT = 1000  # rows sampled per index by ANALYZE: milliseconds even at a year of cases


def refresh_planner_statistics(engine: Engine) -> bool:
    """Give SQLite's query planner the statistics PostgreSQL's autovacuum keeps by itself.

    Without ``sqlite_stat1`` SQLite guesses that every index is equally selective: at 100,000
    cases it sorts every closed case for a ``status=closed`` page and reads the whole territory
    index for today's counts per town. ``ANALYZE`` with ``analysis_limit`` samples each index;
    run it now and then as the data grows (the tracker worker does, hourly). Returns whether
    anything was run (PostgreSQL: nothing to do).
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")
    return True


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False)
