"""Rows of a year of history for `complaints bench-data`, generated in pure Python (no database).

Every case goes a real way through the city's configuration and the case state machine:

- a development complaint's text (``data/dev/complaints_dev.jsonl``) of a category of the taxonomy,
  at a town and village of ``divisions.json`` (the complaint's own place, or one drawn over every
  town, with its name in the text; a few without a place); the unit from ``routing.yaml``'s rules
  (``services.core.routing.route``) and the deadlines from the category's SLA (``services.core.sla``);
- a plan of actions (the command centre assigning what it holds, forward / answer of what is not the
  city's, return, accept, start, extension requested and approved or refused, 督办, resolve,
  reopen, verify, rating, merge), each move checked by the core state machine
  (``services.core.workflow.apply``); the moves whose time is still in the future are not made, so
  recent cases are open and old ones mostly closed;
- the ``case_events`` row of each move with the data the tracker's handlers write, the alerts the
  router would have raised (overdue, 督办, hot spots) and the corrections of the command centre's
  reassignments; the intake-log record of each ticket.

``generate`` yields batches of plain rows (dicts keyed by column name, Python values); the loader
(``services/ops/bench_data.py``) writes them with COPY (PostgreSQL) or executemany (SQLite).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.core import routing, sla
from services.core.config import CityConfig
from services.core.workflow import CaseState, CaseStatus, IllegalTransition, apply

NAMES = ["王女士", "李先生", "张女士", "刘先生", "陈女士", "杨先生", "赵女士", None, None]
RESULTS = ["已到现场处理，当事人已整改", "现场责令停止，已拆除并清理", "已约谈业主，承诺限期整改",
           "已联系相关单位修复完毕", "现场劝导后摊点已撤离"]
MODES = ["服务"] * 7 + ["管理"] * 2 + ["执法"]
RATINGS = ["满意"] * 6 + ["基本满意"] * 3 + ["不满意"]
MODEL_VERSION = "bench-data"


@dataclass
class Batch:
    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    intake: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    text: str
    category: str
    territory: str | None
    village: str | None


def sources(city: CityConfig, rows: list[dict[str, Any]]) -> list[Source]:
    """The development complaints whose category the city has (the texts of the history)."""
    return [Source(r["text"], r["category"], r.get("territory"), r.get("village"))
            for r in rows if r.get("category") in city.categories]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class _Life:
    """One case: its row, its state in the core machine, its events up to ``now``."""

    def __init__(self, gen: Generator, row: dict[str, Any]) -> None:
        self.gen, self.row = gen, row
        self.state = CaseState(status=CaseStatus(row["status"]), unit=row["unit"])
        self.at: datetime = row["routed_at"]
        self.stopped = False

    def snapshot(self) -> dict[str, Any]:
        r = self.row
        return {"status": r["status"], "unit": r["unit"], "category": r["category"], "territory": r["territory"],
                "received_at": _iso(r["received_at"]), "accept_by": _iso(r["accept_by"]),
                "resolve_by": _iso(r["resolve_by"]), "accepted_at": _iso(r["accepted_at"]),
                "returns": r["returns"], "version": r["version"]}

    def move(self, hours: float, event: str, steps: list[tuple[str, dict[str, Any]]], who: str,
             changes: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> bool:
        """Make the move ``hours`` after the previous one, unless that is after now; False: not made."""
        if self.stopped:
            return False
        at = self.at + timedelta(hours=hours)
        if at >= self.gen.now:
            self.stopped = True
            return False
        state: CaseState | None = self.state
        for name, params in steps:
            state = self.gen.apply(state, name, params) if state is not None else None
        if state is None:  # the plan met a guard of the state machine: the case stays where it is
            self.stopped = True
            return False
        self.state, self.at = state, at
        r = self.row
        r.update(changes or {})
        r.update(status=state.status.value, returns=state.returns, final_decision=state.final_routing,
                 extension=None if state.extension.value == "none" else state.extension.value,
                 reopens=state.reopened, rating=state.rating, merged_into=state.merged_into,
                 version=r["version"] + 1, updated_at=at)
        self.gen.event(r, event, self.gen.actor(who, r["unit"]), at, {**(data or {}), "case": self.snapshot()})
        return True


class Generator:
    def __init__(self, city: CityConfig, texts: list[Source], *, now: datetime, days: float, seed: int) -> None:
        self.city, self.texts, self.now, self.days = city, texts, now, days
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(city.timezone)
        self.squads = sorted(u for u in city.units if u.startswith("SQ_"))
        self.territories = list(city.territories.values())
        # towns with a squad get most complaints; farms and institutions (no squad) a few
        weights = [10.0 if city.unit_for_territory(t.code) else 0.5 for t in self.territories]
        self.cum_weights = [sum(weights[:i + 1]) for i in range(len(weights))]
        self.tickets: dict[str, int] = {}
        self.batch = Batch()
        self.last_open: dict[str, Any] | None = None
        self._moves: dict[tuple[Any, ...], CaseState | None] = {}
        self._routes: dict[tuple[str, str | None, bool], routing.Route] = {}

    def apply(self, state: CaseState, name: str, params: dict[str, Any]) -> CaseState | None:
        """The core state machine's move (memoised: states and moves repeat); None when refused."""
        key = (state, name, tuple(sorted(params.items())))
        if key not in self._moves:
            try:
                self._moves[key] = apply(state, name, **params)
            except IllegalTransition:
                self._moves[key] = None
        return self._moves[key]

    def route(self, category: str, territory: str | None, urgent: bool) -> routing.Route:
        key = (category, territory, urgent)
        if key not in self._routes:
            self._routes[key] = routing.route(self.city, routing.facts_for(self.city, category, territory, urgent))
        return self._routes[key]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def actor(self, who: str, unit: str | None) -> str:
        return {"squad": f"squad:队员{self.rng.randint(1, 5)}@{unit}", "command": "command:指挥员",
                "citizen": "citizen:来电人", "operator": "operator:接线员甲"}[who]

    def event(self, row: dict[str, Any], kind: str, actor: str, at: datetime, data: dict[str, Any]) -> None:
        self.batch.events.append({"event_id": f"{kind}-{self.rng.getrandbits(128):032x}",
                                  "complaint_id": row["complaint_id"], "type": kind, "actor": actor, "at": at,
                                  "data": data})

    def times(self, n: int) -> list[datetime]:
        """Received times over the last ``days`` days, more by day than by night, oldest first."""
        out: list[datetime] = []
        while len(out) < n:
            at = self.now - timedelta(seconds=self.rng.uniform(0, self.days * 86400))
            hour = at.astimezone(self.tz).hour
            if 7 <= hour <= 22 or self.rng.random() < 0.25:
                out.append(at)
        return sorted(out)

    def ticket(self, at: datetime) -> str:
        day = self.city.ticket_prefix + at.astimezone(self.tz).strftime("%Y%m%d")
        self.tickets[day] = self.tickets.get(day, 0) + 1
        return f"{day}{self.tickets[day]:06d}"

    def place(self, src: Source) -> tuple[str | None, str | None, str]:
        """(territory, village name, text) of a new case."""
        rng = self.rng
        if src.territory in self.city.territories and rng.random() < 0.3:
            return src.territory, src.village, src.text
        if rng.random() < 0.04:  # no place the router can tell: the command centre assigns it
            return None, None, src.text
        town = rng.choices(self.territories, cum_weights=self.cum_weights)[0]
        village = rng.choice(town.villages) if town.villages else None
        where = f"{town.name}{village.short_name if village else ''}"
        return town.code, village.name if village else None, f"{where}{src.text}"

    def case(self, received_at: datetime) -> dict[str, Any]:
        rng, city = self.rng, self.city
        src = rng.choice(self.texts)
        territory, village, text = self.place(src)
        urgent = rng.random() < 0.03
        route = self.route(src.category, territory, urgent)
        limits = sla.deadlines(city.categories[src.category], received_at, urgent, city.timezone)
        cid = self.uid()
        routed_at = received_at + timedelta(seconds=rng.uniform(0.1, 2.0))
        other = rng.choice(self.texts).category
        row: dict[str, Any] = {
            "complaint_id": cid, "ticket_no": self.ticket(received_at), "status": "dispatched",
            "channel": "hotline" if rng.random() < 0.8 else "wechat", "text": text,
            "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}", "name": rng.choice(NAMES),
            "address": None, "citizen_id": None, "location": None, "attachments": [], "media_pending": False,
            "category": src.category,
            "category_candidates": [{"code": src.category, "score": round(rng.uniform(0.55, 0.97), 3)},
                                    {"code": other, "score": round(rng.uniform(0.01, 0.3), 3)}],
            "evidence": [{"term": text[i:i + 2], "weight": round(rng.uniform(0.1, 1.5), 3), "category": src.category}
                         for i in range(0, min(len(text) - 1, 12), 3)],
            "urgent": urgent, "territory": territory,
            "territory_name": city.territories[territory].name if territory else None, "village": village,
            "unit": route.unit, "rule": route.rule, "review": rng.random() < 0.08, "routed_by": "stream",
            "received_at": received_at, "routed_at": routed_at, "accept_by": limits.accept_by,
            "resolve_by": limits.resolve_by, "accepted_at": None, "resolved_at": None, "closed_at": None,
            "returns": 0, "extension": None, "disposal_mode": None, "result": None, "rating": None,
            "merged_into": None, "reopens": 0, "final_decision": False, "extension_hours": None, "extended": False,
            "photos": None, "rated_at": None, "model_version": MODEL_VERSION, "routed_category": src.category,
            "secondary_category": None, "version": 2, "updated_at": routed_at,
        }
        if row["channel"] == "wechat":
            row["citizen_id"] = f"o{self.rng.getrandbits(96):024x}"
        self.intake(row)
        actor = "operator:接线员甲" if row["channel"] == "hotline" else "channel:wechat"
        self.event(row, "received", actor, received_at, {"needs_operator": False})
        self.event(row, "dispatched", "router:stream", routed_at,
                   {"unit": route.unit, "category": src.category, "rule": route.rule, "urgent": urgent,
                    "territory": territory, "village": village, "review": row["review"], "review_reasons": [],
                    "urgent_evidence": [], "place_evidence": [village] if village else [],
                    "model_version": MODEL_VERSION})
        return row

    def intake(self, row: dict[str, Any]) -> None:
        payload = {"schema_version": 1, "event_id": f"recv-{row['complaint_id']}", "complaint_id": row["complaint_id"],
                   "ticket_no": row["ticket_no"], "city": self.city.code, "channel": row["channel"], "text": row["text"],
                   "phone": row["phone"], "name": row["name"], "address": None, "reported_at": None,
                   "received_at": row["received_at"].isoformat(), "location": None, "attachments": [],
                   "citizen_id": row["citizen_id"], "needs_operator": False,
                   "submitted_by": "operator:接线员甲" if row["channel"] == "hotline" else None,
                   "category_override": None, "territory_override": None, "unit_override": None}
        self.batch.intake.append({"complaint_id": row["complaint_id"], "ticket_no": row["ticket_no"],
                                  "channel": row["channel"], "idempotency_key": None,
                                  "payload": json.dumps(payload, ensure_ascii=False),
                                  "created_at": row["received_at"], "published_at": row["received_at"],
                                  "state": "published"})

    def redispatch(self, life: _Life, unit: str, hours: float) -> dict[str, Any]:
        """A new unit: fresh time limits from the moment of the move."""
        at = life.at + timedelta(hours=hours)
        limits = sla.deadlines(self.city.categories[life.row["category"]], at, life.row["urgent"], self.city.timezone)
        return {"unit": unit, "accepted_at": None, "extension_hours": None, "accept_by": limits.accept_by,
                "resolve_by": limits.resolve_by}

    def reassign(self, life: _Life, unit: str) -> None:
        r, hours = life.row, self.rng.uniform(0.2, 2.0)
        old_unit = r["unit"]
        changes = self.redispatch(life, unit, hours)
        if life.move(hours, "reassigned", [("reassign", {"unit": unit})], "command", changes,
                     {"from_unit": old_unit, "unit": unit, "category": r["category"]}):
            event = self.batch.events[-1]
            self.batch.corrections.append({
                "event_id": event["event_id"], "complaint_id": r["complaint_id"], "ticket_no": r["ticket_no"],
                "action": "reassign", "actor": event["actor"], "at": event["at"], "text": r["text"],
                "location_label": None, "territory": r["territory"], "old_category": r["category"],
                "old_unit": old_unit, "old_urgent": r["urgent"], "new_category": r["category"], "new_unit": unit,
                "new_urgent": r["urgent"], "model_version": MODEL_VERSION, "routed_category": r["routed_category"],
                "routed_at": r["routed_at"]})

    def alert(self, r: dict[str, Any], kind: str, at: datetime, message: str, deadline: datetime | None = None,
              data: dict[str, Any] | None = None) -> None:
        if at >= self.now:
            return
        self.batch.alerts.append({
            "alert_id": f"{kind}:{r['ticket_no']}:{at.strftime('%Y%m%dT%H%M%S%f')}", "kind": kind,
            "ticket_no": r["ticket_no"], "complaint_id": r["complaint_id"], "unit": r["unit"],
            "category": r["category"], "territory": r["territory"], "place": r["village"], "deadline": deadline,
            "raised_at": at, "message": message, "data": data or {}})

    def live(self, r: dict[str, Any]) -> None:
        """The plan of one case after its routing."""
        rng = self.rng
        life = _Life(self, r)
        if r["unit"] == self.city.command_centre:
            if rng.random() < 0.05:
                return
            local = self.city.unit_for_territory(r["territory"]) if r["territory"] else None
            self.reassign(life, local.id if local else rng.choice(self.squads))
        if r["unit"] == "FORWARD_12345":
            life.move(rng.uniform(0.1, 1.0), "forwarded", [("forward", {})], "operator",
                      {"result": "非城管职责，转12345平台"}, {"note": "非城管职责，转12345平台", "to": "12345"})
            r["closed_at"] = r["updated_at"] if r["status"] == "forwarded" else None
            return
        if r["unit"] == "HOTLINE_ANSWER":
            life.move(rng.uniform(0.1, 1.0), "answered", [("answer", {})], "operator", {"result": "已向来电人解释相关政策"},
                      {"answer": "已向来电人解释相关政策"})
            r["closed_at"] = r["updated_at"] if r["status"] == "answered" else None
            return
        if rng.random() < 0.01 and self.last_open is not None:
            into = self.last_open["ticket_no"]
            if life.move(rng.uniform(0.2, 3.0), "merged", [("merge", {"into": into})], "command", {},
                         {"into_ticket": into}):
                r["closed_at"] = r["updated_at"]
                self.event(self.last_open, "duplicate_merged", "command:指挥员", r["updated_at"],
                           {"ticket_no": r["ticket_no"]})
            return
        self.last_open = r
        if rng.random() < 0.04:  # 退单: not this squad's; re-routed to the command centre, which reassigns it
            old, hours = r["unit"], rng.uniform(0.5, 2.0)
            changes = self.redispatch(life, self.city.command_centre, hours)
            if not life.move(hours, "returned", [("return", {"reason": "不属于本辖区"}),
                                                                ("reroute", {"unit": self.city.command_centre})], "squad",
                             changes, {"reason": "不属于本辖区", "from_unit": old, "returns": 1, "unit": self.city.command_centre,
                                       "then": "reroute", "rerouted_by": "rule:same_unit"}):
                return
            self.reassign(life, rng.choice(self.squads))
            if rng.random() < 0.15 and not self.escalate(life):
                return
        self.work(life)

    def escalate(self, life: _Life) -> bool:
        """A second return: the command centre decides (市级裁定, final); False when not (yet) done."""
        rng, r = self.rng, life.row
        old, hours = r["unit"], rng.uniform(0.5, 4.0)
        changes = self.redispatch(life, self.city.command_centre, hours)
        if not life.move(hours, "returned", [("return", {"reason": "非本单位职责"}), ("escalate", {})], "squad",
                         changes, {"reason": "非本单位职责", "from_unit": old, "returns": 2, "unit": self.city.command_centre,
                                   "then": "escalate"}):
            return False
        unit, hours = rng.choice(self.squads), rng.uniform(1, 24)
        return life.move(hours, "decided", [("decide", {"unit": unit})], "command", self.redispatch(life, unit, hours),
                         {"from_unit": self.city.command_centre, "unit": unit, "category": r["category"], "final": True})

    def work(self, life: _Life) -> None:
        rng, r = self.rng, life.row
        accept_late = rng.random() < 0.06
        hours = rng.uniform(0.05, 0.9) * (r["accept_by"] - life.at).total_seconds() / 3600
        if accept_late:
            hours = (r["accept_by"] - life.at).total_seconds() / 3600 + rng.uniform(0.1, 6)
        if accept_late:
            self.alert(r, "accept_overdue", r["accept_by"], f"签收超时：工单 {r['ticket_no']}", r["accept_by"])
        on_time = life.at + timedelta(hours=hours) <= r["accept_by"]
        if not life.move(max(hours, 0.01), "accepted", [("accept", {})], "squad",
                         {"accepted_at": life.at + timedelta(hours=max(hours, 0.01))},
                         {"unit": r["unit"], "on_time": on_time}):
            return
        if rng.random() < 0.02:  # never finished: overdue once its time limit passes
            self.alert(r, "resolve_overdue", r["resolve_by"], f"办结超时：工单 {r['ticket_no']}", r["resolve_by"])
            return
        if rng.random() < 0.3:
            life.move(rng.uniform(0.2, 4.0), "started", [("start", {})], "squad")
        if rng.random() < 0.08 and life.move(rng.uniform(2, 24), "extension_requested",
                                             [("request_extension", {"duration": "48h"})], "squad",
                                             {"extension_hours": 48}, {"reason": "需协调多个部门联合处置", "hours": 48}):
            if rng.random() < 0.8:
                new_by = r["resolve_by"] + timedelta(hours=48)
                life.move(rng.uniform(0.5, 8), "extension_approved", [("approve_extension", {})], "command",
                          {"extended": True, "resolve_by": new_by}, {"hours": 48, "resolve_by": new_by.isoformat()})
            else:
                life.move(rng.uniform(0.5, 8), "extension_refused", [("refuse_extension", {"reason": "应按期办结"})],
                          "command", {}, {"hours": 48, "reason": "应按期办结"})
        if rng.random() < 0.04:
            note = "群众反映强烈，请加快处置"
            if life.move(rng.uniform(1, 24), "supervised", [("supervise", {"note": note})], "command", {},
                         {"unit": r["unit"], "note": note}):
                self.alert(r, "supervision", life.at, f"督办：工单 {r['ticket_no']}——{note}", None,
                           {"note": note, "by": "command:指挥员"})
        self.resolve(life)
        if r["status"] != "resolved":
            return
        if rng.random() < 0.05 and life.move(rng.uniform(1, 24), "reopened", [("reopen", {"reason": "核查发现问题仍未解决"})],
                                             "command", {"resolved_at": None, "closed_at": None},
                                             {"reason": "核查发现问题仍未解决", "reopens": 1}):
            self.resolve(life)
        if life.move(rng.uniform(1, 24), "closed", [("verify", {})], "command", {}):
            r["closed_at"] = r["updated_at"]
        if rng.random() < 0.6 and r["status"] in ("resolved", "closed"):
            rating = rng.choice(RATINGS)
            if life.move(rng.uniform(1, 48), "rated", [("rate", {"rating": rating})], "citizen", {},
                         {"rating": rating}):
                r["rated_at"] = r["updated_at"]

    def resolve(self, life: _Life) -> None:
        rng, r = self.rng, life.row
        span = max((r["resolve_by"] - life.at).total_seconds() / 3600, 1.0)
        hours = rng.uniform(0.1, 0.95) * span if rng.random() < 0.9 else span + rng.uniform(1, 48)
        result, mode = rng.choice(RESULTS), rng.choice(MODES)
        at = life.at + timedelta(hours=hours)
        on_time = at <= r["resolve_by"]
        if not on_time and not r["reopens"]:  # raised once, when the first limit passed
            self.alert(r, "resolve_overdue", r["resolve_by"], f"办结超时：工单 {r['ticket_no']}", r["resolve_by"])
        life.move(hours, "resolved", [("resolve", {})], "squad",
                  {"resolved_at": at, "result": result, "disposal_mode": mode, "photos": []},
                  {"result": result, "disposal_mode": mode, "photos": [], "on_time": on_time})

    def hotspots(self, day: datetime) -> None:
        """A hot spot or two a day: several complaints of one category at one place."""
        for _ in range(self.rng.randint(0, 2)):
            town = self.rng.choices(self.territories, cum_weights=self.cum_weights)[0]
            cat = self.rng.choice(self.texts).category
            unit = self.city.unit_for_territory(town.code)
            at = day + timedelta(hours=self.rng.uniform(8, 20))
            if at >= self.now:
                continue
            self.batch.alerts.append({
                "alert_id": f"hotspot:{town.code}:{cat}:{at.strftime('%Y%m%dT%H%M%S%f')}", "kind": "hotspot",
                "ticket_no": None, "complaint_id": None, "unit": unit.id if unit else None, "category": cat,
                "territory": town.code, "place": town.name, "deadline": None, "raised_at": at,
                "message": f"热点：{town.name} {self.city.categories[cat].name} 24小时内多起投诉", "data": {"count": 5}})


def generate(city: CityConfig, texts: list[Source], n: int, *, now: datetime, days: float = 365.0, seed: int = 12319,
             batch_size: int = 5000) -> Iterator[Batch]:
    """Batches of rows for ``n`` cases received over the last ``days`` days (oldest first)."""
    gen = Generator(city, texts, now=now, days=days, seed=seed)
    times = gen.times(n)
    last_day: datetime | None = None
    for start in range(0, n, batch_size):
        gen.batch = Batch()
        for at in times[start:start + batch_size]:
            day = datetime.combine(at.astimezone(gen.tz).date(), datetime.min.time(), gen.tz).astimezone(UTC)
            if day != last_day:
                gen.hotspots(day)
                last_day = day
            row = gen.case(at)
            gen.live(row)
            gen.batch.cases.append(row)
        yield gen.batch
