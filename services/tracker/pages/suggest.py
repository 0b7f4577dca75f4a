"""POST /api/v1/suggest: what the operator console shows while the call is typed in.

The same domain core as the router (category top two with scores and evidence, the
place, the unit, the urgent flag) plus possible duplicates: open cases of any category at the
same place within the city's window whose text is similar (services/tracker/pages/duplicates.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from services.core.dispatch import Complaint, where
from services.core.engine import Decision, Engine
from services.core.events import MAX_TEXT_CHARS
from services.intake.hotline import check_overrides
from services.tracker.auth import Principal, Role, require
from services.tracker.pages.duplicates import NOT_OPEN, find_duplicates
from services.tracker.pages.responses import Suggestion
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1", tags=["pages"])

__all__ = ["NOT_OPEN", "router"]


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SuggestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    address: str | None = Field(default=None, max_length=500)
    category_override: str | None = Field(default=None, pattern=r"^[A-Z_]{2,40}$")
    territory_override: str | None = Field(default=None, pattern=r"^\d{6,12}$")
    unit_override: str | None = Field(default=None, pattern=r"^[A-Z0-9_]{2,40}$")
    location: Point | None = Field(default=None, description="来电位置坐标（如有），用于按距离查找重复件")


def decide(engine: Engine, body: SuggestIn, now: datetime) -> Decision:
    """The router's decision for this call (the core's one routing function, the same inputs)."""
    return where(engine, Complaint(text=body.text, received_at=now, address=body.address,
                                   lat=body.location.lat if body.location else None,
                                   lon=body.location.lon if body.location else None,
                                   category=body.category_override, territory=body.territory_override,
                                   unit=body.unit_override))


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
        "duplicates_window_hours": city.duplicates.window_hours,
    }


@router.post("/suggest", summary="接线时的类别、地点、单位与重复件建议")
def suggest(
    request: Request,
    body: SuggestIn,
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND))],
    session: Annotated[Session, Depends(db)],
) -> Suggestion:
    engine: Engine = request.app.state.core
    check_overrides(engine.city, body)
    now = datetime.now(UTC)
    d = decide(engine, body, now)
    point = (body.location.lat, body.location.lon) if body.location else None
    duplicates = find_duplicates(session, engine, d, text=body.text, address=body.address, point=point, now=now)
    return Suggestion.model_validate(suggestion(engine, d, duplicates))
