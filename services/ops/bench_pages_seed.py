"""Fill a tracker database with N realistic cases for `complaints bench-pages`, fast and consistently.

Each case goes the way a real one does, through the tracker's own code, in big transactions:

1. a ``ComplaintReceived`` (a development complaint's text, a phone, a ticket number of its Beijing
   day) in the intake log, as the API writes it;
2. the real router's decision (``services/router/handler.py``: classification, place, unit,
   deadlines from the time it was received), applied by the projection (``apply_received`` /
   ``apply_routed``): the case row and its ``received``/``dispatched`` history;
3. a plan of actions (accept, extension request approved or refused, resolve, reopen, 督办,
   verify, rating, return, forward, answer, the command centre assigning a case it holds), each
   applied by the same handlers and state machine as the API (``actions._apply``), at the simulated
   time it happens; the steps whose time is still in the future are not applied, so recent cases are
   open and old ones mostly closed, as on a real system.

The outbox rows those actions write are marked published: they are history, not news for the router.
"""

from __future__ import annotations

import random
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived
from services.intake.store import PUBLISHED
from services.tracker import commands as c
from services.tracker.actions import ActionError, Ctx, _apply
from services.tracker.case_handlers import HANDLERS
from services.tracker.models import IntakeRecord, OutboxRow
from services.tracker.projection import apply_received, apply_routed, end_batch, prefetch
from services.tracker.transitions import Action

BATCH = 500
NAMES = ["王女士", "李先生", "张女士", "刘先生", "陈女士", "杨先生", "赵女士", None, None]
RESULTS = ["已到现场处理，当事人已整改", "现场责令停止，已拆除并清理", "已约谈业主，承诺限期整改",
           "已联系相关单位修复完毕", "现场劝导后摊点已撤离"]
MODES = ["服务"] * 7 + ["管理"] * 2 + ["执法"]  # the city's 721 method
RATINGS = ["满意"] * 6 + ["基本满意"] * 3 + ["不满意"]

Step = tuple[Action, c.Command, float, str]  # action, body, hours after the case was received, actor role


@dataclass
class SeedReport:
    cases: int
    actions: int
    refused: int
    seconds: float
    by_status: dict[str, int]


def _plan(rng: random.Random, unit: str | None, squads: list[str], centre: str) -> list[Step]:
    """The life of one case (hours after it was received); only the steps already past are applied."""
    h = 0.0
    steps: list[Step] = []

    def step(action: Action, body: c.Command, after: float, who: str = "squad") -> None:
        nonlocal h
        h += after
        steps.append((action, body, h, who))

    if unit == centre or unit is None:  # held for want of a place: the command centre assigns it
        if rng.random() < 0.05:
            return steps
        step(Action.REASSIGN, c.Reassign(unit=rng.choice(squads)), rng.uniform(0.2, 2.0), "command")
    kind = rng.random()
    if kind < 0.03:
        step(Action.FORWARD, c.Forward(note="非城管职责，转12345平台"), rng.uniform(0.1, 1.0), "command")
        return steps
    if kind < 0.05:
        step(Action.ANSWER, c.Answer(answer="已向来电人解释相关政策"), rng.uniform(0.1, 1.0), "command")
        return steps
    if kind < 0.07:
        step(Action.RETURN, c.WithReason(reason="不属于本辖区"), rng.uniform(0.2, 2.0))
    step(Action.ACCEPT, c.Empty(), rng.uniform(0.1, 3.0))
    if rng.random() < 0.02:  # never finished: overdue once its time limit passes
        return steps
    if rng.random() < 0.3:
        step(Action.START, c.Empty(), rng.uniform(0.2, 4.0))
    if rng.random() < 0.08:
        step(Action.REQUEST_EXTENSION, c.ExtensionRequest(hours=48, reason="需协调多个部门联合处置"),
             rng.uniform(2, 24))
        if rng.random() < 0.8:
            step(Action.APPROVE_EXTENSION, c.Empty(), rng.uniform(0.5, 8), "command")
        else:
            step(Action.REFUSE_EXTENSION, c.WithReason(reason="情况简单，应按期办结"), rng.uniform(0.5, 8), "command")
    if rng.random() < 0.04:
        step(Action.SUPERVISE, c.Supervise(note="群众反映强烈，请加快处置"), rng.uniform(1, 24), "command")
    resolve = c.Resolve(result=rng.choice(RESULTS), disposal_mode=rng.choice(MODES))  # type: ignore[arg-type]
    step(Action.RESOLVE, resolve, rng.uniform(2, 60))
    if rng.random() < 0.05:
        step(Action.REOPEN, c.WithReason(reason="核查发现问题仍未解决"), rng.uniform(1, 24), "command")
        step(Action.RESOLVE, resolve, rng.uniform(2, 24))
    step(Action.VERIFY, c.Empty(), rng.uniform(1, 24), "command")
    if rng.random() < 0.6:
        step(Action.RATE, c.Rate(rating=rng.choice(RATINGS)), rng.uniform(1, 48), "citizen")  # type: ignore[arg-type]
    return steps


def _received(rng: random.Random, texts: list[str], places: list[str], received_at: datetime, ticket: str) -> ComplaintReceived:
    cid = str(uuid.uuid4())
    text = rng.choice(texts)
    return ComplaintReceived(
        event_id=f"recv-{cid}", complaint_id=cid, ticket_no=ticket, city="rugao",
        channel=Channel.HOTLINE if rng.random() < 0.8 else Channel.WECHAT, text=text,
        phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}", name=rng.choice(NAMES),
        address=rng.choice(places) if rng.random() < 0.8 else None, received_at=received_at,
        submitted_by="operator:接线员甲" if rng.random() < 0.8 else None)


def _times(rng: random.Random, n: int, now: datetime, days: float) -> list[datetime]:
    """Received times over the last ``days`` days, more by day than by night, oldest first."""
    out: list[datetime] = []
    while len(out) < n:
        at = now - timedelta(days=rng.uniform(0, days))
        hour = (at.hour + 8) % 24  # Beijing time
        if 7 <= hour <= 22 or rng.random() < 0.25:
            out.append(at)
    return sorted(out)


def _tickets(times: list[datetime], tz: ZoneInfo) -> list[str]:
    seq: dict[str, int] = {}
    out = []
    for at in times:
        day = "RG" + at.astimezone(tz).strftime("%Y%m%d")
        seq[day] = seq.get(day, 0) + 1
        out.append(f"{day}{seq[day]:06d}")
    return out


def _apply_steps(session: Session, engine: Engine, ticket: str, received_at: datetime, steps: list[Step],
                 now: datetime, unit_of: dict[str, str | None]) -> tuple[int, int]:
    done = refused = 0
    for action, body, hours, who in steps:
        at = received_at + timedelta(hours=hours)
        if at >= now:
            break
        unit = unit_of.get(ticket)
        actor = {"squad": f"squad:队员{zlib.crc32(str(unit).encode()) % 7 + 1}@{unit}", "command": "command:指挥员",
                 "citizen": "citizen:来电人"}[who]
        _, handler = HANDLERS[action]
        try:
            out = _apply(session, ticket, action.value, body, Ctx(engine=engine, now=at, actor=actor), handler, None, None)
        except ActionError:  # the plan met a guard (counted in the report): the case stays where it is
            refused += 1
            break
        unit_of[ticket] = out.response.get("unit")
        done += 1
    return done, refused


def seed(sessions: sessionmaker[Session], engine: Engine, n: int, *, days: float = 30.0, seed_value: int = 12319,
         texts: list[str] | None = None) -> SeedReport:
    """Write n cases received over the last ``days`` days; returns what was written."""
    from services.ops.bench import dev_texts

    started = time.perf_counter()
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    texts = texts or dev_texts()
    city = engine.city
    squads = sorted(u for u in city.units if u.startswith("SQ_"))
    places = [f"{t.name}{v.name}" for t in city.territories.values() for v in t.villages[:6]]
    times = _times(rng, n, now, days)
    tickets = _tickets(times, ZoneInfo(city.timezone))
    actions = refused = 0
    for start in range(0, n, BATCH):
        batch = [_received(rng, texts, places, at, t) for at, t in zip(times[start:start + BATCH],
                                                                     tickets[start:start + BATCH], strict=True)]
        routed = [routed_event(r, decide(engine, r), router="stream", model_version=engine.model.version,
                               now=r.received_at + timedelta(seconds=rng.uniform(0.1, 2.0))) for r in batch]
        with sessions.begin() as s:
            s.execute(insert(IntakeRecord), [
                {"complaint_id": r.complaint_id, "ticket_no": r.ticket_no, "channel": r.channel.value,
                 "idempotency_key": None, "payload": r.model_dump_json(), "created_at": r.received_at,
                 "published_at": r.received_at, "state": PUBLISHED} for r in batch])
            prefetch(s, {r.complaint_id for r in batch}, {r.event_id for r in batch} | {d.event_id for d in routed})
            for r, d in zip(batch, routed, strict=True):
                apply_received(s, r)
                apply_routed(s, d, r)
            s.flush()
            end_batch(s)
            unit_of: dict[str, str | None] = {d.ticket_no: d.unit for d in routed}
            # each action's UPDATE of its case runs at once; its history and outbox rows are only
            # inserted, so they are written in one flush at the end of the batch (not one per action)
            with s.no_autoflush:
                for r, d in zip(batch, routed, strict=True):
                    done, no = _apply_steps(s, engine, r.ticket_no, r.received_at, _plan(rng, d.unit, squads, city.command_centre), now,
                                            unit_of)
                    actions += done
                    refused += no
            s.flush()
            s.execute(update(OutboxRow).where(OutboxRow.published_at.is_(None)).values(published_at=now))
    return SeedReport(cases=n, actions=actions, refused=refused, seconds=round(time.perf_counter() - started, 1),
                      by_status=_statuses(sessions))


def _statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    from sqlalchemy import func, select

    from services.tracker.models import Case

    with sessions() as s:
        rows: Any = s.execute(select(Case.status, func.count()).group_by(Case.status)).all()
    return {str(status): int(count) for status, count in sorted(rows)}
