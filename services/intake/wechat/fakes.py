"""An in-memory :class:`IntakePort` for tests and local development (not for production)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from services.core.events import Attachment, GeoPoint
from services.intake.wechat.ports import IntakePort, Ticket, TicketStatus


@dataclass
class FakeComplaint:
    ticket_no: str
    complaint_id: str
    openid: str
    text: str
    location: GeoPoint | None
    attachments: list[Attachment]
    needs_operator: bool
    dedupe_key: str
    supplements: list[dict[str, object]] = field(default_factory=list)
    status: str = "已受理"
    category: str | None = None
    awaiting_rating: bool = False
    rating: str | None = None


class InMemoryIntakePort:
    """Records every call; idempotent per dedupe_key; optional artificial delay."""

    def __init__(self, *, delay_s: float = 0.0, place_words: tuple[str, ...] = ("路", "镇", "街道", "小区")) -> None:
        self.delay_s = delay_s
        self.place_words = place_words
        self.complaints: dict[str, FakeComplaint] = {}
        self.by_dedupe: dict[str, str] = {}
        self.create_calls = 0
        self.supplement_calls = 0
        self._seq = itertools.count(1)

    async def create_complaint(
        self,
        *,
        openid: str,
        text: str,
        location: GeoPoint | None,
        attachments: list[Attachment],
        needs_operator: bool,
        dedupe_key: str,
    ) -> Ticket:
        self.create_calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if dedupe_key in self.by_dedupe:
            c = self.complaints[self.by_dedupe[dedupe_key]]
        else:
            n = next(self._seq)
            c = FakeComplaint(
                f"RG{n:08d}", f"c-{n}", openid, text, location, list(attachments), needs_operator, dedupe_key
            )
            self.complaints[c.ticket_no] = c
            self.by_dedupe[dedupe_key] = c.ticket_no
        place = c.location is not None or any(w in c.text for w in self.place_words)
        return Ticket(c.ticket_no, c.complaint_id, place)

    async def supplement(
        self,
        *,
        ticket_no: str,
        openid: str,
        text: str | None,
        location: GeoPoint | None,
        attachments: list[Attachment],
    ) -> None:
        self.supplement_calls += 1
        c = self.complaints[ticket_no]
        if c.openid != openid:
            raise PermissionError("not the citizen's complaint")
        c.supplements.append({"text": text, "location": location, "attachments": list(attachments)})
        if location is not None:
            c.location = location
        c.attachments.extend(attachments)

    async def recent_tickets(self, *, openid: str, limit: int = 5) -> list[TicketStatus]:
        mine = [c for c in self.complaints.values() if c.openid == openid]
        mine.reverse()
        return [TicketStatus(c.ticket_no, c.status, c.category) for c in mine[:limit]]

    async def record_rating(self, *, openid: str, ticket_no: str | None, rating: str) -> str | None:
        for c in reversed(list(self.complaints.values())):
            if c.openid == openid and c.awaiting_rating and (ticket_no is None or c.ticket_no == ticket_no):
                c.rating, c.awaiting_rating = rating, False
                return c.ticket_no
        return None


def _conforms(port: InMemoryIntakePort) -> IntakePort:  # static check: the fake satisfies the port
    return port


class FakeClock:
    """A settable clock (seconds since the epoch) to inject as ``clock=``."""

    def __init__(self, now: float = 1_714_036_504.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
