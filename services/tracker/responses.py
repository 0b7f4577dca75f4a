"""The JSON answers of the tracker API as pydantic models (the OpenAPI document's response schemas).

A ``response_model`` filters the answer to its fields, so every key an endpoint returns is a field
here.  Times are ISO-8601 strings as the views write them (the city-time middleware rewrites
them at the edge, services/tracker/citytime.py); genuinely free-form parts (event data, the
configured taxonomy's evidence, attachments' metadata) stay ``dict[str, Any]``.  Endpoints whose
answers leave keys out (rather than null) are declared with ``response_model_exclude_unset``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Cursor = Annotated[str | None, Field(description="翻页游标：作为 cursor 传入取下一页（null：已是最后一页）")]


# --- cases ---------------------------------------------------------------------------------------


class Due(BaseModel):
    state: str = Field(description="none / ok / near_due / overdue（定义：services/core/figures.py）")
    kind: str | None = Field(description="accept / resolve：哪一个时限")
    deadline: Timestamp | None


class CaseEvent(BaseModel):
    type: str
    at: Timestamp
    actor: str | None
    data: dict[str, Any] | None = Field(description="事件内容（其中的电话号码按角色打码）")


class CaseSummary(BaseModel):
    ticket_no: str
    complaint_id: str
    status: str
    channel: str
    text: str
    phone: str | None = Field(description="来电号码；无权查看的角色看到打码的号码（138****5678）")
    name: str | None
    address: str | None
    category: str | None
    category_candidates: list[dict[str, Any]] | None
    secondary_category: str | None
    secondary_category_name: str | None
    territory: str | None
    territory_name: str | None
    village: str | None
    unit: str | None
    urgent: bool
    review: bool
    received_at: Timestamp
    routed_at: Timestamp | None
    accept_by: Timestamp | None
    resolve_by: Timestamp | None
    returns: int
    attachments: list[dict[str, Any]] = Field(
        description="附件：原始信息加 index、media_state，已保存的还有 stored_url")
    due: Due
    extension: str | None
    extension_hours: int | None
    photos: list[Any] = Field(description="处置反馈的照片（附件路径或链接）")


class ExtensionRequestView(BaseModel):
    state: str
    hours: int | None
    reason: str | None
    requested_by: str | None
    requested_at: Timestamp | None
    resolve_by: Timestamp | None
    new_resolve_by: Timestamp | None
    decided_by: str | None
    decided_at: Timestamp | None
    refusal_reason: str | None


class CaseDetail(CaseSummary):
    evidence: list[dict[str, Any]] | None
    rule: str | None
    routed_by: str | None
    model_version: str | None
    routed_category: str | None
    location: dict[str, Any] | None
    accepted_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    extension_request: ExtensionRequestView | None
    disposal_mode: str | None
    result: str | None
    rating: str | None
    merged_into: str | None
    history: list[CaseEvent]


class CaseListItem(CaseSummary):
    version: int


class CaseList(BaseModel):
    count: int = Field(description="本页的工单数（至多 limit）")
    total: int = Field(description="符合筛选条件的工单数，至多计到 10000")
    total_capped: bool = Field(description="true：超过 10000 件（total 为 10000）")
    as_of: Timestamp
    next_cursor: Cursor
    cases: list[CaseListItem]


class UnitQueue(BaseModel):
    unit: str
    count: int
    cases: list[CaseSummary]


class EventPage(BaseModel):
    ticket_no: str
    count: int
    next_cursor: Cursor
    events: list[CaseEvent]


# --- actions -------------------------------------------------------------------------------------


class ActionResult(BaseModel):
    ticket_no: str
    status: str
    status_name: str | None = None
    unit: str | None
    version: int
    event: str
    event_id: str
    actor: str
    accept_by: Timestamp | None = None
    resolve_by: Timestamp | None = None
    replayed: bool = Field(description="true：同一 Idempotency-Key 的重试，返回当初的结果")


class PhotoStored(BaseModel):
    ticket_no: str
    index: int
    stored_url: str
    sha256: str | None
    size: int | None
    content_type: str | None
    width: int | None
    height: int | None
    replayed: bool


# --- alerts, corrections -------------------------------------------------------------------------


class Alert(BaseModel):
    alert_id: str
    kind: str
    ticket_no: str | None
    unit: str | None
    category: str | None
    territory: str | None
    place: str | None
    deadline: Timestamp | None
    raised_at: Timestamp
    message: str
    data: dict[str, Any] | None


class AlertList(BaseModel):
    count: int
    next_cursor: Cursor
    alerts: list[Alert]


class OldLabel(BaseModel):
    category: str | None
    unit: str | None
    urgent: bool | None


class Correction(BaseModel):
    id: int
    ticket_no: str
    action: str
    actor: str
    at: Timestamp
    text: str
    model_version: str | None
    event_id: str
    old: OldLabel
    new: OldLabel
    routed_category: str | None
    routed_at: Timestamp | None


class CorrectionList(BaseModel):
    count: int
    next_cursor: Cursor
    corrections: list[Correction]


class CorrectionCounts(BaseModel):
    routed: int
    corrected: int
    reclassified: int
    rate: float | None = Field(description="corrected / routed（无派单时为 null）")


class CorrectionDay(CorrectionCounts):
    date: str
    category: str


class CorrectionCategory(CorrectionCounts):
    category: str


class CorrectionVersion(CorrectionCounts):
    model_version: str


class CorrectionStats(BaseModel):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    days_back: int
    model_version: str | None
    days: list[CorrectionDay]
    categories: list[CorrectionCategory]
    model_versions: list[CorrectionVersion]
    total: CorrectionCounts


# --- stats ---------------------------------------------------------------------------------------


class Stats(BaseModel):
    """The KPIs of docs/kpis.md: ``total`` for the period, ``groups`` with ``group_by``, ``live`` now."""

    from_: Timestamp = Field(alias="from")
    to: Timestamp
    group_by: str | None
    as_of: Timestamp
    total: dict[str, Any] = Field(description="考核指标（docs/kpis.md）")
    groups: list[dict[str, Any]] | None = Field(default=None, description="按 group_by 分组的指标（有 group_by 时）")
    disposal_by_unit: dict[str, dict[str, Any]]
    live: dict[str, Any] = Field(description="此刻在办、已超时、即将超时（有 group_by 时含 groups）")


# --- citizens ------------------------------------------------------------------------------------


class Stage(BaseModel):
    label: str
    state: str = Field(description="done / current / todo")


class TimelineEntry(BaseModel):
    at: str = Field(description="城市时间 YYYY-MM-DD HH:mm")
    text: str


class CitizenCase(BaseModel):
    ticket_no: str
    status: str
    status_name: str
    headline: str
    stages: list[Stage]
    timeline: list[TimelineEntry]
    category_name: str | None
    handled_by: str | None
    received_at: Timestamp
    received_at_text: str | None
    accepted_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    result: str | None
    rating: str | None
    can_rate: bool
    can_add: bool
    photos_added: int


class CitizenAdded(BaseModel):
    ticket_no: str
    added: str = Field(description="text / photo")
    stored: bool | None = Field(default=None, description="照片已保存（仅照片）")
    photos: int | None = Field(default=None, description="工单现有的市民照片数（仅照片）")
    replayed: bool


class CitizenRated(BaseModel):
    ticket_no: str
    rating: str
    status: str
