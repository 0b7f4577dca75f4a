"""The domain core's entry point: classify, locate, route and set deadlines for one complaint.

    engine = Engine.load("rugao")
    decision = engine.decide(text, received_at, location_label=..., lat=..., lon=...)

Pure and fast (no I/O after ``load``); safe to share between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from services.core.analysis import Analyzer
from services.core.classifier import Model
from services.core.config import CityConfig, ConfigError
from services.core.loader import load_city
from services.core.locator import Location, Locator
from services.core.quality import screen
from services.core.routing import Route, facts_for, route
from services.core.sla import deadlines
from services.core.text import CUE_PREFIX


@dataclass(frozen=True)
class Decision:
    category: str                          # best category code
    candidates: list[tuple[str, float]]    # ranked (code, score), at least top 2, scores in [0,1]
    evidence: list[tuple[str, float, str]]  # (term/ngram, weight, category) that decided
    urgent: bool
    urgent_evidence: list[str]
    territory: str | None                  # NBS town-level code, or None if unknown/ambiguous
    territory_name: str | None
    village: str | None                    # full village/community name as in divisions.json
    place_confidence: float                # 0..1
    place_evidence: list[str]              # which name matched where
    unit: str                              # unit id from routing.yaml
    rule: str                              # which rule fired
    review: bool                           # classifier or place unsure
    review_reasons: list[str]
    accept_by: datetime
    resolve_by: datetime
    secondary: str | None = None           # a second city matter the text raises (shown, not routed)


def mix(whole: list[tuple[str, float]], lead: list[tuple[str, float]], share: float) -> list[tuple[str, float]]:
    """The category distribution of the whole text mixed with its first clause's (``share``):
    a long post's title or a call's opening names the matter; the story after it names
    everyone else (the property company, the developer, the school)."""
    p = dict(lead)
    out = [(c, (1.0 - share) * q + share * p.get(c, 0.0)) for c, q in whole]
    out.sort(key=lambda cq: (-cq[1], cq[0]))
    return out


class Engine:
    def __init__(self, city: CityConfig, model: Model) -> None:
        unknown = set(model.categories) ^ set(city.categories)
        if unknown:
            raise ConfigError(f"model categories differ from taxonomy: {sorted(unknown)}; run `complaints train`")
        self._city = city
        self.model = model
        self.analyzer = Analyzer(city, homophones=model.homophones, term_frequency=model.term_frequency,
                                 lead_boost=model.lead_boost)
        self.locator = Locator(city, self.analyzer.gazetteer)
        self._routes: dict[tuple[str, str | None, bool, str], Route] = {}
        self._units: dict[tuple[str | None, bool], dict[str, str]] = {}

    def _route(self, category: str, territory: str | None, urgent: bool, confidence: str = "ok") -> Route:
        key = (category, territory, urgent, confidence)
        r = self._routes.get(key)
        if r is None:
            r = route(self._city, facts_for(self._city, category, territory, urgent, confidence))
            if len(self._routes) < 100_000:
                self._routes[key] = r
        return r

    def unit_mass(self, ranked: list[tuple[str, float]], territory: str | None,
                  urgent: bool) -> dict[str, float]:
        """Probability that the case belongs to each unit: the category probabilities summed by
        the unit each category would be routed to at this place (two squad categories at the
        same place are one choice of unit, a squad category and OUT_OF_SCOPE are two)."""
        units = self._units.get((territory, urgent))
        if units is None:
            units = {c: self._route(c, territory, urgent).unit for c in self._city.categories}
            if len(self._units) < 10_000:
                self._units[(territory, urgent)] = units
        mass: dict[str, float] = {}
        left = 1.0
        for c, p in ranked:
            if left < 0.001:
                break
            u = units[c]
            mass[u] = mass.get(u, 0.0) + p
            left -= p
        return mass

    @classmethod
    def load(cls, city: str = "rugao", config_root: str | None = None,
             model_path: str | Path | None = None) -> Engine:
        return cls(load_city(city, config_root), Model.load(model_path))

    @property
    def city(self) -> CityConfig:
        return self._city

    def locate(self, text: str, location_label: str | None = None, lat: float | None = None,
               lon: float | None = None) -> Location:
        return self.locator.locate(text, location_label, lat, lon)

    def decide(self, text: str, received_at: datetime, *, location_label: str | None = None,
               lat: float | None = None, lon: float | None = None,
               category_override: str | None = None, territory_override: str | None = None) -> Decision:
        # bad input (services/core/quality.py): traditional -> simplified; emoji only, not Chinese, a list
        # of places, not a complaint -> routing.yaml's `confidence: low` rule (the command centre), with why
        q = screen(text, lambda t: [(m.start, m.end) for m in self.analyzer.gazetteer.find(t)])
        d = self._decide(q.text, received_at, location_label=location_label, lat=lat, lon=lon,
                         category_override=category_override, territory_override=territory_override)
        if not q.issues:
            return d
        held = self._route(d.category, d.territory, d.urgent, "low")
        return replace(d, unit=held.unit, rule=held.rule, review=True, review_reasons=q.reasons + d.review_reasons)

    def _decide(self, text: str, received_at: datetime, *, location_label: str | None = None,
                lat: float | None = None, lon: float | None = None,
                category_override: str | None = None, territory_override: str | None = None) -> Decision:
        city = self._city
        th = city.thresholds
        a = self.analyzer.analyse(text)
        scored, urgency = self.model.decide(a.groups)
        ranked = scored.ranked
        if a.lead is not None:
            ranked = mix(ranked, self.model.classify(a.lead, top_evidence=0).ranked, city.lead_view)
        reasons: list[str] = []
        if category_override is not None:
            if category_override not in city.categories:
                raise ValueError(f"unknown category {category_override!r}")
            category = category_override
            ranked = [(category, 1.0)] + [(c, s) for c, s in ranked if c != category]
        else:
            category = ranked[0][0]
            p1, p2 = ranked[0][1], ranked[1][1]
            if p1 < th.review_below:
                reasons.append(f"category unsure (score {p1:.2f})")
            elif p1 - p2 < th.review_margin:
                reasons.append(f"close second category {ranked[1][0]} ({p2:.2f} vs {p1:.2f})")
        group = city.categories[category].group
        p_urgent = urgency.probability_for(a.cues, group)
        urgent = p_urgent >= th.urgent_at
        urgent_evidence: list[str] = []
        if urgent:
            for f, _v in urgency.evidence_for(a.cues, group):
                if f.startswith(CUE_PREFIX):
                    group_name = f[len(CUE_PREFIX):].split("|")[0]
                    urgent_evidence.append(f"{group_name}: {'/'.join(a.cues.get(group_name, []))}")
                elif not f.startswith("grp:"):
                    urgent_evidence.append(f)
            urgent_evidence = list(dict.fromkeys(urgent_evidence))
            urgent_evidence.insert(0, f"p={p_urgent:.2f}")

        if territory_override is not None:
            if territory_override not in city.territories:
                raise ValueError(f"unknown territory {territory_override!r}")
            loc = Location(territory_override, None, 1.0, ["territory set by operator"])
        else:
            loc = self.locator.locate(a.normalised, location_label, lat, lon, normalised=True,
                                      mentions=a.mentions)
        if loc.territory is None:
            reasons.append(f"place unknown: {loc.reason or 'no place named'}")
        elif loc.confidence < th.place_review_below:
            reasons.append(f"place unsure (confidence {loc.confidence:.2f})")

        low = False
        if category_override is None:
            mass = self.unit_mass(ranked, loc.territory, urgent)
            unit_p = mass.get(self._route(category, loc.territory, urgent).unit, 0.0)
            # handing a case away (12345) needs more certainty than keeping it: a city matter sent
            # away costs the citizen days, one left to the command centre costs a minute
            need = th.unit_confidence_below
            if city.categories[category].handler == "forward":
                need = max(need, th.forward_confidence_below)
            low = ranked[0][1] < th.command_centre_below or unit_p < need
            if unit_p < need:
                reasons.append(f"unit unsure ({unit_p:.2f} for the top category's unit)")
        routed = self._route(category, loc.territory, urgent, "low" if low else "ok")
        handler = city.categories[category].handler
        if handler in ("answer", "forward"):
            reasons = [r for r in reasons if not r.startswith("place")]
        dl = deadlines(city.categories[category], received_at, urgent, city.timezone)
        return Decision(
            category=category,
            candidates=[(c, round(s, 4)) for c, s in ranked[:3]],
            evidence=scored.evidence,
            urgent=urgent,
            urgent_evidence=urgent_evidence,
            territory=loc.territory,
            territory_name=city.territories[loc.territory].name if loc.territory else None,
            village=loc.village,
            place_confidence=round(loc.confidence, 3),
            place_evidence=loc.evidence,
            unit=routed.unit,
            rule=routed.rule,
            review=bool(reasons),
            review_reasons=reasons,
            accept_by=dl.accept_by,
            resolve_by=dl.resolve_by,
            secondary=self._secondary(category, ranked),
        )

    def _secondary(self, category: str, ranked: list[tuple[str, float]]) -> str | None:
        """The runner-up when it is another city matter with a real share of the probability
        (a post about a restaurant's fumes *and* its tables on the pavement).  Read on the
        model's own (uncalibrated) scale: the calibration sharpens the winner, which is right for
        deciding the unit but would hide every second matter."""
        cats = self._city.categories
        t = self.model.temperature
        if t != 1.0:
            raw = [(c, p ** t) for c, p in ranked]
            total = sum(q for _c, q in raw) or 1.0
            ranked = [(c, q / total) for c, q in raw]
        for c, p in ranked[1:3]:
            if p < self._city.thresholds.secondary_at:
                break
            if c != category and cats[c].handler in ("squad", "city_unit"):
                return c
        return None
