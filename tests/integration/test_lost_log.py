"""A worker whose group offsets point past the end of the log (a broker that lost its log) still routes.

Faust skips every record below the offset it believes it has read.  After the embedded broker
restarts (memory storage) the new log starts again at 0, and a committed offset of the old log
would make the router skip every new complaint until the reconciler (ROUTE_TIMEOUT_S) stepped in.
The worker notices a log that ends before what it has read and reads it again from the start.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.platform.topics import COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED
from tests.e2e.test_pipeline import wait_routed
from tests.integration.test_router_tracker import post

STALE_OFFSET = 1000


def commit_stale_offsets(stack: Any, group: str, topics: tuple[str, ...]) -> None:
    """Commit an offset far past the end of every partition's log for ``group`` (as a lost broker leaves it)."""
    client = KafkaConsumer(bootstrap_servers=stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"], group_id=group,
                           enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for topic in topics for p in range(3)]
    client.assign(parts)
    client.commit({tp: OffsetAndMetadata(STALE_OFFSET, "", -1) for tp in parts})
    assert all(client.committed(tp) == STALE_OFFSET for tp in parts)
    client.close()


def post_six(stack: Any, text: str) -> list[str]:
    return [post(stack, {"channel": "hotline", "text": f"{text}，第{i}回", "phone": "13812345678"}) for i in range(6)]


def test_router_rereads_a_log_that_ends_before_its_committed_offset(stack_factory: Any, sqlite_url: str) -> None:
    # The reconciler must not be the one routing here: give it ten minutes.
    stack = stack_factory(sqlite_url, services=("tracker", "api"), route_timeout_s="600")
    commit_stale_offsets(stack, stack.env["COMPLAINTS_ROUTER_GROUP"], (COMPLAINTS_RECEIVED,))
    tickets = post_six(stack, "如城街道花园社区门口有人占道摆摊卖水果")
    stack.start("worker")
    cases = [wait_routed(stack.base_url, stack.headers, t, timeout_s=90) for t in tickets]
    assert {c["routed_by"] for c in cases} == {"stream"}, [c["routed_by"] for c in cases]
    assert "reading it again from the start" in stack.logs("worker")


def test_tracker_rereads_a_log_that_ends_before_its_committed_offset(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("worker", "api"), route_timeout_s="600")
    commit_stale_offsets(stack, stack.env["COMPLAINTS_TRACKER_GROUP"], (COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED))
    tickets = post_six(stack, "丁堰镇人民路路灯坏了一整条街都是黑的")
    stack.start("tracker")
    cases = [wait_routed(stack.base_url, stack.headers, t, timeout_s=90) for t in tickets]
    assert {c["routed_by"] for c in cases} == {"stream"}, [c["routed_by"] for c in cases]
