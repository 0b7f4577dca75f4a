"""The core's deadline figures (``services.core.figures``) as SQL conditions on the ``cases`` table.

Only a translation: the status sets and the near-due share come from the core, and
``tests/integration/tracker/test_figures_agree.py`` checks on generated cases (SQLite and
PostgreSQL) that these conditions pick exactly the cases the core's predicates pick.
Times are compared as seconds since the epoch so one expression serves both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, String, and_, literal, not_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from services.core import figures as fig
from services.core.workflow import values
from services.tracker.models import Case

OPEN = values(fig.OPEN)


class epoch_s(FunctionElement[float]):  # noqa: N801 - SQL function style
    """Seconds since 1970-01-01 UTC of a UTC timestamp column."""

    type = Float()
    inherit_cache = True


@compiles(epoch_s, "sqlite")
def _epoch_sqlite(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text (services/platform/db.py UTCDateTime); julianday reads it
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_s)
def _epoch_default(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


class local_day(FunctionElement[str]):  # noqa: N801 - SQL function style
    """The date ('YYYY-MM-DD') of a UTC timestamp column at a fixed UTC offset (seconds): exact text
    arithmetic on both databases (floats of julianday would put a case at midnight on the day before)."""

    type = String()
    inherit_cache = True


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column, offset = list(element.clauses)
    return f"date({compiler.process(column, **kw)}, ({compiler.process(offset, **kw)}) || ' seconds')"


@compiles(local_day)
def _local_day_default(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column, offset = list(element.clauses)
    return (f"to_char(({compiler.process(column, **kw)} AT TIME ZONE 'UTC') + "
            f"make_interval(secs => {compiler.process(offset, **kw)}), 'YYYY-MM-DD')")


def open_clause() -> Any:
    return Case.status.in_(OPEN)


def _past(column: Any, now: datetime) -> Any:
    """``figures.past``: the deadline is set and the moment is after it."""
    return and_(column.is_not(None), column < now)


def _owed(column: Any) -> Any:
    """``figures.owed``: the accept deadline only until the case is signed for."""
    return Case.accepted_at.is_(None) if column is Case.accept_by else true()


def overdue_clause(now: datetime) -> Any:
    """``figures.is_overdue``: open, and past an owed deadline."""
    return and_(open_clause(), or_(and_(_owed(Case.accept_by), _past(Case.accept_by, now)),
                                   _past(Case.resolve_by, now)))


def not_overdue_clause(now: datetime) -> Any:
    return not_(overdue_clause(now))  # every part is NOT NULL, so NOT is exact


def _near(column: Any, now: datetime) -> Any:
    """``now >= received + share * (deadline - received)``, multiplied out by the share's denominator."""
    share = fig.NEAR_DUE_SHARE
    start, end = epoch_s(Case.received_at), epoch_s(column)
    used = (literal(now.timestamp(), Float()) - start) * share.denominator
    return and_(column.is_not(None), used >= (end - start) * share.numerator)


def near_due_clause(now: datetime) -> Any:
    """``figures.is_near_due``: open, not overdue, and 80 % of an owed deadline's time used."""
    return and_(not_overdue_clause(now), open_clause(),
                or_(and_(_owed(Case.accept_by), _near(Case.accept_by, now)), _near(Case.resolve_by, now)))
