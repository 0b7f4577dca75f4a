"""`complaints chaos`: submit complaints over HTTP while killing and restarting parts of the system.

Starts its own system (embedded Tansu, a bundled Redis server, SQLite in a temporary directory or a
fresh PostgreSQL database, and the worker/tracker/api children under a supervisor like
`complaints run`), offers N complaints at R per second through the hotline endpoint (and the WeChat
callback once it answers), and meanwhile SIGKILLs the router worker, SIGKILLs the API, restarts
Redis, restarts the broker (losing every topic: memory storage) and restarts PostgreSQL when used.
Then, after a bounded wait, it checks that every ticket is exactly one routed case (see
``services.ops.chaos_check``) and prints the figures.  Exit code 0 only when nothing was lost,
duplicated or left hanging.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.ops.chaos_check import Snapshot, api_check, verdict, wait_settled
from services.ops.chaos_load import Load
from services.ops.chaos_system import ChaosSystem

FAULTS = ("worker", "api", "redis", "broker", "postgres")


@dataclass
class ChaosConfig:
    n: int = 3000
    rate: float = 100.0
    db: str = "sqlite"
    faults: tuple[str, ...] = FAULTS
    route_timeout_s: float = 15.0  # the reconciler routes what the stream lost after this
    settle_s: float = 120.0  # bounded wait for every ticket to be a routed case
    recovery_timeout_s: float = 60.0
    wechat_share: float = 0.3
    api_sample: int = 300
    work_dir: Path | None = None
    keep: bool = False


@dataclass
class FaultRecord:
    name: str
    at: float
    injected_s: float = 0.0  # how long the kill + restart itself took
    recovery_s: float | None = None
    error: str | None = None


@dataclass
class Run:
    cfg: ChaosConfig
    system: ChaosSystem
    load: Load
    t0: float = field(default_factory=time.monotonic)
    faults: list[FaultRecord] = field(default_factory=list)


def fault_action(system: ChaosSystem, name: str) -> Any:
    return {"worker": lambda: system.kill_child("worker"), "api": lambda: system.kill_child("api"),
            "redis": system.restart_redis, "broker": system.restart_broker,
            "postgres": system.restart_postgres}[name]


async def inject_faults(run: Run, names: list[str], duration_s: float) -> None:
    """One fault after another, spread over the load; each waits (bounded) for the previous recovery."""
    for k, name in enumerate(names):
        planned = run.t0 + duration_s * (0.1 + 0.7 * k / max(1, len(names) - 1))
        await asyncio.sleep(max(0.0, planned - time.monotonic()))
        if run.faults:
            await wait_recovered(run, run.faults[-1], 30.0)
        record = FaultRecord(name, time.monotonic())
        run.faults.append(record)
        try:
            await asyncio.to_thread(fault_action(run.system, name))
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        record.injected_s = round(time.monotonic() - record.at, 2)
        print(f"[chaos] t={record.at - run.t0:6.1f}s fault {name} ({record.injected_s}s)"
              + (f" FAILED {record.error}" if record.error else ""), file=sys.stderr, flush=True)


async def wait_recovered(run: Run, record: FaultRecord, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while run.load.recovered_at(record.at) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


async def probe_until_recovered(run: Run) -> None:
    """After the offered load, keep submitting (2/s) until every fault shows a recovery, bounded."""
    deadline = time.monotonic() + run.cfg.recovery_timeout_s
    tasks: list[asyncio.Task[None]] = []
    while time.monotonic() < deadline and any(run.load.recovered_at(f.at) is None for f in run.faults):
        tasks.append(asyncio.create_task(run.load.run_one(run.load.new("hotline"))))
        await asyncio.sleep(0.5)
    await asyncio.gather(*tasks)


async def wait_healthy(base_url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                r = await client.get(base_url + "/healthz")
                if r.status_code == 200:
                    return
                last = r.text[:300]
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the system did not become healthy in {timeout_s}s: {last}")


async def drive(run: Run) -> dict[str, Any]:
    cfg, load = run.cfg, run.load
    await wait_healthy(run.system.base_url)
    wechat = await load.wechat_available()
    if not wechat:
        load.wechat_token = None
    names = [f for f in cfg.faults if f != "postgres" or cfg.db == "postgresql"]
    duration = cfg.n / cfg.rate
    run.t0 = time.monotonic()
    faults = asyncio.create_task(inject_faults(run, names, duration))
    load_done = asyncio.Event()
    squad = asyncio.create_task(load.accept_wechat_cases(load_done, duration + cfg.settle_s))
    await load.offer(cfg.n, cfg.rate)
    await faults
    await probe_until_recovered(run)
    load_done.set()
    await squad
    await load.close()
    for f in run.faults:
        at = load.recovered_at(f.at)
        f.recovery_s = round(at - f.at, 2) if at is not None else None
    return {"wechat": wechat, "load_s": round(time.monotonic() - run.t0, 1)}


def summarize(run: Run, extra: dict[str, Any], snap: Snapshot) -> dict[str, Any]:
    subs = run.load.submissions
    tickets = {s.ticket for s in subs if s.ticket}
    settle = wait_settled(snap, tickets, run.cfg.settle_s)
    result = verdict(subs, snap.cases(), snap.duplicate_events())
    result.update(notifications(run))
    result["duplicates"] += result["duplicate_notifications"]
    sample = sorted(tickets)[:: max(1, len(tickets) // run.cfg.api_sample)] if tickets else []
    headers = {"Authorization": f"Bearer {run.system.admin_token}"}
    result.update(asyncio.run(api_check(run.system.base_url, headers, sample)))
    recoveries = [f.recovery_s for f in run.faults]
    unrecovered = [f.name for f in run.faults if f.recovery_s is None or f.error]
    result.update({
        "max_recovery_s": max((r for r in recoveries if r is not None), default=0.0),
        "faults": [{"fault": f.name, "at_s": round(f.at - run.t0, 1), "injected_s": f.injected_s,
                    "recovery_s": f.recovery_s, **({"error": f.error} if f.error else {})} for f in run.faults],
        "unrecovered_faults": unrecovered,
        "intake_log": snap.intake_count(),
        "settle_s": settle,
        "db": run.cfg.db, "n": run.cfg.n, "rate": run.cfg.rate, **extra,
        "duplicates_include": "tickets per request, cases per complaint, case events, WeChat notifications",
    })
    result["ok"] = (result["missing"] == 0 and result["duplicates"] == 0 and result["hangs"] == 0
                    and result["unclear_answers"] == 0 and result["phantom_cases"] == 0
                    and result["api_bad"] == 0 and not unrecovered)
    return result


def notifications(run: Run, timeout_s: float = 180.0, quiet_s: float = 130.0) -> dict[str, Any]:
    """WeChat messages the notifier sent (to the stand-in API) per accepted case: exactly one each.
    Waits until every accepted case was notified, or nothing new arrived for ``quiet_s`` (longer
    than the claim of a tracker killed while sending lives: its notification goes out after that)."""
    api = run.system.wechat_api
    accepted = run.load.accepted_tickets
    if api is None:
        return {"duplicate_notifications": 0}
    start = last_change = time.monotonic()
    seen = -1
    while not accepted <= set(api.per_ticket()) and time.monotonic() - start < timeout_s:
        if len(api.sent) != seen:
            seen, last_change = len(api.sent), time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            break
        time.sleep(0.5)
    counts = api.per_ticket()
    return {"wechat_accepted": len(accepted), "notified": sum(1 for t in accepted if counts.get(t)),
            "missing_notifications": sum(1 for t in accepted if not counts.get(t)),
            "missing_notification_examples": sorted(t for t in accepted if not counts.get(t))[:5],
            "duplicate_notifications": sum(n - 1 for n in counts.values() if n > 1)}


def run_chaos(cfg: ChaosConfig) -> dict[str, Any]:
    """Run the whole chaos experiment and return its figures (see ``verdict``)."""
    work_dir = cfg.work_dir or Path(tempfile.mkdtemp(prefix="complaints-chaos-"))
    system = ChaosSystem(work_dir, cfg.db, route_timeout_s=cfg.route_timeout_s,
                         reconcile_every_s=max(0.5, min(2.0, cfg.route_timeout_s / 5)))
    result: dict[str, Any] = {}
    try:
        system.start()
        load = Load(system.base_url, system.admin_token, uuid.uuid4().hex[:8], wechat_token=system.wechat_token,
                    wechat_share=cfg.wechat_share)
        run = Run(cfg, system, load)
        extra = asyncio.run(drive(run))
        snap = Snapshot(system.database_url)
        try:
            result = summarize(run, extra, snap)
        finally:
            snap.close()
        return result
    finally:
        system.shutdown()
        if result.get("ok") and not cfg.keep and cfg.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            print(f"[chaos] logs kept in {work_dir / 'logs'}", file=sys.stderr, flush=True)


def cmd_chaos(args: argparse.Namespace) -> int:
    faults = tuple(f for f in args.faults.split(",") if f) if args.faults else FAULTS
    unknown = set(faults) - set(FAULTS)
    if unknown:
        print(f"unknown faults: {sorted(unknown)}; known: {', '.join(FAULTS)}", file=sys.stderr)
        return 2
    cfg = ChaosConfig(n=args.n, rate=args.rate, db=args.db, faults=faults, route_timeout_s=args.route_timeout,
                      settle_s=args.settle, keep=args.keep,
                      work_dir=Path(args.work_dir) if args.work_dir else None)
    result = run_chaos(cfg)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:22s} {value}")
    return 0 if result.get("ok") else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("chaos", help="submit complaints while killing parts of the system; check none is lost")
    p.add_argument("--n", type=int, default=3000, help="complaints to submit (default 3000)")
    p.add_argument("--rate", type=float, default=100.0, help="offered complaints per second (default 100)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--faults", default="", help=f"comma-separated, in order (default {','.join(FAULTS)})")
    p.add_argument("--route-timeout", type=float, default=15.0, help="reconciler's route timeout (s)")
    p.add_argument("--settle", type=float, default=120.0, help="bounded wait for the last cases (s)")
    p.add_argument("--work-dir", default=None, help="keep data and logs here")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.set_defaults(func=cmd_chaos)
