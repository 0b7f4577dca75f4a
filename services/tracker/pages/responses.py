"""The JSON answers of the pages' own endpoints (meta, suggest, link, wall) as pydantic models.

Every key the endpoints return is a field (a ``response_model`` filters to its fields); the wall's
recent events come in two shapes (case event, alert), so that endpoint leaves out unset keys.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.tracker.responses import Timestamp

# --- /api/v1/meta --------------------------------------------------------------------------------


class Me(BaseModel):
    name: str
    role: str
    role_name: str
    unit: str | None
    unit_name: str | None


class CityInfo(BaseModel):
    code: str
    name: str
    timezone: str


class CategoryName(BaseModel):
    code: str
    name: str
    group: str
    group_name: str
    handler: str


class CodeName(BaseModel):
    code: str
    name: str


class UnitName(BaseModel):
    id: str
    name: str


class RuleName(BaseModel):
    index: int | None = Field(description="routing.yaml 中规则的序号（跟踪系统自己的规则为 null）")
    label: str
    name: str


class UserName(BaseModel):
    name: str
    role: str | None
    unit: str | None


class ActorNames(BaseModel):
    system: str
    router: str
    citizen: str
    channels: dict[str, str]
    roles: dict[str, str]


class Meta(BaseModel):
    me: Me
    city: CityInfo
    categories: list[CategoryName]
    territories: list[CodeName]
    units: list[UnitName]
    statuses: dict[str, str]
    actions: dict[str, str]
    transitions: dict[str, list[str]] = Field(description="状态 -> 该状态下允许的操作")
    events: dict[str, str]
    alerts: dict[str, str]
    disposal_modes: list[str]
    rules: list[RuleName]
    evidence_kinds: dict[str, str]
    cues: dict[str, str]
    users: dict[str, UserName]
    actor_names: ActorNames
    done: dict[str, str] = Field(description="操作完成后的提示语")


# --- /api/v1/suggest -----------------------------------------------------------------------------


class Candidate(BaseModel):
    code: str
    name: str
    score: float


class Evidence(BaseModel):
    term: str
    weight: float
    category: str


class Place(BaseModel):
    territory: str | None
    territory_name: str | None
    village: str | None
    confidence: float
    evidence: list[str]


class SuggestedUnit(BaseModel):
    id: str
    name: str
    rule: str


class Duplicate(BaseModel):
    ticket_no: str
    text: str
    status: str
    status_name: str
    received_at: Timestamp
    village: str | None
    territory_name: str | None
    unit: str | None
    unit_name: str | None
    category: str | None
    category_name: str | None
    score: float
    similarity: float
    place: str
    distance_m: int | None
    reason: str


class Suggestion(BaseModel):
    category: CodeName
    candidates: list[Candidate]
    secondary: CodeName | None
    evidence: list[Evidence]
    place: Place
    unit: SuggestedUnit
    urgent: bool
    urgent_evidence: list[str]
    review: bool
    review_reasons: list[str]
    accept_by: Timestamp
    resolve_by: Timestamp
    duplicates: list[Duplicate]
    duplicates_window_hours: float


# --- /api/v1/cases/{ticket_no}/link ---------------------------------------------------------------


class Linked(BaseModel):
    ticket_no: str
    status: str
    unit: str | None
    linked_calls: int
    version: int
    event_id: str
    actor: str
    replayed: bool
    category: str | None = None
    territory: str | None = None


# --- /api/v1/wall --------------------------------------------------------------------------------


class TownFigures(BaseModel):
    today: int
    open: int
    overdue: int


class WallTown(TownFigures):
    code: str
    name: str
    short: str
    lat: float | None
    lon: float | None
    col: int
    row: int


class WallOther(TownFigures):
    name: str


class WallMap(BaseModel):
    mode: str = Field(description="tiles / geojson")
    cols: int
    rows: int
    feature_key: str
    towns: list[WallTown]
    other: WallOther
    date: str
    as_of: Timestamp


class WallTrend(BaseModel):
    date: str
    last_week_date: str
    hours: list[int]
    today: list[int | None] = Field(description="今日逐小时受理量（未到的小时为 null）")
    last_week: list[int]
    today_total: int
    last_week_same_time: int
    last_week_total: int
    as_of: Timestamp


class WallEvent(BaseModel):
    """A case event (``status``, ``urgent``) or an alert (``type`` alert, ``kind``, ``message``)."""

    type: str
    at: Timestamp
    ticket_no: str | None
    unit: str | None
    category: str | None
    territory: str | None
    status: str | None = None
    urgent: bool | None = None
    kind: str | None = None
    message: str | None = None


class WallRecent(BaseModel):
    events: list[WallEvent]
    as_of: Timestamp
