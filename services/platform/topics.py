"""The topic plan: names, keys and retention in one place (see deploy/topics.md)."""

from __future__ import annotations

from dataclasses import dataclass

COMPLAINTS_RECEIVED = "complaints.received"
COMPLAINTS_ROUTED = "complaints.routed"
COMPLAINTS_DLQ = "complaints.dlq"
CASES_EVENTS = "cases.events"
ALERTS = "alerts"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    retention_ms: int
    why: str


DAY_MS = 24 * 3600 * 1000

TOPIC_PLAN: tuple[TopicSpec, ...] = (
    TopicSpec(COMPLAINTS_RECEIVED, "complaint_id", 14 * DAY_MS, "every accepted complaint, from every channel"),
    TopicSpec(COMPLAINTS_ROUTED, "complaint_id", 14 * DAY_MS, "router decisions; one case's events stay in order"),
    TopicSpec(COMPLAINTS_DLQ, "original key", 30 * DAY_MS, "records that failed validation, with the reason"),
    TopicSpec(CASES_EVENTS, "complaint_id", 30 * DAY_MS, "tracker state changes, published from the outbox"),
    TopicSpec(ALERTS, "alert_id", 7 * DAY_MS, "near-due, overdue and hot-spot alerts"),
)
