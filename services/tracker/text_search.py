"""Substring search of the cases' text, address and phone, served by an index on both databases.

``contains(column_group, q, fallback)`` is one SQL condition that compiles per dialect:
- PostgreSQL (and any other): the ``fallback`` (``ILIKE '%…%'`` / ``LIKE '%1234'``), which pg_trgm's
  GIN indexes serve (migration 0009);
- SQLite: ``cases.rowid IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH '{text address}: "…"')``,
  the FTS5 trigram index of migration 0014, AND the fallback (so both give exactly the same rows: the
  trigram match narrows, the LIKE decides). Below three characters a trigram index cannot help and
  the fallback alone runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Connection, Select, and_, bindparam, literal_column, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from services.tracker.models import SQLITE_SEARCH_TABLE

TRIGRAM = 3  # characters: the shortest text the trigram tokenizer indexes


class Contains(ColumnElement[bool]):
    """``columns`` (of the FTS table) contain ``q``; ``fallback`` is the same condition without index."""

    type = Boolean()
    inherit_cache = False  # the match string is part of the SQL text on SQLite

    def __init__(self, columns: tuple[str, ...], q: str, fallback: ColumnElement[bool]) -> None:
        self.columns = columns
        self.q = q
        self.fallback = fallback


@compiles(Contains)
def _default(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.fallback, **kw)


@compiles(Contains, "sqlite")
def _sqlite(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    if len(element.q) < TRIGRAM:
        return compiler.process(element.fallback, **kw)
    phrase = '"' + element.q.replace('"', '""') + '"'
    match = f"{{{' '.join(element.columns)}}}: {phrase}"
    inner: Select[Any] = (select(literal_column("rowid")).select_from(table(SQLITE_SEARCH_TABLE))
             .where(literal_column(SQLITE_SEARCH_TABLE).op("MATCH")(bindparam("fts_match", match, unique=True))))
    narrowed = and_(literal_column("cases.rowid").in_(inner.scalar_subquery()), element.fallback)
    return compiler.process(narrowed, **kw)


def contains(columns: tuple[str, ...], q: str, fallback: ColumnElement[bool]) -> ColumnElement[bool]:
    return Contains(columns, q, fallback)


def rebuild(conn: Connection) -> None:
    """Index every case again (SQLite, after a VACUUM renumbered the rowids); nothing elsewhere."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {SQLITE_SEARCH_TABLE}({SQLITE_SEARCH_TABLE}) VALUES ('rebuild')")
