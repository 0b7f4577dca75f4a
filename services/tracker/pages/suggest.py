"""POST /api/v1/suggest: what the operator console shows while the call is typed in.

The same domain core as the router (category top two with scores and evidence, the
place, the unit, the urgent flag) plus possible duplicates: open cases of the same
category in the same village (or town) from the last days whose text is similar.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.core.engine import Decision, Engine
from services.core.events import MAX_TEXT_CHARS
from services.intake.hotline import check_overrides
from services.tracker.auth import Principal, Role, require
from services.tracker.models import Case
from services.tracker.pages.similarity import bigrams, excerpt, jaccard
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1", tags=["pages"])

NOT_OPEN = ("closed", "merged", "forwarded", "answered")
DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_MIN_SIMILARITY = 0.2   # bigram Jaccard, within the same category and place
DUPLICATE_NO_PLACE_SIMILARITY = 0.5  # when no place is known, the text alone must be close
MAX_CANDIDATES = 300
MAX_DUPLICATES = 5


class SuggestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    address: str | None = Field(default=None, max_length=500)
    category_override: str | None = Field(default=None, pattern=r"^[A-Z_]{2,40}$")
    territory_override: str | None = Field(default=None, pattern=r"^\d{6,12}$")
    unit_override: str | None = Field(default=None, pattern=r"^[A-Z0-9_]{2,40}$")


def decide(engine: Engine, body: SuggestIn, now: datetime) -> Decision:
    """The router's decision for this text, with the operator's overrides applied the same way."""
    text = body.text if not body.address else f"{body.text}\n{body.address}"
    decision = engine.decide(text, now, category_override=body.category_override,
                             territory_override=body.territory_override)
    if body.unit_override:
        decision = replace(decision, unit=body.unit_override, rule="operator override")
    return decision


def find_duplicates(session: Session, *, category: str, territory: str | None, village: str | None,
                    text: str, now: datetime) -> list[dict[str, Any]]:
    """Open cases of the same category and place in the window, most similar first."""
    q = select(Case.ticket_no, Case.text, Case.status, Case.received_at, Case.village, Case.territory_name,
               Case.unit).where(Case.category == category, Case.status.not_in(NOT_OPEN),
                                Case.received_at >= now - DUPLICATE_WINDOW)
    threshold = DUPLICATE_MIN_SIMILARITY
    if village:
        q = q.where(or_(Case.village == village, and_(Case.territory == territory, Case.village.is_(None))))
    elif territory:
        q = q.where(Case.territory == territory)
    else:
        threshold = DUPLICATE_NO_PLACE_SIMILARITY
    rows = session.execute(q.order_by(Case.received_at.desc()).limit(MAX_CANDIDATES)).all()
    mine = bigrams(text)
    found = []
    for ticket_no, other, status, received_at, v, town, unit in rows:
        score = jaccard(mine, bigrams(other))
        if score >= threshold:
            found.append({"ticket_no": ticket_no, "text": excerpt(other), "similarity": round(score, 3),
                          "status": status, "received_at": received_at.isoformat(), "village": v,
                          "territory_name": town, "unit": unit})
    found.sort(key=lambda d: (-d["similarity"], d["ticket_no"]))
    return found[:MAX_DUPLICATES]


def suggestion(engine: Engine, d: Decision, duplicates: list[dict[str, Any]]) -> dict[str, Any]:
    city = engine.city
    unit = city.units.get(d.unit)
    return {
        "category": {"code": d.category, "name": city.categories[d.category].name},
        "candidates": [{"code": c, "name": city.categories[c].name, "score": s} for c, s in d.candidates[:2]],
        # a second city matter the text raises: shown, not routed
        "secondary": ({"code": d.secondary, "name": city.categories[d.secondary].name} if d.secondary else None),
        "evidence": [{"term": t, "weight": round(w, 3), "category": c} for t, w, c in d.evidence[:8]],
        "place": {"territory": d.territory, "territory_name": d.territory_name, "village": d.village,
                  "confidence": d.place_confidence, "evidence": d.place_evidence},
        "unit": {"id": d.unit, "name": unit.name if unit else d.unit, "rule": d.rule},
        "urgent": d.urgent, "urgent_evidence": d.urgent_evidence,
        "review": d.review, "review_reasons": d.review_reasons,
        "accept_by": d.accept_by.isoformat(), "resolve_by": d.resolve_by.isoformat(),
        "duplicates": duplicates,
    }


@router.post("/suggest", summary="接线时的类别、地点、单位与重复件建议")
def suggest(
    request: Request,
    body: SuggestIn,
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND))],
    session: Annotated[Session, Depends(db)],
) -> dict[str, Any]:
    engine: Engine = request.app.state.core
    check_overrides(engine.city, body)
    now = datetime.now(UTC)
    d = decide(engine, body, now)
    duplicates = find_duplicates(session, category=d.category, territory=d.territory, village=d.village,
                                 text=body.text, now=now)
    return suggestion(engine, d, duplicates)
