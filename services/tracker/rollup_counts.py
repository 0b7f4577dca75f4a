"""What one case adds to the KPI rollup, and the KPIs from the rollup's sums (pure; no I/O).

The same definitions as ``stats.kpis`` (docs/kpis.md, services/core/figures.py), split in two:
``contribution`` is every figure that depends on the case alone, summed per key by the tracker;
``kpis_from_sums`` rebuilds ``stats.kpis``'s answer from those sums and the three figures that
depend on the moment or on the whole distribution (open cases past a deadline now, the 90th
percentiles), which the reader computes in SQL.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from services.core import figures as fig
from services.tracker.rollup_models import MEASURES, NONE_KEY
from services.tracker.stats import DISPOSAL_MODES, NOT_HANDLED, SATISFIED, CaseFacts

_MODE = dict(zip(DISPOSAL_MODES, ("service", "management", "enforcement"), strict=True))
_RATING = {"满意": "rated_satisfied", "基本满意": "rated_basically", "不满意": "rated_unsatisfied"}
US = timedelta(microseconds=1)
# duration buckets: below 1 s, then 5 % wide up to about 30 years
BOUNDS = tuple(1.05 ** i for i in range(400))
HIST_DIMS = ("total", "unit", "category", "territory")
DURATIONS = ("accept", "resolve")


def bucket_of(seconds: float | None) -> int | None:
    return None if seconds is None else bisect_right(BOUNDS, seconds)


def month_of(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True)
class Contribution:
    key: tuple[date, str, str, str]  # city day of reception, unit, category, territory
    counts: dict[str, int]           # the non-zero measures
    accept_s: float | None
    resolve_s: float | None

    @property
    def accept_b(self) -> int | None:
        return bucket_of(self.accept_s)

    @property
    def resolve_b(self) -> int | None:
        return bucket_of(self.resolve_s)


Cell = tuple[date, str, str, str, int]  # month, dim, value, measure, bucket


def hist_cells(key: tuple[date, str, str, str], accept_b: int | None, resolve_b: int | None) -> list[Cell]:
    """The kpi_duration_hist cells a case with this key and these buckets counts in."""
    day, *values = key
    month = month_of(day)
    return [(month, dim, value, measure, b)
            for measure, b in zip(DURATIONS, (accept_b, resolve_b), strict=True) if b is not None
            for dim, value in zip(HIST_DIMS, ("", *values), strict=True)]


def day_of(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def contribution(f: CaseFacts, closed: bool, tz: tzinfo) -> Contribution:
    handled = fig.is_handled(f.status, routed=f.routed_at is not None)
    accepted = handled and f.accepted_at is not None
    resolved = handled and f.resolved_at is not None
    c: dict[str, int] = {
        "received": 1, "dispatched": int(f.routed_at is not None), "handled": int(handled),
        "accepted": int(accepted), "accepted_on_time": int(accepted and fig.on_time(f.accepted_at, f.accept_by)),
        "resolved": int(resolved), "resolved_on_time": int(resolved and fig.on_time(f.resolved_at, f.resolve_by)),
        "ever_resolved": int(handled and (f.resolved_at is not None or f.reopens > 0)),
        "reworked": int(handled and f.reopens > 0), "extended": int(handled and f.extended),
        "closed": int(closed), "reopens": f.reopens, "rated": int(bool(f.rating)),
    }
    if f.rating in _RATING:
        c[_RATING[f.rating]] = 1
    if f.disposal_mode in _MODE and f.resolved_at is not None:
        if resolved:
            c[f"disposal_{_MODE[f.disposal_mode]}"] = 1
        if f.status not in NOT_HANDLED:
            c[f"unit_disposal_{_MODE[f.disposal_mode]}"] = 1
    to_accept = f.accepted_at - f.received_at if accepted and f.accepted_at else None
    to_resolve = f.resolved_at - f.received_at if resolved and f.resolved_at else None
    if to_accept is not None:
        c["accept_us"] = to_accept // US
    if to_resolve is not None:
        c["resolve_us"] = to_resolve // US
    key = (day_of(f.received_at, tz), f.unit or NONE_KEY, f.category or NONE_KEY, f.territory or NONE_KEY)
    return Contribution(key, {k: v for k, v in c.items() if v},
                        to_accept.total_seconds() if to_accept is not None else None,
                        to_resolve.total_seconds() if to_resolve is not None else None)


def zero() -> dict[str, int]:
    return dict.fromkeys(MEASURES, 0)


def _mean_us(total_us: int, n: int) -> float | None:
    return round(total_us / 1_000_000 / n, 1) if n else None


def disposal_from_sums(s: dict[str, int], prefix: str) -> dict[str, dict[str, Any]]:
    counts = {m: s[f"{prefix}{_MODE[m]}"] for m in DISPOSAL_MODES}
    with_mode = sum(counts.values())
    return {m: {"count": counts[m], "share": fig.rate(counts[m], with_mode)} for m in DISPOSAL_MODES}


def kpis_from_sums(s: dict[str, int], overdue_open: int, resolve_overdue: int,
                   p90_accept: float | None, p90_resolve: float | None) -> dict[str, Any]:
    """``stats.kpis`` from the sums of ``contribution`` over the period's cases."""
    satisfied = sum(s[_RATING[r]] for r in SATISFIED)
    return {
        "received": s["received"],
        "dispatched": s["dispatched"],
        "handled": s["handled"],
        "accepted": s["accepted"],
        "accepted_on_time": s["accepted_on_time"],
        "response_rate": fig.response_rate(s["accepted_on_time"], s["handled"]),
        "resolved": s["resolved"],
        "resolved_on_time": s["resolved_on_time"],
        "overdue_open": overdue_open,
        "resolve_overdue": resolve_overdue,
        "on_time_resolution_rate": fig.on_time_resolution_rate(s["resolved_on_time"], s["resolved"], resolve_overdue),
        "reworked": s["reworked"],
        "rework_rate": fig.rate(s["reworked"], s["ever_resolved"]),
        "extended": s["extended"],
        "extension_rate": fig.rate(s["extended"], s["handled"]),
        "rated": s["rated"],
        "ratings": {r: s[_RATING[r]] for r in ("满意", "基本满意", "不满意")},
        "satisfaction_rate": fig.rate(satisfied, s["rated"]),
        "time_to_accept_s": {"avg": _mean_us(s["accept_us"], s["accepted"]), "p90": p90_accept},
        "time_to_resolve_s": {"avg": _mean_us(s["resolve_us"], s["resolved"]), "p90": p90_resolve},
        "disposal": disposal_from_sums(s, "disposal_"),
    }
