"""What the router does with one record, as plain functions (no Faust here).

``route_record`` parses a ``ComplaintReceived`` and asks the domain core where it goes
(``services.core.dispatch.where``, the one routing function); a record that cannot be
parsed raises ``InvalidEvent``, which the worker turns into a ``DeadLetter`` on
``complaints.dlq``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import ValidationError

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import ComplaintReceived, ComplaintRouted, DeadLetter

__all__ = ["InvalidEvent", "dead_letter", "decide", "parse_received", "route_record", "routed_event"]


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
