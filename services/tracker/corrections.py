"""Learning from corrections (issue 15): every reclassification or re-route by a person is a labelled example.

``correction`` builds the row for an action's :class:`~services.tracker.actions.Effect` (so it is
written in the action's own transaction); ``rates`` is the command centre's correction rate per
day x category (pure); ``load_rates`` and ``labelled_examples`` read the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from services.tracker.figures_sql import local_day
from services.tracker.models import Case, CorrectionRow

NONE, UNKNOWN = "(none)", "(unknown)"  # no router category; no model version recorded


def classifier_text(case: Case) -> str:
    """The text the router classified (services/core/dispatch.Complaint.full_text: complaint + address)."""
    return case.text if not case.address else f"{case.text}\n{case.address}"


def correction(case: Case, actor: str, now: datetime, action: str, *, unit: str,
               category: str | None) -> list[CorrectionRow]:
    """The labelled example of an action that sets ``unit`` (and maybe ``category``) on ``case``
    (as loaded, before the action); none when nothing changes.  ``event_id`` is set by the action."""
    new_category = category or case.category
    if new_category is None or (new_category == case.category and unit == case.unit):
        return []
    label = (case.location or {}).get("label")
    return [CorrectionRow(
        event_id="", complaint_id=case.complaint_id, ticket_no=case.ticket_no, action=action, actor=actor, at=now,
        text=classifier_text(case), location_label=label if isinstance(label, str) else None,
        territory=case.territory, old_category=case.category, old_unit=case.unit, old_urgent=bool(case.urgent),
        new_category=new_category, new_unit=unit, new_urgent=bool(case.urgent), model_version=case.model_version,
        routed_category=case.routed_category, routed_at=case.routed_at)]


@dataclass(frozen=True)
class Routed:
    complaint_id: str
    routed_at: datetime
    category: str | None        # the router's category
    model_version: str | None


@dataclass(frozen=True)
class Corrected:
    complaint_id: str
    new_category: str


Cell = dict[str, int]
CellKey = tuple[date, str, str]  # routing day (city time), router category, model version
_MEASURES = ("routed", "corrected", "reclassified")


def rates(routed: list[Routed], corrected: list[Corrected], tz: ZoneInfo) -> dict[str, Any]:
    """Per routing day (city time) x router category: cases routed, corrected (reassigned or decided
    by a person at least once) and reclassified (given another category); and the same per category
    and per model version.  A case counts on the day it was routed.  (``load_rates`` counts the same
    in SQL.)"""
    fixed: dict[str, set[str]] = defaultdict(set)
    for c in corrected:
        fixed[c.complaint_id].add(c.new_category)
    cells: dict[CellKey, Cell] = defaultdict(lambda: dict.fromkeys(_MEASURES, 0))
    for r in routed:
        news = fixed.get(r.complaint_id, set())
        cell = cells[(r.routed_at.astimezone(tz).date(), r.category or NONE, r.model_version or UNKNOWN)]
        cell["routed"] += 1
        cell["corrected"] += int(bool(news))
        cell["reclassified"] += int(bool(news - {r.category}))
    return summary(cells)


def summary(cells: dict[CellKey, Cell]) -> dict[str, Any]:
    """The answer of the stats endpoint from the counts per day x category x model version."""
    def empty() -> Cell:
        return dict.fromkeys(_MEASURES, 0)

    by_day: dict[tuple[date, str], Cell] = defaultdict(empty)
    by_category: dict[str, Cell] = defaultdict(empty)
    by_version: dict[str, Cell] = defaultdict(empty)
    for (day, category, version), counts in cells.items():
        for target in (by_day[(day, category)], by_category[category], by_version[version]):
            for key in _MEASURES:
                target[key] += counts[key]

    def row(cell: Cell) -> dict[str, Any]:
        return {**cell, "rate": round(cell["corrected"] / cell["routed"], 4) if cell["routed"] else None}

    return {
        "days": [{"date": day.isoformat(), "category": cat, **row(cell)} for (day, cat), cell in sorted(by_day.items())],
        "categories": [{"category": cat, **row(cell)} for cat, cell in sorted(by_category.items())],
        "model_versions": [{"model_version": v, **row(cell)} for v, cell in sorted(by_version.items())],
        "total": row({k: sum(c[k] for c in by_category.values()) for k in _MEASURES}),
    }


def _spans(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, datetime, int]]:
    """[start, end) cut where the city's UTC offset changes (daylight saving): (from, to, offset in s)."""
    spans: list[tuple[datetime, datetime, int]] = []
    a, at = start, start
    offset = _offset(start, tz)
    while at < end:
        nxt = min(end, at + timedelta(hours=1))
        if (o := _offset(nxt, tz)) != offset and nxt < end:
            spans.append((a, nxt, offset))
            a, offset = nxt, o
        at = nxt
    spans.append((a, end, offset))
    return spans


def _offset(moment: datetime, tz: ZoneInfo) -> int:
    delta = moment.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def load_rates(session: Session, start: datetime, end: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """``rates`` over the cases routed in [start, end), counted by the database (one grouped read per
    span of one UTC offset, by the routed_at index): nothing of the period is read into Python but
    its counts per day x category x model version."""
    c = CorrectionRow
    in_period = (c.complaint_id == Case.complaint_id, c.routed_at >= start, c.routed_at < end)
    corrected = exists().where(*in_period)
    reclassified = exists().where(*in_period, or_(Case.routed_category.is_(None),
                                                  c.new_category != Case.routed_category))

    def flag(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    cells: dict[CellKey, Cell] = {}
    for a, b, offset in _spans(start, end, tz):
        day = local_day(Case.routed_at, literal(offset, Integer()))
        rows = session.execute(
            select(day, Case.routed_category, Case.model_version, func.count(), flag(corrected), flag(reclassified))
            .where(Case.routed_at >= a, Case.routed_at < b)
            .group_by(day, Case.routed_category, Case.model_version))
        for n, category, version, *counts in rows:
            key = (date.fromisoformat(n), category or NONE, version or UNKNOWN)
            cell = cells.setdefault(key, dict.fromkeys(_MEASURES, 0))
            for name, value in zip(_MEASURES, counts, strict=True):
                cell[name] += int(value or 0)
    return summary(cells)


def view(row: CorrectionRow) -> dict[str, Any]:
    return {
        "id": row.id, "ticket_no": row.ticket_no, "action": row.action, "actor": row.actor, "at": row.at.isoformat(),
        "text": row.text, "model_version": row.model_version, "event_id": row.event_id,
        "old": {"category": row.old_category, "unit": row.old_unit, "urgent": row.old_urgent},
        "new": {"category": row.new_category, "unit": row.new_unit, "urgent": row.new_urgent},
        "routed_category": row.routed_category, "routed_at": row.routed_at.isoformat() if row.routed_at else None,
    }


def latest_per_case(session: Session) -> list[CorrectionRow]:
    """The last correction of every corrected case (its final label), oldest case first."""
    last: dict[str, CorrectionRow] = {}
    for row in session.scalars(select(CorrectionRow).order_by(CorrectionRow.id)):
        last[row.complaint_id] = row
    return sorted(last.values(), key=lambda r: r.id)
