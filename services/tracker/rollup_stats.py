"""The period KPIs of whole city days from the rollup: the same answer as ``stats.compute`` over
``stats.load_facts`` for that period, without reading the period's cases into Python.

Three SQL reads, none of which grows with the cases of the period except the percentiles:
- the sums of ``kpi_rollup`` for the days, per unit and group (a few thousand rows for a year);
- the open cases of the period past a deadline now (open cases only: ``figures_sql``);
- the 90th percentiles of the two durations, nearest rank, in SQL over ``case_rollup_keys``
  (one narrow indexed row per case; the rank comes from the rollup's counts).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from services.tracker.figures_sql import open_clause, overdue_clause
from services.tracker.models import Case
from services.tracker.rollup_counts import disposal_from_sums, kpis_from_sums, zero
from services.tracker.rollup_models import MEASURES, NONE_KEY, CaseRollupKey, KpiRollup
from services.tracker.stats import GROUPS

NONE = "(none)"
TOTAL = "\x00total"  # the whole period, beside the groups


def _label(value: str | None) -> str:
    return value or NONE


def _sums(session: Session, d0: date, d1: date, group_by: str | None) -> tuple[dict[str, dict[str, int]], ...]:
    """(per group, per unit) sums of the days [d0, d1); the total under TOTAL in the first."""
    group_col = getattr(KpiRollup, group_by) if group_by else literal(NONE_KEY)
    rows = session.execute(
        select(KpiRollup.unit, group_col, *(func.sum(getattr(KpiRollup, m)) for m in MEASURES))
        .where(KpiRollup.day >= d0, KpiRollup.day < d1).group_by(KpiRollup.unit, group_col))
    groups: dict[str, dict[str, int]] = defaultdict(zero)
    units: dict[str, dict[str, int]] = defaultdict(zero)
    for unit, group, *values in rows:
        for target in ((groups[TOTAL], units[_label(unit)], groups[_label(group)]) if group_by
                       else (groups[TOTAL], units[_label(unit)])):
            for m, v in zip(MEASURES, values, strict=True):
                target[m] += int(v or 0)
    return ({k: v for k, v in groups.items() if v["received"]}, {k: v for k, v in units.items() if v["received"]})


def _late(session: Session, start: datetime, end: datetime, now: datetime,
          group_by: str | None) -> dict[str, tuple[int, int]]:
    """(overdue open, open past the resolve deadline) per group and TOTAL: open cases only."""
    def count(where: Any) -> Any:
        return func.coalesce(func.sum(case((where, 1), else_=0)), 0)

    resolve_late = and_(Case.routed_at.is_not(None), Case.resolve_by.is_not(None), Case.resolve_by < now)
    group_col = getattr(Case, group_by) if group_by else literal(NONE_KEY)
    rows = session.execute(
        select(group_col, count(overdue_clause(now)), count(resolve_late))
        .where(open_clause(), Case.received_at >= start, Case.received_at < end).group_by(group_col))
    out: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for group, overdue, late in rows:
        for key in (TOTAL, _label(group)):
            o, r = out[key]
            out[key] = (o + int(overdue), r + int(late))
    return out


def _rank(n: int) -> int:
    """``stats._p90``'s nearest rank (1-based) among n values."""
    return max(0, math.ceil(0.9 * n) - 1) + 1


def _p90(session: Session, d0: date, d1: date, measure: str, counted: dict[str, int],
         group_by: str | None) -> dict[str, float | None]:
    """The nearest-rank 90th percentile of ``accept_s`` / ``resolve_s`` per group and TOTAL, ``counted`` being
    how many cases have the value (the rollup's accepted / resolved)."""
    column = getattr(CaseRollupKey, measure)
    period = (CaseRollupKey.day >= d0, CaseRollupKey.day < d1, column.is_not(None))
    out: dict[str, float | None] = {key: None for key in counted}
    if counted.get(TOTAL):
        out[TOTAL] = session.scalar(select(column).where(*period).order_by(column)
                                    .offset(_rank(counted[TOTAL]) - 1).limit(1))
    wanted = {k: _rank(n) for k, n in counted.items() if k != TOTAL and n}
    if group_by is None or not wanted:
        return out
    group_col = getattr(CaseRollupKey, group_by)
    ranked = select(group_col.label("g"), column.label("v"),
                    func.row_number().over(partition_by=group_col, order_by=column).label("rn")
                    ).where(*period).subquery()
    stored = {(NONE_KEY if k == NONE else k): rank for k, rank in wanted.items()}
    rows = session.execute(select(ranked.c.g, ranked.c.v).where(
        ranked.c.g.in_(stored), ranked.c.rn == case(stored, value=ranked.c.g)))
    for group, value in rows:
        out[_label(group)] = value
    return out


def compute_from_rollup(session: Session, d0: date, d1: date, start: datetime, end: datetime, now: datetime,
                        group_by: str | None) -> dict[str, Any]:
    """``stats.compute(load_facts(session, start, end), now, group_by)`` for [start, end) = the city days [d0, d1)."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    groups, units = _sums(session, d0, d1, group_by)
    groups.setdefault(TOTAL, zero())
    late = _late(session, start, end, now, group_by)
    p90 = {m: _p90(session, d0, d1, f"{m}_s", {k: s[n] for k, s in groups.items()}, group_by)
           for m, n in (("accept", "accepted"), ("resolve", "resolved"))}

    def kpis(key: str) -> dict[str, Any]:
        overdue, resolve_late = late.get(key, (0, 0))
        return kpis_from_sums(groups[key], overdue, resolve_late, p90["accept"].get(key), p90["resolve"].get(key))

    out: dict[str, Any] = {"total": kpis(TOTAL)}
    if group_by is not None:
        out["groups"] = [{group_by: key, **kpis(key)} for key in sorted(groups) if key != TOTAL]
    out["disposal_by_unit"] = {unit: disposal_from_sums(s, "unit_disposal_") for unit, s in sorted(units.items())}
    return out
