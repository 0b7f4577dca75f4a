"""Event contracts: the single source of truth for what travels on the topics.

Events are named in the past tense.  Every event carries ``schema_version``;
new versions only add optional fields.  ``schemas/*.json`` is generated from
these models (``complaints schemas``) and a test fails when they drift.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT_CHARS = 4000


class Channel(StrEnum):
    HOTLINE = "hotline"
    WECHAT = "wechat"
    OPEN311 = "open311"


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    label: str | None = Field(default=None, max_length=500)


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="image | voice | link")
    media_id: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)


class ComplaintReceived(_Event):
    """A complaint was accepted by an intake adapter and given a ticket number."""

    schema_version: int = 1
    event_id: str
    complaint_id: str
    ticket_no: str
    city: str
    channel: Channel
    text: str = Field(max_length=MAX_TEXT_CHARS)
    phone: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    reported_at: datetime | None = None
    received_at: datetime
    location: GeoPoint | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    citizen_id: str | None = Field(default=None, description="WeChat OpenID of the citizen, if any")
    needs_operator: bool = Field(default=False, description="e.g. a voice message without recognition")
    submitted_by: str | None = Field(default=None, description="actor who filed it (operator), if not the citizen")
    category_override: str | None = Field(
        default=None, max_length=40, description="category set by the operator instead of the classifier's")
    territory_override: str | None = Field(
        default=None, max_length=12, description="town-level territory code set by the operator")
    unit_override: str | None = Field(default=None, max_length=40, description="unit set by the operator")


class CategoryScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    score: float


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    term: str
    weight: float
    category: str | None = None


class ComplaintRouted(_Event):
    """The router decided category, place, unit and deadlines for a complaint."""

    schema_version: int = 1
    event_id: str
    complaint_id: str
    ticket_no: str
    routed_at: datetime
    category: str
    category_candidates: list[CategoryScore]
    evidence: list[Evidence] = Field(default_factory=list)
    urgent: bool = False
    urgent_evidence: list[str] = Field(default_factory=list)
    territory: str | None = None
    territory_name: str | None = None
    village: str | None = None
    place_confidence: float = 0.0
    place_evidence: list[str] = Field(default_factory=list)
    unit: str
    rule: str
    review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    accept_by: datetime
    resolve_by: datetime
    router: str = Field(default="stream", description="stream | reconciler")
    received_at: datetime | None = Field(default=None, description="when the complaint was received (v1.1)")
    complaint: ComplaintReceived | None = Field(
        default=None, description="the complaint as received (optional; v1 routers filled it, consumers must not "
                                  "rely on it: the intake log holds every complaint)")
    override: dict[str, str] | None = Field(
        default=None, description="operator overrides applied (category / territory / unit -> value): training data")
    model_version: str | None = Field(
        default=None, max_length=64, description="version of the classifier model that decided (v1.2)")
    secondary_category: str | None = Field(
        default=None, max_length=40,
        description="a second city matter the text raises: shown with the case, routed nowhere (v1.3)")


class DeadLetter(_Event):
    """A record that could not be processed, with the reason.  Nothing is dropped silently."""

    schema_version: int = 1
    event_id: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    payload: str = Field(description="the original bytes, decoded as UTF-8 with replacement")
    reason: str
    error_type: str
    failed_at: datetime


class CaseEvent(_Event):
    """Something happened to a case through the tracker (accepted, returned, resolved, ...)."""

    schema_version: int = 1
    event_id: str
    complaint_id: str
    ticket_no: str
    type: str
    actor: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


ALL_EVENTS: dict[str, type[BaseModel]] = {
    "ComplaintReceived": ComplaintReceived,
    "ComplaintRouted": ComplaintRouted,
    "DeadLetter": DeadLetter,
    "CaseEvent": CaseEvent,
}
