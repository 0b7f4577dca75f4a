"""The router worker's logs against a real broker (issue 16): the project's handler and format (JSON
lines under LOG_FORMAT=json, not Faust's coloured text), a handful of INFO lines at start-up rather
than Faust's ~25 "Starting..." lines, and the lines a person acts on: started, dead letter, stopping."""

from __future__ import annotations

import json
import time
from typing import Any

from kafka import KafkaProducer

from services.platform.topics import COMPLAINTS_RECEIVED

STARTED = "router worker started"


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for line in lines:
        record = json.loads(line)  # a line that is not JSON fails the test here
        assert isinstance(record, dict) and {"ts", "level", "logger", "msg"} <= record.keys(), line
        records.append(record)
    return records


def wait_for(stack: Any, name: str, needle: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text: str = stack.logs(name)
        if needle in text:
            return text
        assert stack.procs[name].poll() is None, f"{name} exited:\n{text}"
        time.sleep(0.2)
    raise AssertionError(f"no {needle!r} in the {name} log within {timeout_s} s:\n{stack.logs(name)}")


def test_worker_logs_json_lines_few_at_info_and_what_a_person_acts_on(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("worker",), log_format="json", log_level="INFO")
    startup = json_lines(wait_for(stack, "worker", STARTED))
    info = [r for r in startup if r["level"] == "info"]
    assert len(info) <= 3, [r["msg"] for r in info]
    started = [r for r in info if r["msg"].startswith(STARTED)]
    assert len(started) == 1 and started[0]["logger"] == "services.router.app"
    assert sorted(started[0]["partitions"]) == [0, 1, 2]  # the test broker's three partitions
    assert not [r for r in startup if r["logger"].startswith(("faust", "mode", "aiokafka")) and r["level"] == "info"]
    assert "Starting..." not in stack.logs("worker")

    producer = KafkaProducer(bootstrap_servers=stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(COMPLAINTS_RECEIVED, key=b"bad-log-0", value=b"not json at all")
    producer.flush()
    producer.close()
    lines = json_lines(wait_for(stack, "worker", "dead-lettered"))
    letters = [r for r in lines if r["msg"].startswith("dead-lettered")]
    assert len(letters) == 1 and letters[0]["level"] == "warning"
    assert letters[0]["msg"].startswith(f"dead-lettered {COMPLAINTS_RECEIVED}[")

    proc = stack.procs.pop("worker")
    proc.terminate()
    assert proc.wait(30) == 0
    everything = json_lines(stack.logs("worker"))
    info_msgs = [r["msg"] for r in everything if r["level"] == "info"]
    assert info_msgs[0].startswith(STARTED) and info_msgs[-2:] == ["router worker stopping", "router worker stopped"]
    assert len(info_msgs) <= 5, info_msgs
