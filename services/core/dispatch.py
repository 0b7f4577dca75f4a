"""Where a complaint goes: the one routing function of the product (pure; no I/O).

The router (a new complaint), the reconciler (one the router missed), the operator's console
(the suggestion while a call is typed) and the tracker (a re-route after a squad's return, or
after the citizen added the place) all ask :func:`where` with a :class:`Complaint` and act on
the :class:`~services.core.engine.Decision` it returns, so a routing rule is changed once.
:func:`routed_event` turns a decision into the ``ComplaintRouted`` event the router publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.core.engine import Decision, Engine
from services.core.events import CategoryScore, ComplaintReceived, ComplaintRouted, Evidence

OPERATOR_RULE = "operator override"
SAME_UNIT_RULE = "returned: same unit again -> command centre"


@dataclass(frozen=True)
class Complaint:
    """What routing reads of a complaint; the overrides are an operator's choice."""

    text: str
    received_at: datetime                 # the deadlines run from here
    address: str | None = None
    location_label: str | None = None
    lat: float | None = None
    lon: float | None = None
    category: str | None = None           # operator's category instead of the classifier's
    territory: str | None = None          # operator's town instead of the locator's
    unit: str | None = None               # operator's unit instead of the rules'
    returned_by: str | None = None        # the unit that returned it: never routed there again

    @classmethod
    def of(cls, received: ComplaintReceived) -> Complaint:
        loc = received.location
        return cls(text=received.text, received_at=received.received_at, address=received.address,
                   location_label=loc.label if loc else None, lat=loc.lat if loc else None,
                   lon=loc.lon if loc else None, category=received.category_override,
                   territory=received.territory_override, unit=received.unit_override)

    @property
    def full_text(self) -> str:
        """The text the classifier and locator read: the complaint and, below it, the address."""
        return self.text if not self.address else f"{self.text}\n{self.address}"


def known_overrides(engine: Engine, c: Complaint) -> dict[str, str]:
    """The overrides that name a known category / territory / unit (unknown ones are ignored:
    the intake refuses them with a clear error; an old event on the stream must still route)."""
    city = engine.city
    given: dict[str, tuple[str | None, Collection[str]]] = {
        "category": (c.category, city.categories), "territory": (c.territory, city.territories),
        "unit": (c.unit, city.units)}
    return {name: value for name, (value, table) in given.items() if value is not None and value in table}


def where(engine: Engine, c: Complaint) -> Decision:
    """The decision for this complaint: category, place, urgency, unit, rule and deadlines."""
    chosen = known_overrides(engine, c)
    d = engine.decide(c.full_text, c.received_at, location_label=c.location_label, lat=c.lat, lon=c.lon,
                      category_override=chosen.get("category"), territory_override=chosen.get("territory"))
    if "unit" in chosen:
        return replace(d, unit=chosen["unit"], rule=OPERATOR_RULE)
    if c.returned_by is not None and d.unit == c.returned_by:
        return replace(d, unit=engine.city.command_centre, rule=SAME_UNIT_RULE)
    return d


def requested_overrides(received: ComplaintReceived) -> dict[str, str] | None:
    """What the operator set instead of the machine's choice (recorded as training data)."""
    given = {"category": received.category_override, "territory": received.territory_override,
             "unit": received.unit_override}
    return {name: value for name, value in given.items() if value is not None} or None


def routed_event(received: ComplaintReceived, decision: Decision, *, router: str,
                 now: datetime | None = None, model_version: str | None = None) -> ComplaintRouted:
    return ComplaintRouted(
        event_id=f"route-{received.complaint_id}-{uuid.uuid4().hex[:8]}",
        complaint_id=received.complaint_id, ticket_no=received.ticket_no,
        routed_at=now or datetime.now(UTC), category=decision.category,
        category_candidates=[CategoryScore(code=c, score=round(s, 4)) for c, s in decision.candidates],
        evidence=[Evidence(term=t, weight=round(w, 4), category=c) for t, w, c in decision.evidence],
        urgent=decision.urgent, urgent_evidence=list(decision.urgent_evidence),
        territory=decision.territory, territory_name=decision.territory_name, village=decision.village,
        place_confidence=decision.place_confidence, place_evidence=list(decision.place_evidence),
        unit=decision.unit, rule=decision.rule, review=decision.review,
        review_reasons=list(decision.review_reasons), accept_by=decision.accept_by,
        resolve_by=decision.resolve_by, router=router, received_at=received.received_at,
        override=requested_overrides(received), model_version=model_version,
        secondary_category=decision.secondary,
    )


def decide(engine: Engine, received: ComplaintReceived) -> Decision:
    """The decision for a received complaint (the router's and the reconciler's call)."""
    return where(engine, Complaint.of(received))
