"""The port the WeChat conversation needs from the intake service (implemented by the lead)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from services.core.events import Attachment, GeoPoint

__all__ = ["Attachment", "GeoPoint", "IntakePort", "MessageConflict", "Ticket", "TicketStatus"]


class MessageConflict(Exception):
    """The dedupe key (MsgId) was used before for a message with other content (answered 409)."""

    def __init__(self, dedupe_key: str) -> None:
        super().__init__(dedupe_key)
        self.dedupe_key = dedupe_key


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket_no: str
    complaint_id: str
    place_found: bool
    status_url: str | None = None  # the citizen page of the ticket, when the city has a public address


@dataclass(frozen=True, slots=True)
class TicketStatus:
    ticket_no: str
    status: str  # Chinese label, e.g. 已受理 / 处理中 / 已办结
    category: str | None = None  # category name, if routed
    status_url: str | None = None  # the citizen page of the ticket, when the city has a public address


@runtime_checkable
class IntakePort(Protocol):
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
        """Store the complaint durably and give it a ticket number.

        Must return quickly (the implementation bounds publishing with a tight
        timeout); must be idempotent per ``dedupe_key``.
        """
        ...

    async def supplement(
        self,
        *,
        ticket_no: str,
        openid: str,
        text: str | None,
        location: GeoPoint | None,
        attachments: list[Attachment],
    ) -> None:
        """Add place / coordinates / photos / text to an existing complaint."""
        ...

    async def recent_tickets(self, *, openid: str, limit: int = 5) -> list[TicketStatus]:
        """The citizen's most recent tickets, newest first."""
        ...

    async def record_rating(self, *, openid: str, ticket_no: str | None, rating: str) -> str | None:
        """Record 满意 / 基本满意 / 不满意 for a case of this citizen awaiting rating.

        Returns the ticket number rated, or None when no case awaits a rating.
        """
        ...
