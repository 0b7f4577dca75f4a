"""KPIs of the resolution side (definitions: docs/kpis.md; the deadline figures: services/core/figures.py).

``compute(facts, now, group_by)`` is pure: the same figures for the same cases.
``load_facts`` reads the cases received in [from, to) from the database; ``live_figures`` counts
the open cases now, whatever their reception day (the overdue / near-due tiles), with the very
conditions the case lists filter by (``services/tracker/figures_sql.py``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.core import figures as fig
from services.core.workflow import values
from services.tracker.figures_sql import near_due_clause, open_clause, overdue_clause
from services.tracker.models import Case

GROUPS = ("unit", "category", "territory")
DISPOSAL_MODES = ("服务", "管理", "执法")
SATISFIED = ("满意", "基本满意")
NOT_HANDLED = tuple(values(fig.NOT_HANDLED))  # never due to be accepted/resolved by a unit


@dataclass(frozen=True)
class CaseFacts:
    status: str
    unit: str | None
    category: str | None
    territory: str | None
    received_at: datetime
    routed_at: datetime | None
    accept_by: datetime | None
    resolve_by: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    reopens: int
    extended: bool
    disposal_mode: str | None
    rating: str | None

    @property
    def clock(self) -> fig.Clock:
        return fig.Clock(self.status, self.received_at, self.accept_by, self.resolve_by, self.accepted_at)


def load_facts(session: Session, start: datetime, end: datetime) -> list[CaseFacts]:
    cols = (Case.status, Case.unit, Case.category, Case.territory, Case.received_at, Case.routed_at,
            Case.accept_by, Case.resolve_by, Case.accepted_at, Case.resolved_at, Case.reopens, Case.extended,
            Case.disposal_mode, Case.rating)
    rows = session.execute(select(*cols).where(Case.received_at >= start, Case.received_at < end))
    return [CaseFacts(*row) for row in rows]


_rate = fig.rate


def _p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def disposal(resolved: Iterable[CaseFacts]) -> dict[str, dict[str, Any]]:
    """Count and share of 服务 / 管理 / 执法 among resolved cases with a disposal mode."""
    modes = Counter(f.disposal_mode for f in resolved if f.resolved_at is not None and f.disposal_mode in DISPOSAL_MODES)
    with_mode = sum(modes.values())
    return {m: {"count": modes[m], "share": _rate(modes[m], with_mode)} for m in DISPOSAL_MODES}


def kpis(facts: Iterable[CaseFacts], now: datetime) -> dict[str, Any]:
    rows = list(facts)
    dispatched = [f for f in rows if f.routed_at is not None]
    handled = [f for f in dispatched if fig.is_handled(f.status, routed=True)]
    accepted = [f for f in handled if f.accepted_at is not None]
    accepted_on_time = [f for f in accepted if fig.on_time(f.accepted_at, f.accept_by)]
    resolved = [f for f in handled if f.resolved_at is not None]
    resolved_on_time = [f for f in resolved if fig.on_time(f.resolved_at, f.resolve_by)]
    overdue_open = [f for f in rows if fig.is_overdue(f.clock, now)]
    resolve_overdue = [f for f in handled if fig.resolve_overdue(f.clock, now)]
    ever_resolved = [f for f in handled if f.resolved_at is not None or f.reopens > 0]
    reworked = [f for f in handled if f.reopens > 0]
    extended = [f for f in handled if f.extended]
    rated = Counter(f.rating for f in rows if f.rating)
    satisfied = sum(rated[r] for r in SATISFIED)
    to_accept = [(f.accepted_at - f.received_at).total_seconds() for f in accepted]  # type: ignore[operator]
    to_resolve = [(f.resolved_at - f.received_at).total_seconds() for f in resolved]  # type: ignore[operator]
    return {
        "received": len(rows),
        "dispatched": len(dispatched),
        "handled": len(handled),
        "accepted": len(accepted),
        "accepted_on_time": len(accepted_on_time),
        "response_rate": fig.response_rate(len(accepted_on_time), len(handled)),
        "resolved": len(resolved),
        "resolved_on_time": len(resolved_on_time),
        "overdue_open": len(overdue_open),
        "resolve_overdue": len(resolve_overdue),
        "on_time_resolution_rate": fig.on_time_resolution_rate(len(resolved_on_time), len(resolved),
                                                               len(resolve_overdue)),
        "reworked": len(reworked),
        "rework_rate": _rate(len(reworked), len(ever_resolved)),
        "extended": len(extended),
        "extension_rate": _rate(len(extended), len(handled)),
        "rated": sum(rated.values()),
        "ratings": {r: rated[r] for r in ("满意", "基本满意", "不满意")},
        "satisfaction_rate": _rate(satisfied, sum(rated.values())),
        "time_to_accept_s": {"avg": _mean(to_accept), "p90": _p90(to_accept)},
        "time_to_resolve_s": {"avg": _mean(to_resolve), "p90": _p90(to_resolve)},
        "disposal": disposal(resolved),
    }


def live_figures(session: Session, now: datetime, group_by: str | None) -> dict[str, Any]:
    """Open cases now, and how many are overdue / near due, in total and per group (the tiles)."""
    def counts(where: Any) -> Any:
        return func.coalesce(func.sum(case((where, 1), else_=0)), 0)

    figures = (func.count(), counts(overdue_clause(now)), counts(near_due_clause(now)))
    names = ("open", "overdue", "near_due")
    total = session.execute(select(*figures).where(open_clause())).one()
    out: dict[str, Any] = {"as_of": now.isoformat(), **{n: int(v) for n, v in zip(names, total, strict=True)}}
    if group_by is not None:
        column = getattr(Case, group_by)
        rows = session.execute(select(column, *figures).where(open_clause()).group_by(column)).all()
        out["groups"] = {key or "(none)": {n: int(v) for n, v in zip(names, values, strict=True)}
                         for key, *values in sorted(rows, key=lambda r: r[0] or "")}
    return out


def compute(facts: list[CaseFacts], now: datetime, group_by: str | None) -> dict[str, Any]:
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    out: dict[str, Any] = {"total": kpis(facts, now)}
    if group_by is not None:
        groups: dict[str, list[CaseFacts]] = defaultdict(list)
        for f in facts:
            groups[getattr(f, group_by) or "(none)"].append(f)
        out["groups"] = [{group_by: key, **kpis(rows, now)} for key, rows in sorted(groups.items())]
    by_unit: dict[str, list[CaseFacts]] = defaultdict(list)
    for f in facts:
        by_unit[f.unit or "(none)"].append(f)
    out["disposal_by_unit"] = {unit: disposal(f for f in rows if f.status not in NOT_HANDLED)
                               for unit, rows in sorted(by_unit.items())}
    return out
