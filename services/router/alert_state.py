"""The router's alert state in Redis (not Faust tables: broker notes say their recovery on
Tansu can drop updates).  Shared by every router worker, so the timer may run on each.

Keys (under the settings' ``redis_prefix``):

- ``alerts:open:{complaint_id}``  JSON of the :class:`OpenCase` still watched
- ``alerts:due``                  sorted set complaint_id -> epoch of its next alert check
- ``alerts:done:{complaint_id}``  marker: case resolved/closed/terminal; a late routed event does not re-open it
- ``alerts:hot:{category}:{place}`` sorted set complaint_id -> epoch received (sliding window)
- ``alerts:raised:{alert_id}``    SET NX marker: an alert is raised once, restarts included
- ``alerts:hotcool:{category}:{place}`` a hot spot is raised once per window for a place
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from services.core.alerts import (
    AlertKind,
    AlertRaised,
    OpenCase,
    deadline_alerts,
    next_check,
    window_alert,
)
from services.core.events import CaseEvent, ComplaintRouted
from services.core.workflow import FINISHED

# Case statuses after which no deadline is watched any more.
NOT_WATCHED = FINISHED
DONE_TTL_S = 30 * 86400


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _received_at(ev: ComplaintRouted) -> datetime:
    return ev.received_at or (ev.complaint.received_at if ev.complaint else ev.routed_at)


def _case_json(case: OpenCase) -> str:
    return json.dumps({
        "complaint_id": case.complaint_id, "ticket_no": case.ticket_no, "unit": case.unit,
        "category": case.category, "territory": case.territory, "received_at": case.received_at.isoformat(),
        "accept_by": case.accept_by.isoformat(), "resolve_by": case.resolve_by.isoformat(),
        "accepted": case.accepted,
    })


def _case_from(raw: str | bytes) -> OpenCase:
    d: dict[str, Any] = json.loads(raw)
    return OpenCase(
        complaint_id=d["complaint_id"], ticket_no=d["ticket_no"], unit=d["unit"], category=d.get("category"),
        territory=d.get("territory"), received_at=datetime.fromisoformat(d["received_at"]),
        accept_by=datetime.fromisoformat(d["accept_by"]), resolve_by=datetime.fromisoformat(d["resolve_by"]),
        accepted=bool(d.get("accepted")),
    )


def case_from_event(ev: CaseEvent) -> OpenCase | None:
    """The watched state after a tracker event (its ``data.case`` snapshot); None if not watched."""
    snap = ev.data.get("case")
    if not isinstance(snap, dict) or snap.get("status") in NOT_WATCHED:
        return None
    try:
        return OpenCase(
            complaint_id=ev.complaint_id, ticket_no=ev.ticket_no, unit=str(snap["unit"]),
            category=snap.get("category"), territory=snap.get("territory"),
            received_at=datetime.fromisoformat(snap["received_at"]),
            accept_by=datetime.fromisoformat(snap["accept_by"]),
            resolve_by=datetime.fromisoformat(snap["resolve_by"]),
            accepted=snap.get("accepted_at") is not None,
        )
    except (KeyError, TypeError, ValueError):
        return None


class AlertState:
    def __init__(self, redis: Redis, prefix: str, *, hotspot_threshold: int, hotspot_window: timedelta,
                 dedupe_ttl_s: int = 14 * 86400) -> None:
        self.redis = redis
        self.p = f"{prefix}alerts:"
        self.threshold = hotspot_threshold
        self.window = hotspot_window
        self.dedupe_ttl_s = dedupe_ttl_s

    def _schedule(self, pipe: Any, case: OpenCase, now: datetime) -> None:
        due = next_check(case, now)
        if due is None:
            pipe.delete(self.p + f"open:{case.complaint_id}")
            pipe.zrem(self.p + "due", case.complaint_id)
        else:
            pipe.set(self.p + f"open:{case.complaint_id}", _case_json(case), ex=DONE_TTL_S)
            pipe.zadd(self.p + "due", {case.complaint_id: _ts(due)})

    async def _watch(self, case: OpenCase, now: datetime) -> list[AlertRaised]:
        """Schedule the next check of ``case``; returns the alerts already due now."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._schedule(pipe, case, now)
            await pipe.execute()
        return deadline_alerts(case, now)

    async def _unwatch(self, complaint_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.p + f"open:{complaint_id}")
            pipe.zrem(self.p + "due", complaint_id)
            pipe.set(self.p + f"done:{complaint_id}", 1, ex=DONE_TTL_S)
            await pipe.execute()

    async def track_routed(self, ev: ComplaintRouted, now: datetime) -> list[AlertRaised]:
        """Watch the deadlines of a routed complaint; returns the alerts due now (deadlines, hot spot)."""
        return await self.track_routed_many([ev], now)

    async def track_routed_many(self, events: Sequence[ComplaintRouted], now: datetime) -> list[AlertRaised]:
        """:meth:`track_routed` for a batch in two Redis round trips (reads, then every write).

        A hot spot costs two numbers per place and batch (how many in the window, the earliest),
        however many complaints its window holds."""
        if not events:
            return []
        places: dict[str, list[ComplaintRouted]] = {}  # hot-spot key -> the batch's events of that place
        for ev in events:
            if place := ev.village or ev.territory:
                places.setdefault(self.p + f"hot:{ev.category}:{place}", []).append(ev)
        async with self.redis.pipeline(transaction=False) as pipe:
            for ev in events:
                pipe.exists(self.p + f"done:{ev.complaint_id}")
                pipe.exists(self.p + f"open:{ev.complaint_id}")
            for key in places:
                pipe.zrange(key, -1, -1, withscores=True)
            reads = await pipe.execute()
        flags, tops = reads[:2 * len(events)], reads[2 * len(events):]
        # Records of one place arrive from several partitions in any order: judge the window that
        # ends at the latest complaint seen, not at this batch's latest (which may be older).
        latest = {key: max([*(_ts(_received_at(e)) for e in evs), *(score for _, score in top)])
                  for (key, evs), top in zip(places.items(), tops, strict=True)}
        span = self.window.total_seconds()
        out: list[AlertRaised] = []
        watched: set[str] = set()
        async with self.redis.pipeline(transaction=True) as pipe:
            for i, ev in enumerate(events):
                if not flags[2 * i] and not flags[2 * i + 1] and ev.complaint_id not in watched:
                    watched.add(ev.complaint_id)
                    case = OpenCase(ev.complaint_id, ev.ticket_no, ev.unit, ev.category, ev.territory,
                                    _received_at(ev), ev.accept_by, ev.resolve_by)
                    self._schedule(pipe, case, now)
                    out += deadline_alerts(case, now)
            for key, evs in places.items():
                pipe.zadd(key, {e.complaint_id: _ts(_received_at(e)) for e in evs})
                pipe.zremrangebyscore(key, "-inf", latest[key] - span)
                pipe.expire(key, int(span * 2) + 60)
                pipe.zcount(key, f"({latest[key] - span!r}", latest[key])
                pipe.zrangebyscore(key, f"({latest[key] - span!r}", latest[key], start=0, num=1, withscores=True)
            results = await pipe.execute()
        windows = results[len(results) - 5 * len(places):]
        for n, (key, evs) in enumerate(places.items()):
            count, first = windows[5 * n + 3], windows[5 * n + 4]
            out += self._hotspot(evs, int(count), first[0][1] if first else latest[key], latest[key])
        return out

    def _hotspot(self, evs: list[ComplaintRouted], count: int, first: float, latest: float) -> list[AlertRaised]:
        ev = evs[-1]
        alert = window_alert(category=ev.category, place=ev.village or ev.territory or "",
                             place_name=ev.village or ev.territory_name, count=count,
                             first_at=datetime.fromtimestamp(first, UTC), now=datetime.fromtimestamp(latest, UTC),
                             threshold=self.threshold, window=self.window, territory=ev.territory, unit=ev.unit,
                             tickets=[e.ticket_no for e in evs])
        return [alert] if alert else []

    async def apply_case_event(self, ev: CaseEvent, now: datetime) -> list[AlertRaised]:
        """Follow a tracker event (accepted, resolved, re-dispatched...); returns the alerts due now."""
        case = case_from_event(ev)
        if case is None:
            if isinstance(ev.data.get("case"), dict):
                await self._unwatch(ev.complaint_id)
            return []
        await self.redis.delete(self.p + f"done:{ev.complaint_id}")
        return await self._watch(case, now)

    async def due_alerts(self, now: datetime, limit: int = 500) -> list[AlertRaised]:
        """Alerts due at ``now`` for the watched cases whose next check has come; reschedules them."""
        ids = await self.redis.zrangebyscore(self.p + "due", "-inf", _ts(now), start=0, num=limit)
        out: list[AlertRaised] = []
        for raw_id in ids:
            cid = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            raw = await self.redis.get(self.p + f"open:{cid}")
            if raw is None:
                await self.redis.zrem(self.p + "due", cid)
                continue
            out.extend(await self._watch(_case_from(raw), now))
        return out

    def _cooldown_key(self, alert: AlertRaised) -> str | None:
        """A hot spot is raised once per window for its place, even across a bucket boundary."""
        return self.p + f"hotcool:{alert.category}:{alert.place}" if alert.kind == AlertKind.HOTSPOT else None

    async def claim(self, alert: AlertRaised) -> bool:
        """True the first time an alert id is seen (across workers and restarts)."""
        return bool(await self.claim_many([alert]))

    async def claim_many(self, alerts: Iterable[AlertRaised]) -> list[AlertRaised]:
        """The alerts seen for the first time (across workers and restarts), in order, in two Redis
        round trips: each alert id is claimed once, and a hot spot also claims its place's cool-down."""
        unique = list({a.alert_id: a for a in alerts}.values())
        if not unique:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for alert in unique:
                pipe.set(self.p + f"raised:{alert.alert_id}", 1, nx=True, ex=self.dedupe_ttl_s)
            first = await pipe.execute()
        won = [a for a, ok in zip(unique, first, strict=True) if ok]
        cooled = [(a, key) for a in won if (key := self._cooldown_key(a)) is not None]
        if not cooled:
            return won
        async with self.redis.pipeline(transaction=False) as pipe:
            for alert, key in cooled:
                pipe.set(key, alert.alert_id, nx=True, ex=int(self.window.total_seconds()))
            second = await pipe.execute()
        lost = {a.alert_id for (a, _key), ok in zip(cooled, second, strict=True) if not ok}
        return [a for a in won if a.alert_id not in lost]

    async def raise_new(self, alerts: Iterable[AlertRaised], send: Callable[[AlertRaised], Awaitable[None]]) -> int:
        """Send each alert not raised before (by any process), all at once; the claims of failed
        sends are given back and the first error re-raised, so a later deadline check raises them.
        Returns how many were sent."""
        claimed = await self.claim_many(alerts)
        results = await asyncio.gather(*(send(a) for a in claimed), return_exceptions=True)
        failed = [(a, r) for a, r in zip(claimed, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            await self.release([a for a, _ in failed])
            raise failed[0][1]
        return len(claimed)

    async def release(self, alerts: Iterable[AlertRaised]) -> None:
        """Forget claims whose publish failed, so a later check raises them."""
        for alert in alerts:
            await self.redis.delete(self.p + f"raised:{alert.alert_id}")
            cool = self._cooldown_key(alert)
            if cool:
                await self.redis.delete(cool)
