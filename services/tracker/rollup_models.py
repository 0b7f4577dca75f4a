"""Tables of the KPI rollup (issue 19): per city day x unit x category x territory, the counts and sums
the period KPIs need, so a year's evaluation reads a few thousand rows, not a year of cases.

- ``kpi_rollup``: one row per key; every column a sum of the cases' contributions
  (``services/tracker/rollup_counts.py``).
- ``case_rollup_keys``: each case's current contribution (its key, its counts and its two durations),
  so a change of the case subtracts exactly what it added (a replay or a re-route moves counts once);
  the durations also give the exact 90th percentiles.
- ``kpi_rollup_month``: the same sums per city month and one dimension (whole months of a period).
- ``kpi_duration_hist``: per city month the durations' bucket counts (the percentiles' first step).
- ``kpi_rollup_meta``: one row, the time zone the days are counted in.  Its presence means the
  rollup is kept (written by the back-fill, ``rollups.rebuild``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.platform.db import UTCDateTime
from services.tracker.models import Base

# every summed column of kpi_rollup (services/tracker/rollup_counts.py fills them)
MEASURES = (
    "received", "dispatched", "handled", "accepted", "accepted_on_time", "resolved", "resolved_on_time",
    "ever_resolved", "reworked", "extended", "closed", "reopens", "rated", "rated_satisfied",
    "rated_basically", "rated_unsatisfied", "disposal_service", "disposal_management", "disposal_enforcement",
    "unit_disposal_service", "unit_disposal_management", "unit_disposal_enforcement", "accept_us", "resolve_us",
)
KEY = ("day", "unit", "category", "territory")
NONE_KEY = ""  # a case without unit / category / territory (shown as "(none)")


class KpiRollup(Base):
    __tablename__ = "kpi_rollup"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    territory: Mapped[str] = mapped_column(String(12), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    accepted_on_time: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    resolved_on_time: Mapped[int] = mapped_column(Integer, default=0)
    ever_resolved: Mapped[int] = mapped_column(Integer, default=0)
    reworked: Mapped[int] = mapped_column(Integer, default=0)
    extended: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rated_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    rated_basically: Mapped[int] = mapped_column(Integer, default=0)
    rated_unsatisfied: Mapped[int] = mapped_column(Integer, default=0)
    disposal_service: Mapped[int] = mapped_column(Integer, default=0)
    disposal_management: Mapped[int] = mapped_column(Integer, default=0)
    disposal_enforcement: Mapped[int] = mapped_column(Integer, default=0)
    unit_disposal_service: Mapped[int] = mapped_column(Integer, default=0)
    unit_disposal_management: Mapped[int] = mapped_column(Integer, default=0)
    unit_disposal_enforcement: Mapped[int] = mapped_column(Integer, default=0)
    accept_us: Mapped[int] = mapped_column(BigInteger, default=0)   # sum of reception -> acceptance, microseconds
    resolve_us: Mapped[int] = mapped_column(BigInteger, default=0)  # sum of reception -> resolution, microseconds


class CaseRollupKey(Base):
    __tablename__ = "case_rollup_keys"

    complaint_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    territory: Mapped[str] = mapped_column(String(12))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)  # the non-zero measures this case adds
    accept_s: Mapped[float | None] = mapped_column(Float)   # when counted as accepted
    resolve_s: Mapped[float | None] = mapped_column(Float)  # when counted as resolved
    accept_b: Mapped[int | None] = mapped_column(Integer)   # their buckets (rollup_counts.bucket_of)
    resolve_b: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_case_rollup_keys_day", "day"),
                      # the percentile's bucket, read from the index alone (migration 0012)
                      Index("ix_case_rollup_keys_accept_b", "accept_b", "day", "accept_s"),
                      Index("ix_case_rollup_keys_resolve_b", "resolve_b", "day", "resolve_s"))


class KpiRollupMonth(Base):
    """The sums of ``kpi_rollup`` per city month in total (dim 'total', value '') and per unit /
    category / territory: a whole month or a year reads a few hundred rows."""

    __tablename__ = "kpi_rollup_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the city month
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)


for _m in MEASURES:  # the same summed columns as kpi_rollup
    setattr(KpiRollupMonth, _m, mapped_column(_m, BigInteger if _m in ("accept_us", "resolve_us") else Integer,
                                              default=0, nullable=False))


class KpiDurationHist(Base):
    """How many cases of a city month took a duration in each bucket, in total ('total', '') and per
    unit / category / territory: the 90th percentile's bucket without reading the cases, then
    its exact value from that bucket's cases only."""

    __tablename__ = "kpi_duration_hist"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the city month
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    measure: Mapped[str] = mapped_column(String(8), primary_key=True)  # accept | resolve
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class KpiRollupMeta(Base):
    __tablename__ = "kpi_rollup_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
