"""The correction loop end to end (issue 15, part 3), through the API against the real broker:

complaints routed by model A -> the command centre corrects them (reassign with category and unit)
-> ``complaints model retrain`` trains B on dev + own examples + corrections, measures it against A
on held-out data and promotes it -> the running router swaps to B between batches (a later
complaint's routed decision carries B; complaints filed during the swap are routed once each)
-> ``complaints model rollback`` -> the router is back on A.

The store's first version (A) is trained here on the repository's data by the same trainer, so
that the comparison measures the corrections, not whatever the shipped weights file was made from.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from services.core.classifier import Model
from services.core.engine import Engine
from services.core.loader import load_city
from services.core.training import Example, read_jsonl, train
from services.corecli import training_examples
from services.modelcli import HELDOUT
from services.modelstore import ModelStore
from services.platform.db import make_engine, make_sessionmaker
from services.tracker.auth import Role, add_user
from tests.e2e.test_pipeline import TEXT, wait_routed

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def model_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "services.cli", "model", *args, "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def wait_for(what: str, probe: Any, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def worker_versions(redis_url: str, prefix: str) -> set[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        return {client.hget(k, "model_version").decode() for k in client.scan_iter(f"{prefix}worker:*")
                if client.hget(k, "model_version")}
    finally:
        client.close()


def file_complaint(stack: Any, text: str, key: str) -> str:
    r = httpx.post(f"{stack.base_url}/api/v1/complaints", json={"channel": "hotline", "text": text,
                                                                 "phone": "13812345678"},
                   headers={**stack.headers, "Idempotency-Key": key}, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["ticket_no"])


def misrouted(engine: Engine, examples: list[Example], limit: int = 12) -> list[Example]:
    """Held-out complaints the model classifies wrongly: what a command centre would correct."""
    return [e for e in examples if e.unit and e.unit != "COMMAND_CENTER" and not e.location_label
            and engine.decide(e.text, T0).category != e.category][:limit]


def test_corrections_retrain_promote_swap_rollback(stack_factory: Any, database_url: str, redis_url: str,
                                                   tmp_path: Path) -> None:
    city = load_city("rugao")
    store = ModelStore(tmp_path / "models")
    dev, extra = training_examples()
    first = train(city, dev + extra)
    a = str(first["version"])
    if a != store.current_version():
        store.add(first)
        store.promote(a, by="test")
    to_correct = misrouted(Engine(city, Model(first)), read_jsonl(HELDOUT, city.categories))
    assert len(to_correct) >= 5, "the held-out set should have misrouted complaints to correct"

    stack = stack_factory(database_url, model_dir=str(store.root), model_check_every_s="0.5")
    prefix = stack.env["COMPLAINTS_REDIS_PREFIX"]
    db = make_engine(database_url)
    command = {"Authorization": "Bearer " + add_user(make_sessionmaker(db), "cc-e2e", Role.COMMAND, None)}
    db.dispose()

    # 1. routed by A, corrected by the command centre through the API
    tickets = [file_complaint(stack, e.text, f"fix-{i}") for i, e in enumerate(to_correct)]
    for ticket, e in zip(tickets, to_correct, strict=True):
        case = wait_routed(stack.base_url, stack.headers, ticket)
        assert case["model_version"] == a and case["routed_category"] != e.category
        r = httpx.post(f"{stack.base_url}/api/v1/cases/{ticket}/reassign", headers=command, timeout=10,
                       json={"unit": e.unit, "category": e.category})
        assert r.status_code == 200, r.text
    listed = httpx.get(f"{stack.base_url}/api/v1/corrections", headers=command, timeout=10).json()
    assert sorted(c["ticket_no"] for c in listed["corrections"]) == sorted(tickets)
    assert all(c["model_version"] == a and c["actor"] == "command:cc-e2e" for c in listed["corrections"])
    by_ticket = {c["ticket_no"]: c for c in listed["corrections"]}
    assert [by_ticket[t]["new"]["category"] for t in tickets] == [e.category for e in to_correct]
    rates = httpx.get(f"{stack.base_url}/api/v1/corrections/stats", headers=command, timeout=10).json()
    assert rates["total"]["corrected"] == len(tickets) == rates["total"]["reclassified"]
    assert {v["model_version"]: v["corrected"] for v in rates["model_versions"]} == {a: len(tickets)}

    # 2. retrain: B is trained with the corrections, measured against A and promoted
    report = model_cli(stack.env, "retrain", "--no-realtext")
    assert report["corrections"] == len(tickets)
    assert report["trained_on_corrections"] + report["held_out_corrections"] == len(tickets)
    assert report["promote"] and report["promoted"], report
    b = report["candidate"]
    assert b != a and report["current"] == a and report["now_current"] == b
    pooled = report["pooled"]
    assert pooled["candidate"]["category_accuracy"] >= pooled["current"]["category_accuracy"]

    # 3. the running router swaps to B between batches; complaints filed meanwhile are each routed once
    during = [file_complaint(stack, f"{TEXT}（第{i}次反映）", f"swap-{i}") for i in range(8)]
    wait_for("the router to use B", lambda: worker_versions(redis_url, prefix) == {b})
    after = file_complaint(stack, TEXT + "，今天又开始了", "after-b")
    case = wait_routed(stack.base_url, stack.headers, after)
    assert case["model_version"] == b
    assert [h["data"]["model_version"] for h in case["history"] if h["type"] == "dispatched"] == [b]
    for ticket in during:
        routed = wait_routed(stack.base_url, stack.headers, ticket)
        assert routed["model_version"] in (a, b)
        assert [h["type"] for h in routed["history"]].count("dispatched") == 1
    wait_for("the API to use B", lambda: httpx.get(f"{stack.base_url}/api/v1/corrections/stats", headers=command,
                                                   timeout=10).json()["model_version"] == b)
    listed_versions = {v["version"]: v for v in model_cli(stack.env, "list")}
    assert listed_versions[b]["current"] and listed_versions[a]["rollback_target"]

    # 4. rollback: back to A, and the router with it
    assert model_cli(stack.env, "rollback") == {"from": b, "to": a}
    wait_for("the router to use A again", lambda: worker_versions(redis_url, prefix) == {a})
    again = file_complaint(stack, TEXT + "，还是没人管", "after-rollback")
    assert wait_routed(stack.base_url, stack.headers, again)["model_version"] == a
    assert store.current_version() == a
