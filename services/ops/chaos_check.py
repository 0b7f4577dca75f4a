"""The end of a chaos run: wait (bounded) for every ticket to be a routed case, then check, via the
database and the API, that nothing was lost, nothing was duplicated and nothing appeared from nowhere.

Each submitted complaint carries a unique marker in its text, so a case can be traced back to the
request that produced it even when the client never saw its ticket.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from services.ops.chaos_load import Submission
from services.platform.db import make_engine, make_sessionmaker
from services.tracker.models import Case, CaseEventRow, IntakeRecord
from services.tracker.projection import RECEIVED

MARKER_RE = re.compile(r"CH[0-9a-f]+N\d{6}")


@dataclass
class CaseRow:
    complaint_id: str
    ticket_no: str
    status: str
    routed_by: str | None
    marker: str | None


class Snapshot:
    """Cases, intake records and duplicate case events, read straight from the database."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self.sessions = make_sessionmaker(self.engine)

    def cases(self) -> list[CaseRow]:
        with self.sessions() as s:
            rows = s.execute(select(Case.complaint_id, Case.ticket_no, Case.status, Case.routed_by, Case.text)).all()
        out = []
        for cid, ticket, status, routed_by, text in rows:
            found = MARKER_RE.search(text or "")
            out.append(CaseRow(cid, ticket, status, routed_by, found.group(0) if found else None))
        return out

    def intake_count(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(IntakeRecord)) or 0)

    def duplicate_events(self) -> int:
        """A case's `received` or `dispatched` recorded more than once (what a notifier would send twice)."""
        with self.sessions() as s:
            q = (select(CaseEventRow.complaint_id, CaseEventRow.type, func.count())
                 .where(CaseEventRow.type.in_(("received", "dispatched")))
                 .group_by(CaseEventRow.complaint_id, CaseEventRow.type).having(func.count() > 1))
            return sum(int(n) - 1 for _cid, _type, n in s.execute(q).all())

    def close(self) -> None:
        self.engine.dispose()


def wait_settled(snap: Snapshot, tickets: set[str], timeout_s: float) -> float:
    """Poll until every given-out ticket is a case that left `received`; return the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            routed = {c.ticket_no for c in snap.cases() if c.status != RECEIVED}
        except Exception:  # the database may still be coming back
            routed = set()
        if tickets <= routed:
            break
        time.sleep(1.0)
    return round(time.monotonic() - start, 1)


async def api_check(base_url: str, headers: dict[str, str], tickets: list[str]) -> dict[str, Any]:
    """GET /api/v1/cases/{ticket} for the given tickets: each must answer 200 and be routed."""
    bad: list[str] = []
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:

        async def one(ticket: str) -> None:
            async with sem:
                for _ in range(3):
                    try:
                        r = await client.get(f"/api/v1/cases/{ticket}")
                    except httpx.HTTPError as exc:
                        last = type(exc).__name__
                        await asyncio.sleep(0.5)
                        continue
                    if r.status_code == 200 and r.json().get("ticket_no") == ticket \
                            and r.json().get("status") != RECEIVED:
                        return
                    last = f"{r.status_code} {r.text[:120]}"
                    if r.status_code != 503:
                        break
                    await asyncio.sleep(0.5)
                bad.append(f"{ticket}: {last}")

        await asyncio.gather(*(one(t) for t in tickets))
    return {"api_checked": len(tickets), "api_bad": len(bad), "api_bad_examples": bad[:5]}


def verdict(subs: list[Submission], cases: list[CaseRow], duplicate_events: int) -> dict[str, Any]:
    """The figures of the run.  `missing` and `duplicates` must be 0."""
    by_ticket = {c.ticket_no: c for c in cases}
    by_marker: dict[str, list[CaseRow]] = {}
    for c in cases:
        if c.marker:
            by_marker.setdefault(c.marker, []).append(c)
    sub_by_marker = {s.marker: s for s in subs}
    ticketed = [s for s in subs if s.ticket is not None]
    missing = [s for s in ticketed if s.ticket not in by_ticket or by_ticket[s.ticket].status == RECEIVED
               or by_ticket[s.ticket].marker != s.marker]
    # WeChat over its 5 s budget answers "being registered" and finishes in the background: the citizen
    # asks for the ticket later, so the complaint must still become exactly one routed case
    later = [s for s in subs if s.outcome == "accepted_later"]
    missing += [s for s in later if not any(c.status != RECEIVED for c in by_marker.get(s.marker, []))]
    reticketed = [s for s in subs if len(s.tickets) > 1]  # one request, two different tickets
    double_cases = sum(len(v) - 1 for v in by_marker.values() if len(v) > 1)
    given = {s.ticket for s in ticketed}
    without_ticket = [c for c in cases if c.ticket_no not in given]
    # a case whose request ended in a clear error (e.g. 503 after the broker had stored it): a phantom.
    # A request whose last attempt got no answer at all (connection cut, timeout) may have been stored:
    # its case is the complaint kept, not a lie told; counted apart
    untold = [c for c in without_ticket if c.marker and c.marker in sub_by_marker
              and sub_by_marker[c.marker].outcome not in ("ticket", "accepted_later")]
    phantom = [c for c in untold if c.marker and sub_by_marker[c.marker].status is not None]
    outcomes = Counter(s.outcome for s in subs)
    statuses = Counter(str(s.status) for s in subs if s.outcome != "ticket")
    return {
        "submitted": len(subs),
        "ticketed": len(ticketed),
        "accepted_later": len(later),
        "errors": outcomes.get("error", 0),
        "cases": len(cases),
        "missing": len(missing),
        "duplicates": len(reticketed) + double_cases + duplicate_events,
        "duplicate_detail": {"tickets_per_request": len(reticketed), "cases_per_complaint": double_cases,
                             "case_events": duplicate_events},
        "cases_without_ticket": len(without_ticket),
        "phantom_cases": len(phantom),
        "cases_of_unanswered_requests": len(untold) - len(phantom),
        "phantom_by_channel": dict(Counter(sub_by_marker[c.marker].channel for c in phantom if c.marker)),
        "hangs": sum(s.hangs for s in subs),
        "final_hangs": outcomes.get("hang", 0),
        "unclear_answers": sum(len(s.unclear) for s in subs),
        "unclear_examples": [u for s in subs for u in s.unclear][:5],
        "error_statuses": dict(statuses),
        "attempts": sum(s.attempts for s in subs),
        "channels": dict(Counter(s.channel for s in subs)),
        "routed_by": dict(Counter(c.routed_by or "none" for c in cases)),
        "missing_examples": [f"{s.ticket} ({s.marker})" for s in missing[:5]],
        "phantom_examples": [f"{c.ticket_no}: {sub_by_marker[c.marker].reply or sub_by_marker[c.marker].status}"
                             for c in phantom[:5] if c.marker],
    }
