"""Learning from corrections (issue 15): every reclassification or re-route by a person is a labelled example.

``correction`` builds the row for an action's :class:`~services.tracker.actions.Effect` (so it is
written in the action's own transaction); ``rates`` is the command centre's correction rate per
day x category (pure); ``load_rates`` and ``labelled_examples`` read the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tracker.models import Case, CorrectionRow


def classifier_text(case: Case) -> str:
    """The text the router classified (services/router/handler.decide: complaint + address)."""
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


def rates(routed: list[Routed], corrected: list[Corrected], tz: ZoneInfo) -> dict[str, Any]:
    """Per routing day (city time) x router category: cases routed, corrected (reassigned or decided
    by a person at least once) and reclassified (given another category); and the same per category
    and per model version.  A case counts on the day it was routed."""
    fixed: dict[str, set[str]] = defaultdict(set)
    for c in corrected:
        fixed[c.complaint_id].add(c.new_category)
    Cell = dict[str, int]

    def empty() -> Cell:
        return {"routed": 0, "corrected": 0, "reclassified": 0}

    cells: dict[tuple[date, str], Cell] = defaultdict(empty)
    by_category: dict[str, Cell] = defaultdict(empty)
    by_version: dict[str, Cell] = defaultdict(empty)
    for r in routed:
        category = r.category or "(none)"
        news = fixed.get(r.complaint_id, set())
        counts = {"routed": 1, "corrected": int(bool(news)), "reclassified": int(bool(news - {r.category}))}
        for cell in (cells[(r.routed_at.astimezone(tz).date(), category)], by_category[category],
                     by_version[r.model_version or "(unknown)"]):
            for key, n in counts.items():
                cell[key] += n

    def row(cell: Cell) -> dict[str, Any]:
        return {**cell, "rate": round(cell["corrected"] / cell["routed"], 4) if cell["routed"] else None}

    return {
        "days": [{"date": day.isoformat(), "category": cat, **row(cell)} for (day, cat), cell in sorted(cells.items())],
        "categories": [{"category": cat, **row(cell)} for cat, cell in sorted(by_category.items())],
        "model_versions": [{"model_version": v, **row(cell)} for v, cell in sorted(by_version.items())],
        "total": row({k: sum(c[k] for c in by_category.values()) for k in ("routed", "corrected", "reclassified")}),
    }


def load_rates(session: Session, start: datetime, end: datetime, tz: ZoneInfo) -> dict[str, Any]:
    routed = [Routed(*row) for row in session.execute(
        select(Case.complaint_id, Case.routed_at, Case.routed_category, Case.model_version)
        .where(Case.routed_at >= start, Case.routed_at < end))]
    corrected = [Corrected(*row) for row in session.execute(
        select(CorrectionRow.complaint_id, CorrectionRow.new_category)
        .where(CorrectionRow.routed_at >= start, CorrectionRow.routed_at < end))]
    return rates(routed, corrected, tz)


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
