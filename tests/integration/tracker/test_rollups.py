"""The KPI rollup equals a recount from the cases after a seeded random sequence of filings,
dispatches, actions, re-routes, extensions, ratings, direct updates and replays of the same events;
and GET /api/v1/stats of whole days (read from the rollup) equals ``compute`` over ``load_facts``
(SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.core.events import CategoryScore, Channel, ComplaintReceived, ComplaintRouted
from services.tracker import routes_stats
from services.tracker.models import Case
from services.tracker.projection import apply_received, apply_routed
from services.tracker.rollup_models import MEASURES, CaseRollupKey, KpiDurationHist, KpiRollup, KpiRollupMonth
from services.tracker.rollups import by_month, rebuild, recount, zone
from services.tracker.stats import compute, load_facts
from tests.integration.tracker.conftest import Api, new_ticket

TZ = ZoneInfo("Asia/Shanghai")
DAY0 = date(2026, 10, 3)
DAYS = 6
UNITS = {"SQ_BAIPU": "320682105", "SQ_RUCHENG": "320682001"}
CATEGORIES = ("NOISE_CONSTRUCTION", "GARBAGE")
RESOLVE = {"result": "已现场处置完毕", "photos": []}
EXCLUDED = ("from", "to", "as_of", "live")


class Stream:
    """Cases filed and dispatched through the projection, with their events kept for replays."""

    def __init__(self, api: Api, rng: random.Random) -> None:
        self.api, self.rng = api, rng
        self.events: list[ComplaintReceived | ComplaintRouted] = []
        self.tickets: list[str] = []

    def file(self) -> None:
        cid, ticket = str(uuid.uuid4()), new_ticket()
        at = datetime.combine(DAY0 + timedelta(days=self.rng.randrange(DAYS)), time(0), TZ).astimezone(UTC) \
            + timedelta(seconds=self.rng.randrange(86400))
        received = ComplaintReceived(event_id=f"recv-{cid}", complaint_id=cid, ticket_no=ticket, city="rugao",
                                     channel=Channel.HOTLINE, text="白蒲镇唐堡村工地夜间施工噪音", phone="13812345678",
                                     received_at=at, submitted_by="operator:test")
        self.apply(received)
        self.events.append(received)
        self.tickets.append(ticket)
        if self.rng.random() < 0.85:
            unit = self.rng.choice(sorted(UNITS))
            category = self.rng.choice(CATEGORIES)
            routed = ComplaintRouted(
                event_id=f"route-{cid}", complaint_id=cid, ticket_no=ticket, routed_at=at, category=category,
                category_candidates=[CategoryScore(code=category, score=0.9)], territory=UNITS[unit], unit=unit,
                rule="test", accept_by=at + timedelta(minutes=self.rng.choice((10, 30, 60))),
                resolve_by=at + timedelta(hours=self.rng.choice((2, 4, 24))))
            self.apply(routed)
            self.events.append(routed)

    def apply(self, ev: ComplaintReceived | ComplaintRouted) -> None:
        with self.api.sessions.begin() as s:
            if isinstance(ev, ComplaintReceived):
                apply_received(s, ev)
            else:
                apply_routed(s, ev)

    def replay(self) -> None:
        for ev in self.rng.sample(self.events, min(5, len(self.events))):
            self.apply(ev)


def act(api: Api, rng: random.Random, ticket: str) -> int:
    """One random action through the API as the admin (refusals, e.g. a closed case, are part of it)."""
    path = f"/api/v1/cases/{ticket}/"
    choice = rng.randrange(9)
    if choice == 0:
        return int(api.post("admin", path + "accept").status_code)
    if choice == 1:
        return int(api.post("admin", path + "resolve",
                            {**RESOLVE, "disposal_mode": rng.choice(("服务", "管理", "执法"))}).status_code)
    if choice == 2:
        return int(api.post("admin", path + "verify").status_code)
    if choice == 3:
        return int(api.post("admin", path + "reopen", {"reason": "现场核查仍未处理"}).status_code)
    if choice == 4:
        unit = rng.choice(sorted(UNITS))
        return int(api.post("admin", path + "reassign", {"unit": unit, "category": rng.choice(CATEGORIES)}).status_code)
    if choice == 5:
        r = api.post("admin", path + "extension", {"reason": "需要协调多个部门", "hours": rng.choice((12, 48))})
        return int(api.post("admin", path + "extension/approve").status_code) if r.status_code == 200 else 409
    if choice == 6:
        return int(api.client.post(f"/api/v1/public/cases/{ticket}/rating",
                                   json={"phone_last4": "5678",
                                         "rating": rng.choice(("满意", "基本满意", "不满意"))}).status_code)
    if choice == 7:  # a direct UPDATE of the row (as a repair or a test would)
        day = DAY0 + timedelta(days=rng.randrange(DAYS))
        api.set(ticket, received_at=datetime.combine(day, time(rng.randrange(24)), TZ).astimezone(UTC),
                rating=rng.choice((None, "满意", "不满意")), territory=rng.choice((None, "320682105")))
        return 200
    with api.sessions.begin() as s:  # an ORM change of the loaded case
        case = s.scalars(select(Case).where(Case.ticket_no == ticket)).one()
        case.reopens += 1
        case.extended = not case.extended
        case.unit = rng.choice((None, *UNITS))
    return 200


Counted = tuple[dict[tuple[Any, ...], dict[str, int]], dict[str, tuple[Any, ...]], dict[tuple[Any, ...], int]]


def stored(api: Api) -> Counted:
    with api.sessions() as s:
        sums = {(r.day, r.unit, r.category, r.territory): {m: getattr(r, m) for m in MEASURES}
                for r in s.scalars(select(KpiRollup))}
        keys = {r.complaint_id: ((r.day, r.unit, r.category, r.territory), r.counts, r.accept_s, r.resolve_s,
                                 r.accept_b, r.resolve_b)
                for r in s.scalars(select(CaseRollupKey))}
        hist = {(h.month, h.dim, h.value, h.measure, h.bucket): h.n for h in s.scalars(select(KpiDurationHist))}
        months = {(r.month, r.dim, r.value): {m: getattr(r, m) for m in MEASURES}
                  for r in s.scalars(select(KpiRollupMonth))}
    assert months == {k: v for k, v in by_month(sums).items() if v["received"]}  # the months add the days up
    return sums, keys, hist


def recounted(api: Api) -> Counted:
    with api.sessions() as s:
        tz = zone(s.connection())
        assert tz == TZ
        sums, per_case, hist = recount(s.connection(), tz)
    return ({k: v for k, v in sums.items() if v["received"]},
            {cid: (c.key, c.counts, c.accept_s, c.resolve_s, c.accept_b, c.resolve_b) for cid, c in per_case.items()},
            {cell: n for cell, n in hist.items() if n})


def stats(api: Api, params: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the endpoint's figures, compute over load_facts for the same period at the same moment)."""
    r = api.get("command", "/api/v1/stats", **params)
    assert r.status_code == 200, r.text
    body = r.json()
    start, end = (datetime.fromisoformat(body[k]) for k in ("from", "to"))
    now = datetime.fromisoformat(body["as_of"])
    with api.sessions() as s:
        expected = compute(load_facts(s, start, end), now, params.get("group_by"))
    return {k: v for k, v in body.items() if k not in (*EXCLUDED, "group_by")}, expected


@pytest.mark.parametrize("seed", [19])
def test_rollup_equals_recount_and_stats_equal_compute(api: Api, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    stream = Stream(api, rng)
    done = []
    for step in range(160):
        if step < 30 or rng.random() < 0.15:
            stream.file()
        elif rng.random() < 0.1:
            stream.replay()
        else:
            done.append(act(api, rng, rng.choice(stream.tickets)))
    assert done.count(200) >= 30, done  # the sequence did change cases, not only get refused

    sums, keys, hist = stored(api)
    expected_sums, expected_keys, expected_hist = recounted(api)
    assert sums == expected_sums, {k: (sums.get(k), expected_sums.get(k)) for k in {*sums, *expected_sums}
                                   if sums.get(k) != expected_sums.get(k)}
    assert keys == expected_keys, {c: (keys.get(c), expected_keys.get(c)) for c in {*keys, *expected_keys}
                                   if keys.get(c) != expected_keys.get(c)}
    assert hist == expected_hist and sum(hist.values()) > 0
    assert sum(s["received"] for s in sums.values()) == len(stream.tickets)
    assert sum(s["reopens"] for s in sums.values()) > 0 and sum(s["rated"] for s in sums.values()) > 0

    # whole days come from the rollup alone: reading the period's cases would fail
    def no_facts(*_: Any) -> Any:
        raise AssertionError("the period's cases were read")

    with monkeypatch.context() as m:
        m.setattr(routes_stats, "load_facts", no_facts)
        for group_by in (None, "unit", "category", "territory"):
            for period in ({"from": DAY0.isoformat(), "to": (DAY0 + timedelta(days=DAYS)).isoformat()},
                           {"from": (DAY0 + timedelta(days=2)).isoformat(), "to": (DAY0 + timedelta(days=2)).isoformat()},
                           {"from": "2026-10-01", "to": "2026-10-31"},    # a whole month: its histogram
                           {"from": "2026-09-20", "to": "2026-11-10"},    # a month and days beside it
                           {"from": DAY0.isoformat()}):                   # up to now: the pages' form
                params = {**period, **({"group_by": group_by} if group_by else {})}
                got, expected = stats(api, params)
                assert got == expected, params
                assert got["total"]["received"] > 0
    # a period that is not whole days: from the cases, and the same figures
    got, expected = stats(api, {"from": "2026-10-04T10:30:00+08:00", "to": "2026-10-07T09:00:00+08:00",
                                "group_by": "unit"})
    assert got == expected and got["total"]["received"] > 0

    # a rebuild (the migration's back-fill) writes the same rollup
    with api.sessions.begin() as s:
        rebuild(s.connection(), "Asia/Shanghai")
    assert stored(api) == (sums, keys, hist)
