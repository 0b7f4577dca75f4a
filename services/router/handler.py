"""What the router does with one record, as plain functions (no Faust here).

``route_record`` parses a ``ComplaintReceived`` and asks the domain core for a
decision; a record that cannot be parsed raises ``InvalidEvent``, which the
worker turns into a ``DeadLetter`` on ``complaints.dlq``.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import ValidationError

from services.core.engine import Decision, Engine
from services.core.events import CategoryScore, ComplaintReceived, ComplaintRouted, DeadLetter, Evidence


class InvalidEvent(Exception):
    """A record that is not a valid event: goes to the dead-letter topic with this reason."""

    def __init__(self, reason: str, error_type: str = "validation") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


def parse_received(raw: bytes | str | None) -> ComplaintReceived:
    if raw is None:
        raise InvalidEvent("empty record (no value)", "empty")
    try:
        return ComplaintReceived.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        raise InvalidEvent(f"{where}: {first.get('msg')} ({exc.error_count()} error(s))") from exc
    except ValueError as exc:  # not JSON / not UTF-8
        raise InvalidEvent(f"not a JSON event: {exc}", "decode") from exc


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
        resolve_by=decision.resolve_by, router=router, received_at=received.received_at, override=requested_overrides(received),
        model_version=model_version, secondary_category=decision.secondary,
    )


def requested_overrides(received: ComplaintReceived) -> dict[str, str] | None:
    """What the operator set instead of the machine's choice (recorded as training data)."""
    given = {"category": received.category_override, "territory": received.territory_override,
             "unit": received.unit_override}
    return {name: value for name, value in given.items() if value is not None} or None


def overrides(engine: Engine, received: ComplaintReceived) -> dict[str, str]:
    """The operator's overrides that name a known category / territory / unit (unknown ones are ignored)."""
    city = engine.city
    known: dict[str, tuple[str | None, Collection[str]]] = {
        "category": (received.category_override, city.categories),
        "territory": (received.territory_override, city.territories),
        "unit": (received.unit_override, city.units)}
    return {name: value for name, (value, table) in known.items() if value is not None and value in table}


def decide(engine: Engine, received: ComplaintReceived) -> Decision:
    loc = received.location
    text = received.text if not received.address else f"{received.text}\n{received.address}"
    chosen = overrides(engine, received)
    decision = engine.decide(text, received.received_at, location_label=loc.label if loc else None,
                             lat=loc.lat if loc else None, lon=loc.lon if loc else None,
                             category_override=chosen.get("category"), territory_override=chosen.get("territory"))
    if "unit" in chosen:
        decision = replace(decision, unit=chosen["unit"], rule="operator override")
    return decision


def route_record(engine: Engine, raw: bytes | str | None, *, router: str = "stream") -> ComplaintRouted:
    received = parse_received(raw)
    return routed_event(received, decide(engine, received), router=router, model_version=engine.model.version)


def dead_letter(*, source_topic: str, partition: int | None, offset: int | None, key: bytes | None,
                raw: bytes | str | None, reason: str, error_type: str) -> DeadLetter:
    payload = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw or ""
    return DeadLetter(
        event_id=f"dlq-{uuid.uuid4()}", source_topic=source_topic, partition=partition, offset=offset,
        key=key.decode("utf-8", errors="replace") if key else None, payload=payload[:100_000],
        reason=reason, error_type=error_type, failed_at=datetime.now(UTC),
    )
