"""Database tables of the tracker: intake log, cases (current state), case events (history), outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.platform.db import UTCDateTime


class Base(DeclarativeBase):
    pass


class IntakeRecord(Base):
    """Every complaint that was given a ticket, written by the intake before it answers.

    It is the durable proof of a ticket: the reconciler republishes or routes what has no case.
    """

    __tablename__ = "intake_log"

    complaint_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[str] = mapped_column(Text)  # ComplaintReceived JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(12), index=True)


class Case(Base):
    __tablename__ = "cases"

    complaint_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(500))
    citizen_id: Mapped[str | None] = mapped_column(String(64), index=True)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # a WeChat photo or voice message still to be copied (services/tracker/media.py finds them by it)
    media_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    category_candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    territory: Mapped[str | None] = mapped_column(String(12), index=True)
    territory_name: Mapped[str | None] = mapped_column(String(50))
    village: Mapped[str | None] = mapped_column(String(50))
    unit: Mapped[str | None] = mapped_column(String(40), index=True)
    rule: Mapped[str | None] = mapped_column(String(200))
    review: Mapped[bool] = mapped_column(Boolean, default=False)
    routed_by: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returns: Mapped[int] = mapped_column(Integer, default=0)
    extension: Mapped[str | None] = mapped_column(String(16), index=True)  # the 延期待审批 list (migration 0013)
    disposal_mode: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[str | None] = mapped_column(String(16))
    merged_into: Mapped[str | None] = mapped_column(String(32))
    # resolution tracking (issue 5)
    reopens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    final_decision: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    extension_hours: Mapped[int | None] = mapped_column(Integer)
    extended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    photos: Mapped[list[str] | None] = mapped_column(JSON)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the routing decision as the machine made it (issue 15): the model version and its category
    model_version: Mapped[str | None] = mapped_column(String(64))
    routed_category: Mapped[str | None] = mapped_column(String(40))
    # a second city matter the text raises (the router's Decision.secondary): shown, routed nowhere
    secondary_category: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_cases_unit_status", "unit", "status"),
        # keyset pagination of the case list (services/tracker/case_query.py ORDERINGS), migration 0009
        Index("ix_cases_received_keyset", "received_at", "complaint_id"),
        Index("ix_cases_due_keyset", "resolve_by", "received_at", "complaint_id"),
        Index("ix_cases_phone", "phone"),
        # search: pg_trgm GIN indexes serve ILIKE '%...%' (PostgreSQL only, see PG_ONLY_INDEXES)
        *(Index(f"ix_cases_{col}_trgm", col, postgresql_using="gin", postgresql_ops={col: "gin_trgm_ops"})
          .ddl_if(dialect="postgresql") for col in ("text", "address", "phone")),
    )


class CaseEventRow(Base):
    """Append-only history.  ``event_id`` is unique: replaying a topic adds nothing."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    complaint_id: Mapped[str] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # (at): the latest events of all cases, the feed's back-fill (migration 0008)
    __table_args__ = (Index("ix_case_events_type_at", "type", "at"), Index("ix_case_events_at", "at"))


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class ApiUser(Base):
    __tablename__ = "api_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(40))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())



class CaseAction(Base):
    """Idempotency of API actions: one row per (actor, client action id), written with the change."""

    __tablename__ = "case_actions"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(40))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    """Alerts from the ``alerts`` topic (near-due, overdue, hot spot, 督办); ``alert_id`` makes it idempotent."""

    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    ticket_no: Mapped[str | None] = mapped_column(String(32), index=True)
    complaint_id: Mapped[str | None] = mapped_column(String(36))
    unit: Mapped[str | None] = mapped_column(String(40), index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    territory: Mapped[str | None] = mapped_column(String(12))
    place: Mapped[str | None] = mapped_column(String(100))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # keyset pagination of GET /alerts (newest first), migration 0009
    __table_args__ = (Index("ix_alerts_raised_keyset", "raised_at", "alert_id"),)


class CorrectionRow(Base):
    """A decision corrected by a person (reassign / decide): a labelled example for retraining.

    Written in the transaction of the action itself (``services/tracker/corrections.py``).
    ``old_*`` is the decision in force before (the router's, or an earlier correction's),
    ``model_version`` the model that made the router's decision of this case.
    """

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)  # the case event of the action
    complaint_id: Mapped[str] = mapped_column(String(36), index=True)
    ticket_no: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    text: Mapped[str] = mapped_column(Text)  # what the classifier read (complaint text + address)
    location_label: Mapped[str | None] = mapped_column(String(500))
    territory: Mapped[str | None] = mapped_column(String(12))
    old_category: Mapped[str | None] = mapped_column(String(40))
    old_unit: Mapped[str | None] = mapped_column(String(40))
    old_urgent: Mapped[bool] = mapped_column(Boolean)
    new_category: Mapped[str] = mapped_column(String(40))
    new_unit: Mapped[str] = mapped_column(String(40))
    new_urgent: Mapped[bool] = mapped_column(Boolean)
    model_version: Mapped[str | None] = mapped_column(String(64))
    routed_category: Mapped[str | None] = mapped_column(String(40))  # the router's own category
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# indexes that exist on PostgreSQL only (Index.ddl_if): the schema comparison skips them elsewhere
PG_ONLY_INDEXES = frozenset(f"ix_cases_{col}_trgm" for col in ("text", "address", "phone"))
# the SQLite full-text index of the case search (migration 0014: an FTS5 virtual table and its shadow
# tables, kept by triggers, not by the models): the schema comparison skips them
SQLITE_SEARCH_TABLE = "cases_fts"
