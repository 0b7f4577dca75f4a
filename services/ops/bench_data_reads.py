"""The reads of `complaints bench-data`: every GET the pages and the API make, timed in-process.

Run as ``python -m services.ops.bench_data_reads --database-url URL`` by ``services/ops/bench_data.py`` (a
process of its own: its RSS is the API's with this history).  The FastAPI app of
``services/tracker/app.py`` is called through httpx's ASGI transport, with real users' tokens
(operator, command centre, a squad), so each read goes through the routes, their queries and
their views.  Each read is called once untimed, then ``--repeats`` times (fewer, at least 3, when
it would exceed ``--budget-s``); the ticket of a case read changes with every call (random cases
of every age).

Reads the API does not offer (yet) are listed under ``missing``: deep pages when the case list
has no offset or cursor parameter, text / phone search when it has no search parameter, exports
when no route exports.  They are found by the list route's parameters and the app's routes, so
the benchmark picks them up when they are added.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.ops.bench_load import percentile

OPEN = "dispatched,accepted,in_progress,returned,awaiting_decision,resolved"
SEARCH_PARAMS = ("q", "search", "text", "query")
DEEP_PARAMS = ("offset", "cursor", "after", "page", "before")


@dataclass
class Read:
    name: str
    role: str
    path: Callable[[int], str]
    body: Callable[[int], dict[str, Any]] | None = None
    client: int = 0  # citizen lookups: a different client address each call (the per-address limit)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * resource.getpagesize() / 2**20, 1)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _sample(app: Any, n: int, seed: int) -> list[tuple[str, str, str | None]]:
    """(ticket, phone, unit) of random cases of every age (setup, not timed): the first case received
    after each of n random moments of the history (an index range of ``cases.received_at``)."""
    from sqlalchemy import func, select

    from services.tracker.models import Case

    rng = random.Random(seed)
    out: dict[str, tuple[str, str, str | None]] = {}
    with app.state.sessions() as s:
        first, last = s.execute(select(func.min(Case.received_at), func.max(Case.received_at))).one()
        if first is None:
            return []
        span = (last - first).total_seconds()
        for _ in range(n):
            moment = first + timedelta(seconds=rng.uniform(0, span))
            row = s.execute(select(Case.ticket_no, Case.phone, Case.unit).where(Case.received_at >= moment)
                            .order_by(Case.received_at).limit(1)).first()
            if row is not None:
                out[row[0]] = (row[0], row[1] or "0000", row[2])
    return list(out.values())


def _total(app: Any) -> int:
    from sqlalchemy import func, select

    from services.tracker.models import Case

    with app.state.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def list_params(app: Any, path: str) -> set[str]:
    from fastapi.routing import APIRoute

    for route in app.routes:
        if isinstance(route, APIRoute) and route.path == path and "GET" in route.methods:
            return {p.alias or p.name for p in route.dependant.query_params}
    return set()


def export_paths(app: Any) -> list[str]:
    from fastapi.routing import APIRoute

    return [r.path for r in app.routes
            if isinstance(r, APIRoute) and "GET" in r.methods and "export" in r.path and "{" not in r.path]


def reads(app: Any, sample: list[tuple[str, str, str | None]], tz: ZoneInfo,
          total: int) -> tuple[list[Read], list[str]]:
    city = app.state.core.city
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    day, month, year = today.isoformat(), (today - timedelta(days=29)).isoformat(), \
        (today - timedelta(days=364)).isoformat()
    big_unit = "SQ_RUCHENG" if "SQ_RUCHENG" in city.units else sorted(city.units)[0]
    category = next(iter(city.categories))
    town = next(iter(city.territories))
    tickets = [t for t, _, _ in sample]

    def ticket(i: int) -> str:
        return tickets[i % len(tickets)]

    def fixed(path: str) -> Callable[[int], str]:
        return lambda _i: path

    out = [
        Read("cases_first_page", "command", fixed("/api/v1/cases?limit=100")),
        Read("cases_status_dispatched", "command", fixed("/api/v1/cases?status=dispatched&limit=100")),
        Read("cases_status_closed", "command", fixed("/api/v1/cases?status=closed&limit=100")),
        Read("cases_unit", "command", fixed(f"/api/v1/cases?unit={big_unit}&limit=100")),
        Read("cases_category", "command", fixed(f"/api/v1/cases?category={category}&limit=100")),
        Read("cases_town", "command", fixed(f"/api/v1/cases?territory={town}&limit=100")),
        Read("cases_overdue", "command", fixed("/api/v1/cases?overdue=true&limit=50")),
        Read("cases_near_due", "command", fixed("/api/v1/cases?near_due=true&limit=50")),
        Read("cases_awaiting_check", "command", fixed("/api/v1/cases?status=awaiting_decision,resolved&limit=50")),
        Read("cases_extension_requested", "command", fixed("/api/v1/cases?extension=requested&limit=50")),
        Read("squad_queue", "squad", fixed(f"/api/v1/cases?status={OPEN}&unit={big_unit}&limit=300")),
        Read("unit_queue", "squad", fixed(f"/api/v1/units/{big_unit}/cases")),
        Read("case_detail", "command", lambda i: f"/api/v1/cases/{ticket(i)}"),
        Read("ticket_open311", "command", lambda i: f"/open311/v2/requests/{ticket(i)}.json"),
        Read("open311_list", "command", fixed("/open311/v2/requests.json")),
        Read("citizen_lookup", "citizen", lambda i: f"/api/v1/public/cases/{sample[i % len(sample)][0]}"
             f"?phone_last4={sample[i % len(sample)][1][-4:]}", client=1),
        Read("duplicates_suggest", "operator", fixed("/api/v1/suggest"),
             lambda _i: {"text": "白蒲镇唐堡村菜场门口有人占道摆摊卖水果，车子过不去"}),
        Read("alerts_dashboard", "command", fixed("/api/v1/alerts?kind=hotspot,supervision&limit=15")),
        Read("alerts_squad", "squad", fixed(f"/api/v1/alerts?unit={big_unit}&kind=supervision,accept_overdue,"
                                            "resolve_overdue,hotspot&limit=5")),
        Read("corrections_stats_7d", "command", fixed("/api/v1/corrections/stats?days=7")),
        Read("corrections_stats_92d", "command", fixed("/api/v1/corrections/stats?days=92")),
        Read("corrections_list", "command", fixed("/api/v1/corrections?limit=100")),
        Read("meta", "command", fixed("/api/v1/meta")),
        Read("wall_map", "command", fixed("/api/v1/wall/map")),
        Read("wall_trend", "command", fixed("/api/v1/wall/trend")),
        Read("wall_recent", "command", fixed("/api/v1/wall/recent?limit=30")),
    ]
    for span, start in (("day", day), ("month", month), ("year", year)):
        out.append(Read(f"stats_{span}", "command", fixed(f"/api/v1/stats?from={start}")))
        for group in ("unit", "category", "territory"):
            out.append(Read(f"stats_{span}_by_{group}", "command", fixed(f"/api/v1/stats?from={start}&group_by={group}")))
        # whole city days (`to` a date, today included): the form an evaluation of a period asks
        for group in ("", "unit", "category", "territory") if span == "year" else ("",):
            by = f"&group_by={group}" if group else ""
            out.append(Read(f"stats_{span}_whole_days{'_by_' + group if group else ''}", "command",
                            fixed(f"/api/v1/stats?from={start}&to={day}{by}")))
    for page in ("/console", "/squad", "/dashboard", "/wall", "/citizen"):
        role = {"/console": "operator", "/squad": "squad", "/citizen": "citizen"}.get(page, "command")
        out.append(Read(f"page{page.replace('/', '_')}", role, fixed(page)))
    missing: list[str] = []
    params = list_params(app, "/api/v1/cases")
    if "offset" in params:  # half way down the list (at most 50,000 deep)
        out.append(Read("cases_deep_offset", "command", fixed(f"/api/v1/cases?limit=100&offset={min(total // 2, 50000)}")))
    if not any(p in params for p in DEEP_PARAMS):
        missing.append("cases_deep_page (no offset/cursor on /api/v1/cases)")
    search = next((p for p in SEARCH_PARAMS if p in params), None)
    if search is not None:
        out.append(Read("search_text", "command", fixed(f"/api/v1/cases?{search}=油烟&limit=50")))
        out.append(Read("search_phone", "command", lambda i: f"/api/v1/cases?{search}={sample[i % len(sample)][1]}"))
        out.append(Read("search_ticket", "command", lambda i: f"/api/v1/cases?{search}={ticket(i)}"))
    else:
        missing += ["search_text", "search_phone (no search parameter on /api/v1/cases)"]
    exports = export_paths(app)
    for path in exports:
        out.append(Read(f"export{path.replace('/api/v1', '').replace('/', '_')}", "command",
                        fixed(f"{path}?from={month}")))
    if not exports:
        missing.append("exports (no export route)")
    return out, missing


async def _cursor_read(client: httpx.AsyncClient, headers: dict[str, str], param: str) -> Read | None:
    """A deep page by cursor: 20 pages walked (not timed), the 21st is the read."""
    url = "/api/v1/cases?limit=100"
    cursor = None
    for _ in range(20):
        r = await client.get(url + (f"&{param}={cursor}" if cursor else ""), headers=headers)
        body = r.json()
        cursor = next((body.get(k) for k in ("next_cursor", "next", "cursor", param) if body.get(k)), None)
        if not cursor:
            return None
    deep = url + f"&{param}={cursor}"
    return Read("cases_deep_cursor", "command", lambda _i: deep)


async def run(url: str, repeats: int, seed: int, budget_s: float, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    from services.platform.settings import ApiSettings
    from services.tracker.app import create_app
    from services.tracker.auth import Role, add_user

    settings = ApiSettings(database_url=url, redis_prefix=f"bd{uuid.uuid4().hex[:8]}:")
    app = create_app(settings)
    tz = ZoneInfo(app.state.core.city.timezone)
    sample = _sample(app, 200, seed)
    units = sorted(u for u in app.state.core.city.units if u.startswith("SQ_"))
    squad_unit = "SQ_RUCHENG" if "SQ_RUCHENG" in units else units[0]
    tag = uuid.uuid4().hex[:6]
    tokens = {"operator": add_user(app.state.sessions, f"压测接线员{tag}", Role.OPERATOR, None),
              "command": add_user(app.state.sessions, f"压测指挥员{tag}", Role.COMMAND, None),
              "squad": add_user(app.state.sessions, f"压测队员{tag}", Role.SQUAD, squad_unit)}
    plan, missing = reads(app, sample, tz, _total(app))
    rss_start = rss_mb()
    load_start = os.getloadavg()[0]
    results: dict[str, Any] = {}
    skipped: list[str] = []
    errors: dict[str, str] = {}
    clients: dict[int, httpx.AsyncClient] = {}

    def client_for(read: Read, i: int) -> httpx.AsyncClient:
        key = (i % 200) + 1 if read.client else 0
        if key not in clients:
            addr = ("127.0.0.1", 5000) if key == 0 else (f"10.0.{key // 250}.{key % 250 + 1}", 5000)
            clients[key] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=addr),
                                             base_url="http://bench", timeout=600)
        return clients[key]

    try:
        deep = list_params(app, "/api/v1/cases")
        cursor = next((p for p in ("cursor", "after", "before") if p in deep), None)
        if cursor is not None:
            found = await _cursor_read(client_for(plan[0], 0), {"Authorization": f"Bearer {tokens['command']}"}, cursor)
            if found is not None:
                plan.append(found)
            else:
                missing.append("cases_deep_page (cursor not found in the answer)")
        skipped = [r.name for r in plan if any(r.name.startswith(x) for x in skip)]
        for read in plan:
            if read.name in skipped:
                continue
            headers = {"Authorization": f"Bearer {tokens[read.role]}"} if read.role in tokens else {}
            times: list[float] = []
            spent = 0.0
            for i in range(repeats + 1):
                client = client_for(read, i)
                started = time.perf_counter()
                if read.body is not None:
                    r = await client.post(read.path(i), json=read.body(i), headers=headers)
                else:
                    r = await client.get(read.path(i), headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if r.status_code != 200:
                    errors[read.name] = f"{r.status_code} {read.path(i)}: {r.text[:200]}"
                    break
                if i == 0 and elapsed / 1000 > budget_s:  # one call is over the budget: it is the figure
                    times.append(elapsed)
                    break
                if i > 0:  # the first call warms caches up
                    times.append(elapsed)
                spent += elapsed / 1000
                if spent > budget_s and len(times) >= 3:
                    break
            if times:
                results[read.name] = {"n": len(times), "p50_ms": round(percentile(times, 50), 2),
                                      "p95_ms": round(percentile(times, 95), 2),
                                      "p99_ms": round(percentile(times, 99), 2)}
                print(f"bench-data: {read.name} p95 {results[read.name]['p95_ms']} ms", file=sys.stderr, flush=True)
    finally:
        for c in clients.values():
            await c.aclose()
        await app.state.redis.aclose()
        app.state.sessions.kw["bind"].dispose()
    return {"reads": results, "missing": missing, "errors": errors, "skipped": skipped,
            "rss_mb": {"after_start": rss_start, "after_reads": rss_mb(), "peak": peak_rss_mb()},
            # the machine's 1-minute load average when the reads began and ended (shared machines)
            "load_avg": [round(load_start, 1), round(os.getloadavg()[0], 1)], "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.ops.bench_data_reads")
    p.add_argument("--database-url", required=True)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--seed", type=int, default=12319)
    p.add_argument("--budget-s", type=float, default=60.0)
    p.add_argument("--skip", default="", help="reads to leave out: comma-separated name prefixes")
    args = p.parse_args(argv)
    skip = tuple(x for x in args.skip.split(",") if x)
    result = asyncio.run(run(args.database_url, args.repeats, args.seed, args.budget_s, skip))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
