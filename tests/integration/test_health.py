"""/healthz tells the truth (issue 16): a killed or frozen worker or tracker degrades it within 2 s, named,
and it recovers when the component is back.  Real processes on real Tansu, Redis and SQLite."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx


def health(stack: Any) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{stack.base_url}/healthz", timeout=5)
    return r.status_code, r.json()


def wait_health(stack: Any, *, ok: bool, timeout_s: float) -> tuple[float, dict[str, Any]]:
    """Seconds until /healthz is (not) ok, and its body then."""
    start = time.monotonic()
    while True:
        status, body = health(stack)
        if (status == 200) == ok:
            return time.monotonic() - start, body
        assert time.monotonic() - start < timeout_s, body
        time.sleep(0.05)


def assert_degraded_by(body: dict[str, Any], name: str) -> None:
    assert body["status"] == "degraded" and body["degraded"] == [name], body
    assert body["checks"][name]["ok"] is False
    assert name in body["checks"][name]["error"] and "heartbeat" in body["checks"][name]["error"]


def test_health_degrades_within_two_seconds_and_recovers(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url)
    wait_health(stack, ok=True, timeout_s=60)
    for name in ("worker", "tracker"):
        # killed (SIGKILL): the beat's pid is gone
        stack.kill(name)
        took, body = wait_health(stack, ok=False, timeout_s=10)
        assert took <= 2.0, (name, took)
        assert_degraded_by(body, name)
        stack.start(name)
        wait_health(stack, ok=True, timeout_s=60)

        # frozen (SIGSTOP): the process exists but beats no more
        pid = stack.procs[name].pid
        os.kill(pid, signal.SIGSTOP)
        try:
            took, body = wait_health(stack, ok=False, timeout_s=10)
            assert took <= 2.0, (name, took)
            assert_degraded_by(body, name)
        finally:
            os.kill(pid, signal.SIGCONT)
        took, body = wait_health(stack, ok=True, timeout_s=30)
        assert body["status"] == "ok" and "degraded" not in body
