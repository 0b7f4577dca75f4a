"""`complaints bench`: speed against the raw Kafka limit, on one embedded stack, in one run.

(a) raw_msgs_per_s   hand-written aiokafka consume -> produce loop (one Python process)
(b0) faust_passthrough_msgs_per_s  a Faust agent that only copies them (Faust's own ceiling here)
(b) router_msgs_per_s the Faust router on the same messages with real classification
(b1) router_work_msgs_per_s  the router's own work per record (parse, classify, locate, route,
    serialise) on the same messages in this one process, without broker or Faust: with the
    passthrough (b0) it bounds what (b) can reach in one process
(c) e2e_p50/p95/p99  HTTP 201 -> case visible (tracker commit) at a fixed offered rate;
    e2e_cpu_us_per_complaint: CPU of each process (and of the load generator) per complaint meanwhile
(d) intake_max_per_s highest offered rate sustained for --step-s with POST p99 < 1 s and no errors
(e) rss_mb           peak RSS of the embedded stack (broker, Redis, worker, tracker, API)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from services.core.events import Channel, ComplaintReceived
from services.ops.bench_load import FeedWatcher, offer, percentile
from services.platform.embedded import free_port
from services.platform.settings import StackSettings
from services.platform.topics import COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED
from services.resources import demo_complaints
from services.stack import Child, Stack

CLI = [sys.executable, "-m", "services.cli"]


def dev_texts() -> list[str]:
    path = demo_complaints()
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def payloads(n: int, texts: list[str]) -> list[bytes]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        cid = str(uuid.uuid4())
        out.append(ComplaintReceived(event_id=f"recv-{cid}", complaint_id=cid, ticket_no=f"BN{i:014d}", city="rugao",
                                     channel=Channel.HOTLINE, text=texts[i % len(texts)], phone="13900000000",
                                     received_at=now).model_dump_json().encode())
    return out


def log_intake(database_url: str, values: list[bytes]) -> None:
    """Write the intake-log records the API would have written for these payloads, so that the
    tracker treats them like any complaint (a decision read before its complaint finds it there)."""
    from sqlalchemy import update

    from services.intake.store import PUBLISHED, IntakeStore
    from services.platform.db import make_engine, make_sessionmaker
    from services.platform.migrate import upgrade
    from services.tracker.models import IntakeRecord

    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    events = [ComplaintReceived.model_validate_json(v) for v in values]
    IntakeStore(sessions).insert_many([
        {"complaint_id": e.complaint_id, "ticket_no": e.ticket_no, "channel": e.channel.value, "idempotency_key": None,
         "payload": v.decode(), "created_at": e.received_at} for e, v in zip(events, values, strict=True)])
    with sessions.begin() as s:
        s.execute(update(IntakeRecord).values(state=PUBLISHED, published_at=datetime.now(UTC)))
    engine.dispose()


async def fill(bootstrap: str, topic: str, values: list[bytes], compression: str | None = None) -> None:
    """Publish values as the intake would (same compression as the stack's producers)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=262144,
                                compression_type=compression)
    await producer.start()
    try:
        for v in values:
            await producer.send(topic, v, key=v[20:56])
        await producer.flush()
    finally:
        await producer.stop()


async def raw_loop(bootstrap: str, n: int, source: str, sink: str) -> float:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", fetch_max_wait_ms=10, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=262144)
    await consumer.start()
    await producer.start()
    done = 0
    start = 0.0
    try:
        while done < n:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for msgs in batches.values():
                if msgs and not start:
                    start = time.perf_counter()
                for m in msgs:
                    await producer.send(sink, m.value, key=m.key)
                done += len(msgs)
            if batches:
                await consumer.commit()
        await producer.flush()
        return n / (time.perf_counter() - start)
    finally:
        await consumer.stop()
        await producer.stop()


async def count_until(bootstrap: str, topic: str, n: int, timeout_s: float) -> float:
    """Rate from the first to the n-th record appearing on topic."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                fetch_max_wait_ms=50)
    await consumer.start()
    seen = 0
    first = last = 0.0
    deadline = time.perf_counter() + timeout_s
    try:
        while seen < n and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            got = sum(len(v) for v in batches.values())
            if got and not first:
                first = time.perf_counter()
            seen += got
            last = time.perf_counter()
    finally:
        await consumer.stop()
    if seen < n:
        raise RuntimeError(f"only {seen}/{n} records on {topic} within {timeout_s}s")
    return n / max(1e-9, last - first)


def router_work(values: list[bytes]) -> float:
    """Records/s of the router's per-record work alone (what the Faust agent calls), CPU time of one core."""
    from services.core.engine import Engine
    from services.platform.settings import RouterSettings
    from services.router.handler import route_record

    settings = RouterSettings()
    engine = Engine.load(settings.city, str(settings.config_root))
    for v in values[:50]:
        route_record(engine, v)
    start = time.process_time()
    for v in values:
        route_record(engine, v).model_dump_json().encode()
    return len(values) / max(1e-9, time.process_time() - start)


def process_key(proc: psutil.Process, cmd: list[str]) -> str:
    """tansu, redis, or the service name (worker, tracker, api) of a stack process."""
    return "tansu" if "memory://tansu/" in cmd else ("redis" if "redis" in proc.name() else cmd[-1])


def cpu_seconds(pids: list[int]) -> dict[str, float]:
    """CPU time (user + system) so far of each stack process, and of this one (the load generator)."""
    out: dict[str, float] = {}
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            times, key = proc.cpu_times(), process_key(proc, proc.cmdline())
        except psutil.Error:
            continue
        out[key] = out.get(key, 0.0) + times.user + times.system
    own = psutil.Process().cpu_times()
    out["load_generator"] = own.user + own.system
    return out


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_mb = 0.0
        self.per_process: dict[str, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            total = 0
            for pid in self.pids:
                try:
                    proc = psutil.Process(pid)
                    rss, cmd = proc.memory_info().rss, proc.cmdline()
                except psutil.Error:
                    continue
                total += rss
                key = process_key(proc, cmd)
                self.per_process[key] = max(self.per_process.get(key, 0.0), round(rss / 2**20, 1))
            self.peak_mb = max(self.peak_mb, total / 2**20)


def stack_pids(stack: Stack) -> list[int]:
    return [p.proc.pid for p in stack.embedded] + [c.proc.pid for c in stack.children if c.proc]


async def measure(stack: Stack, args: argparse.Namespace, out: dict[str, Any]) -> None:
    bootstrap = stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"]
    texts = dev_texts()
    values = payloads(args.messages, texts)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(t, 1, 1) for t in ("bench.raw.in", "bench.raw.out", "bench.faust.out")])
    admin.close()
    await fill(bootstrap, "bench.raw.in", values, stack.s.compression_type)
    out["raw_msgs_per_s"] = round(await raw_loop(bootstrap, len(values), "bench.raw.in", "bench.raw.out"))
    copier = Child("faust-passthrough", [sys.executable, "-m", "services.ops.bench_faust", "bench.raw.in",
                                         "bench.faust.out"], stack.env)
    copier.start()
    try:
        out["faust_passthrough_msgs_per_s"] = round(await count_until(bootstrap, "bench.faust.out", len(values), 300))
    finally:
        copier.stop()
    log_intake(stack.s.database_url, values)
    await fill(bootstrap, COMPLAINTS_RECEIVED, values, stack.s.compression_type)
    worker = Child("worker", [*CLI, "worker"], stack.env)
    worker.start()
    stack.children.append(worker)
    out["router_msgs_per_s"] = round(await count_until(bootstrap, COMPLAINTS_ROUTED, len(values), 300))
    out["router_vs_raw"] = round(out["router_msgs_per_s"] / out["raw_msgs_per_s"], 3)
    out["router_vs_faust_passthrough"] = round(out["router_msgs_per_s"] / out["faust_passthrough_msgs_per_s"], 3)
    out["router_work_msgs_per_s"] = round(router_work(values))
    # One process does Faust's work and the router's per record: 1/(1/passthrough + 1/work) at best.
    ceiling = 1 / (1 / out["faust_passthrough_msgs_per_s"] + 1 / out["router_work_msgs_per_s"])
    out["router_ceiling_vs_raw"] = round(ceiling / out["raw_msgs_per_s"], 3)


def start_stack(args: argparse.Namespace, data_dir: Path) -> Stack:
    port = free_port()
    settings = StackSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'bench.db'}", api_port=port,
                             topic_partitions=1, log_level="WARNING")
    stack = Stack(settings)
    stack.start_infrastructure()
    return stack


def main(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="c12319-bench-") as tmp:
        stack = start_stack(args, Path(tmp))
        sampler = RssSampler([])
        try:
            stack.env["COMPLAINTS_LOG_LEVEL"] = "WARNING"
            sampler.pids = [p.proc.pid for p in stack.embedded]
            sampler.start()
            asyncio.run(measure(stack, args, out))
            for name in ("tracker", "api"):
                child = Child(name, [*CLI, name], stack.env)
                child.start()
                stack.children.append(child)
            sampler.pids = stack_pids(stack)
            asyncio.run(measure_http(stack, args, out))
            out["rss_mb"] = round(sampler.peak_mb, 1)
            out["rss_peak_by_process_mb"] = sampler.per_process
        finally:
            sampler.stopped.set()
            stack.shutdown()
    return out


async def wait_http(base: str, token: str, timeout_s: float = 60) -> None:
    import aiohttp

    deadline = time.perf_counter() + timeout_s
    async with aiohttp.ClientSession() as s:
        while time.perf_counter() < deadline:
            try:
                async with s.get(base + "/healthz", headers={"Authorization": f"Bearer {token}"}) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("stack not healthy in time")


async def wait_tracker_drained(stack: Stack, records: int, timeout_s: float = 600) -> None:
    """(b) left a backlog of routed complaints: measure (c) only once the tracker has dispatched
    all of them (counting consumed records instead also counted the alerts among them)."""
    from sqlalchemy import func, select

    from services.platform.db import make_engine
    from services.tracker.models import Case

    engine = make_engine(stack.s.database_url)
    query = select(func.count()).select_from(Case).where(Case.status == "dispatched")
    deadline = time.perf_counter() + timeout_s
    try:
        while time.perf_counter() < deadline:
            with engine.connect() as conn:
                if (conn.scalar(query) or 0) >= records:
                    return
            await asyncio.sleep(0.5)
    finally:
        engine.dispose()
    raise RuntimeError("tracker did not drain the benchmark backlog in time")


async def measure_http(stack: Stack, args: argparse.Namespace, out: dict[str, Any]) -> None:
    base = f"http://127.0.0.1:{stack.s.api_port}"
    token = stack.env["COMPLAINTS_ADMIN_TOKEN"]
    await wait_http(base, token)
    await wait_tracker_drained(stack, args.messages)
    texts = dev_texts()
    watcher = FeedWatcher(stack.env["COMPLAINTS_REDIS_URL"], f"{stack.s.redis_prefix}feed")
    await watcher.start()
    await offer(base, token, texts, 20, 2)  # warm-up
    cpu_before = cpu_seconds(stack_pids(stack))
    load = await offer(base, token, texts, args.rate, args.duration)
    cpu_after = cpu_seconds(stack_pids(stack))
    tickets = list(load.ticket_at)
    # Where a complaint's CPU goes at the offered rate (µs per ticketed complaint, per process).
    out["e2e_cpu_us_per_complaint"] = {
        k: round((cpu_after[k] - cpu_before[k]) / max(1, len(tickets)) * 1e6) for k in cpu_after if k in cpu_before}
    await watcher.wait_for(tickets, 30)
    latencies = [watcher.seen[t] - load.ticket_at[t] for t in tickets if t in watcher.seen]
    await watcher.stop()
    out.update({
        "e2e_rate_per_s": args.rate, "e2e_n": len(tickets), "e2e_unseen": len(tickets) - len(latencies),
        "e2e_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "e2e_p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "e2e_p99_ms": round(percentile(latencies, 99) * 1000, 1),
    })
    best = 0.0
    steps: list[dict[str, Any]] = []
    for rate in args.intake_steps:
        r = await offer(base, token, texts, rate, args.step_s)
        p99 = percentile(r.post_latency_s, 99)
        ok = r.errors == 0 and p99 < 1.0 and r.achieved_per_s >= 0.95 * rate
        steps.append({"offered": rate, "achieved": round(r.achieved_per_s, 1), "p99_ms": round(p99 * 1000, 1),
                      "errors": r.errors, "sustained": ok})
        if not ok:
            break
        best = float(rate)
    out["intake_max_per_s"] = best
    out["intake_steps"] = steps


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="benchmark against the raw Kafka limit (one embedded stack)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--messages", type=int, default=10000, help="messages for (a) and (b)")
    p.add_argument("--rate", type=float, default=100.0, help="offered rate for the e2e latency (c)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load for (c)")
    p.add_argument("--step-s", type=float, default=30.0, help="seconds per intake step (d)")
    p.add_argument("--intake-steps", type=lambda s: [float(x) for x in s.split(",")], default=[300.0, 500.0, 700.0, 900.0])

    def handler(args: argparse.Namespace) -> int:
        result = main(args)
        keys = ["raw_msgs_per_s", "router_msgs_per_s", "router_vs_raw", "e2e_p50_ms", "e2e_p95_ms", "e2e_p99_ms",
                "intake_max_per_s", "rss_mb"]
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            for k in keys + [k for k in result if k not in keys]:
                print(f"{k:20s} {result.get(k)}")
        return 0

    p.set_defaults(func=handler)
