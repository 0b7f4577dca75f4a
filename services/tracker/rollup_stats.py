"""The period KPIs of whole city days from the rollup: the same answer as ``stats.compute`` over
``stats.load_facts`` for that period, without reading the period's cases into Python.

Three SQL reads, none of which grows with the cases of the period except the percentiles:
- the sums of ``kpi_rollup`` for the days, per unit and group (a few thousand rows for a year);
- the open cases of the period past a deadline now (open cases only: ``figures_sql``);
- the 90th percentiles of the two durations, nearest rank: the bucket holding that rank from the
  monthly histogram (``kpi_duration_hist``; the cases of the days outside whole months), then the
  exact value among that one bucket's cases of the period (``case_rollup_keys``, indexed by bucket).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from services.tracker.figures_sql import open_clause, overdue_clause
from services.tracker.models import Case
from services.tracker.rollup_counts import disposal_from_sums, kpis_from_sums, month_of, zero
from services.tracker.rollup_models import (
    MEASURES,
    NONE_KEY,
    CaseRollupKey,
    KpiDurationHist,
    KpiRollup,
    KpiRollupMonth,
)
from services.tracker.stats import GROUPS

NONE = "(none)"
TOTAL = "\x00total"  # the whole period, beside the groups


def _label(value: str | None) -> str:
    return value or NONE


def _sums(session: Session, d0: date, d1: date, group_by: str | None) -> tuple[dict[str, dict[str, int]], ...]:
    """(per group, per unit) sums of the days [d0, d1); the total under TOTAL in the first.  Whole
    months from kpi_rollup_month, the days outside them from kpi_rollup."""
    groups: dict[str, dict[str, int]] = defaultdict(zero)
    units: dict[str, dict[str, int]] = defaultdict(zero)

    def add(target: dict[str, int], values: Any) -> None:
        for m, v in zip(MEASURES, values, strict=True):
            target[m] += int(v or 0)

    m0, m1, edges = _months(d0, d1)
    if m0 < m1:
        mo = KpiRollupMonth
        dims = {"total", "unit", group_by or "total"}
        for dim, value, *values in session.execute(
                select(mo.dim, mo.value, *(func.sum(getattr(mo, m)) for m in MEASURES))
                .where(mo.month >= m0, mo.month < m1, mo.dim.in_(dims)).group_by(mo.dim, mo.value)):
            if dim == "total":
                add(groups[TOTAL], values)
            if dim == "unit":
                add(units[_label(value)], values)
            if dim == group_by:
                add(groups[_label(value)], values)
    group_col = getattr(KpiRollup, group_by) if group_by else literal(NONE_KEY)
    for a, b in edges:
        for unit, group, *values in session.execute(
                select(KpiRollup.unit, group_col, *(func.sum(getattr(KpiRollup, m)) for m in MEASURES))
                .where(KpiRollup.day >= a, KpiRollup.day < b).group_by(KpiRollup.unit, group_col)):
            add(groups[TOTAL], values)
            add(units[_label(unit)], values)
            if group_by:
                add(groups[_label(group)], values)
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


def _months(d0: date, d1: date) -> tuple[date, date, list[tuple[date, date]]]:
    """The whole city months [m0, m1) inside [d0, d1), and the days outside them."""
    m0 = d0 if d0.day == 1 else month_of(d0 + timedelta(days=32 - d0.day))
    m1 = month_of(d1)
    if m0 >= m1:
        return m0, m0, [(d0, d1)]
    return m0, m1, [(a, b) for a, b in ((d0, m0), (m1, d1)) if a < b]


def _histogram(session: Session, d0: date, d1: date, measure: str,
               group_by: str | None) -> dict[str, dict[int, int]]:
    """Cases per duration bucket in [d0, d1), per group and TOTAL: the monthly histogram for the whole
    months, the cases of the days outside them."""
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    m0, m1, edges = _months(d0, d1)
    dims = ("total", group_by) if group_by else ("total",)
    if m0 < m1:
        h = KpiDurationHist
        for dim, value, b, n in session.execute(
                select(h.dim, h.value, h.bucket, func.sum(h.n)).where(
                    h.month >= m0, h.month < m1, h.measure == measure, h.dim.in_(dims))
                .group_by(h.dim, h.value, h.bucket)):
            out[TOTAL if dim == "total" else _label(value)][b] += int(n)
    k = CaseRollupKey
    bucket = getattr(k, f"{measure}_b")
    for a, b in edges:
        group_col = getattr(k, group_by) if group_by else literal(NONE_KEY)
        for value, bk, n in session.execute(
                select(group_col, bucket, func.count()).where(k.day >= a, k.day < b, bucket.is_not(None))
                .group_by(group_col, bucket)):
            out[TOTAL][bk] += int(n)
            if group_by:
                out[_label(value)][bk] += int(n)
    return out


def _locate(histogram: dict[int, int]) -> tuple[int, int] | None:
    """(bucket, rank within it, 1-based) of the nearest-rank 90th percentile."""
    rank = _rank(sum(histogram.values()))
    for b in sorted(histogram):
        if rank <= histogram[b]:
            return b, rank
        rank -= histogram[b]
    return None


def _p90(session: Session, d0: date, d1: date, measure: str, counted: dict[str, int],
         group_by: str | None) -> dict[str, float | None]:
    """The nearest-rank 90th percentile of the time to accept / resolve per group and TOTAL: its bucket
    from the histogram, then its value among that bucket's cases of the period only."""
    out: dict[str, float | None] = dict.fromkeys(counted)
    located = {key: at for key, h in _histogram(session, d0, d1, measure, group_by).items()
               if counted.get(key) and (at := _locate(h)) is not None}
    k = CaseRollupKey
    column, bucket = getattr(k, f"{measure}_s"), getattr(k, f"{measure}_b")
    period = (k.day >= d0, k.day < d1)
    if TOTAL in located:
        b, rank = located.pop(TOTAL)
        out[TOTAL] = session.scalar(select(column).where(bucket == b, *period).order_by(column)
                                    .offset(rank - 1).limit(1))
    if group_by is None or not located:
        return out
    group_col = getattr(k, group_by)
    stored = {(NONE_KEY if key == NONE else key): at for key, at in located.items()}
    ranked = select(group_col.label("g"), column.label("v"),
                    func.row_number().over(partition_by=group_col, order_by=column).label("rn")
                    ).where(*period, group_col.in_(stored), bucket.in_({b for b, _ in stored.values()}),
                            bucket == case({g: b for g, (b, _) in stored.items()}, value=group_col)).subquery()
    rows = session.execute(select(ranked.c.g, ranked.c.v).where(
        ranked.c.rn == case({g: r for g, (_, r) in stored.items()}, value=ranked.c.g)))
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
    p90 = {m: _p90(session, d0, d1, m, {k: s[n] for k, s in groups.items()}, group_by)
           for m, n in (("accept", "accepted"), ("resolve", "resolved"))}

    def kpis(key: str) -> dict[str, Any]:
        overdue, resolve_late = late.get(key, (0, 0))
        return kpis_from_sums(groups[key], overdue, resolve_late, p90["accept"].get(key), p90["resolve"].get(key))

    out: dict[str, Any] = {"total": kpis(TOTAL)}
    if group_by is not None:
        out["groups"] = [{group_by: key, **kpis(key)} for key in sorted(groups) if key != TOTAL]
    out["disposal_by_unit"] = {unit: disposal_from_sums(s, "unit_disposal_") for unit, s in sorted(units.items())}
    return out
