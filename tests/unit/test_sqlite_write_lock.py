"""SQLite writers queue on a lock file (woken at once) instead of SQLite's sleeping busy handler."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from services.platform.db import FairWriteConnection, make_engine


def test_a_writer_waits_for_the_open_write_transaction_and_readers_do_not(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (x INTEGER)"))
    second_done = threading.Event()

    def second_writer() -> None:
        with engine.begin() as c2:
            c2.execute(text("INSERT INTO t VALUES (2)"))
        second_done.set()

    with engine.connect() as first:
        tx = first.begin()
        first.execute(text("INSERT INTO t VALUES (1)"))
        assert first.connection.dbapi_connection._held  # type: ignore[union-attr]
        writer = threading.Thread(target=second_writer)
        writer.start()
        with engine.connect() as reader:  # a reader is not held up (WAL)
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
        assert not second_done.wait(0.3)  # the second writer is queued behind the open transaction
        tx.commit()
        assert not first.connection.dbapi_connection._held  # type: ignore[union-attr]
    writer.join(10)
    assert second_done.is_set()
    with engine.connect() as c:
        assert c.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]
    assert (tmp_path / "w.db.writelock").exists()


def test_a_writer_that_waits_too_long_gets_database_is_locked(tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    factory = type("Quick", (FairWriteConnection,), {"lock_path": path + ".writelock", "timeout_s": 0.2})
    first = sqlite3.connect(path, factory=factory)
    second = sqlite3.connect(path, factory=factory)
    first.execute("CREATE TABLE t (x INTEGER)")  # outside a transaction: the lock is let go at once
    first.execute("INSERT INTO t VALUES (1)")  # opens a transaction: held until commit
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t VALUES (2)")
    first.rollback()
    second.execute("INSERT INTO t VALUES (3)")
    second.commit()
    assert [r[0] for r in second.execute("SELECT x FROM t")] == [3]
    first.close()
    second.close()
