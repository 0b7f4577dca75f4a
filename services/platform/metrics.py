"""Prometheus metrics shared by the services (each process exposes its own registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("complaints_received_total", "Complaints accepted by an intake adapter", ["channel"])
PUBLISHED = Counter("complaints_published_total", "Complaints published to complaints.received", ["channel"])
REJECTED = Counter("complaints_rejected_total", "Intake requests refused", ["reason"])
ROUTED = Counter("complaints_routed_total", "Routing decisions applied to cases", ["router"])
DEAD_LETTERED = Gauge("complaints_dead_lettered", "Records on complaints.dlq (as reported by the router)")
ROUTED_BY_WORKER = Gauge("complaints_router_routed", "Complaints routed by the stream worker (from its heartbeat)")
CONSUMER_LAG = Gauge("complaints_consumer_lag", "Records not yet consumed by the tracker", ["topic"])
REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
