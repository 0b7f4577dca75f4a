"""Place resolution: text (+ WeChat location label, + coordinates) -> territory, village, confidence.

Policy (never a guess: an unsure place goes to the command centre):

1. Towns named directly (full name, short name, alias) form the *town context*.
2. Each village mention keeps only candidates consistent with the town context; a bare
   short name needs the town context, or (when not an unsafe word) three characters or a
   place marker right after it.  A name left with candidates in two towns is ambiguous.
3. Exactly one territory supported by the mentions -> located; two or more (“I work in A
   but live in B”, two towns with no winner) or only ambiguous names -> unknown.
4. The location label is resolved the same way; it locates when the text does not, breaks
   a tie when it names one of the text's candidates, and is noted when it disagrees.
5. Coordinates are used only through the optional ``areas`` table, and only as a last resort.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.core.config import CityConfig
from services.core.gazetteer import PLACE, TOWN, VILLAGE, Gazetteer, Mention, Target
from services.core.text import normalise

CONF_TOWN_AND_VILLAGE = 0.95
CONF_VILLAGE = 0.85
CONF_TOWN = 0.8
CONF_PLACE = 0.75
CONF_LABEL = 0.75
CONF_WEAK = 0.6
CONF_AREA = 0.5


@dataclass
class Location:
    territory: str | None = None
    village: str | None = None
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)
    reason: str | None = None        # why unknown (None when located, or "no place named")
    candidates: tuple[str, ...] = ()  # territories in play when ambiguous


class Locator:
    def __init__(self, city: CityConfig, gazetteer: Gazetteer | None = None) -> None:
        self.city = city
        self.gazetteer = gazetteer or Gazetteer(city)

    def _name(self, code: str) -> str:
        return self.city.territories[code].name

    def _describe(self, m: Mention, t: Target, where: str) -> str:
        place = self._name(t.territory) + (f"/{t.village}" if t.village else "")
        return f"{where}: '{m.surface}' -> {place} ({t.source})"

    def resolve_mentions(self, text: str, mentions: list[Mention], where: str = "text") -> Location:
        towns: dict[str, Mention] = {}
        for m in mentions:
            for t in m.targets:
                if t.kind == TOWN and t.strength == "strong":
                    towns.setdefault(t.territory, m)
        evidence = [self._describe(m, next(t for t in m.targets if t.territory == code and t.kind == TOWN), where)
                    for code, m in towns.items()]
        located: dict[str, list[tuple[Target, Mention]]] = {code: [] for code in towns}
        ambiguous: list[tuple[Mention, set[str]]] = []
        for m in mentions:
            if any(t.kind == TOWN and t.strength == "strong" for t in m.targets):
                continue  # a town name is not also a village of the same name
            usable = [t for t in m.targets if t.kind in (VILLAGE, PLACE) and self._usable(t, m, text, towns)]
            if not usable:
                continue
            if towns:
                in_context = [t for t in usable if t.territory in towns]
                usable = in_context or usable
            terrs = {t.territory for t in usable}
            if len(terrs) > 1:
                ambiguous.append((m, terrs))
                names = ", ".join(sorted(self._name(c) for c in terrs))
                evidence.append(f"{where}: '{m.surface}' is ambiguous ({names})")
                continue
            villages = {t.village for t in usable}
            best = usable[0] if len(villages) == 1 else Target(usable[0].kind, usable[0].territory, None,
                                                               usable[0].strength, usable[0].source)
            located.setdefault(best.territory, []).append((best, m))
            evidence.append(self._describe(m, best, where))
        if len(located) > 1:
            names = ", ".join(self._name(c) for c in located)
            return Location(None, None, 0.0, evidence, f"several places named ({names})", tuple(located))
        if not located:
            if ambiguous:
                cands = tuple(sorted(set().union(*(t for _m, t in ambiguous))))
                return Location(None, None, 0.0, evidence, "ambiguous place name", cands)
            return Location(None, None, 0.0, evidence, "no place named")
        code, hits = next(iter(located.items()))
        if ambiguous and not all(code in terrs for _m, terrs in ambiguous):
            cands = tuple(sorted({code}.union(*(t for _m, t in ambiguous))))
            return Location(None, None, 0.0, evidence, "ambiguous place name", cands)
        strong = [(t, m) for t, m in hits if t.strength == "strong"]
        chosen = (strong or hits)[0][0] if hits else None
        village = chosen.village if chosen else None
        if code in towns and hits:
            conf = CONF_TOWN_AND_VILLAGE if village else CONF_TOWN
        elif code in towns:
            conf = CONF_TOWN
        elif chosen is not None and chosen.strength != "strong":
            conf = CONF_WEAK
        elif chosen is not None and chosen.kind == PLACE:
            conf = CONF_PLACE
        else:
            conf = CONF_VILLAGE
        return Location(code, village, conf, evidence)

    def _usable(self, t: Target, m: Mention, text: str, towns: dict[str, Mention]) -> bool:
        if t.strength == "strong":
            return True
        if t.territory in towns:
            return True
        if t.strength == "unsafe":
            return False
        if len(m.surface) >= 3:
            return True
        after = text[m.end:m.end + 2]
        return any(after.startswith(marker) for marker in self.city.place_markers)

    def locate(self, text: str, label: str | None = None, lat: float | None = None,
               lon: float | None = None, *, normalised: bool = False,
               mentions: list[Mention] | None = None) -> Location:
        norm = text if normalised else normalise(text)
        found = mentions if mentions is not None else self.gazetteer.find(norm)
        loc = self.resolve_mentions(norm, found)
        if label:
            nlabel = normalise(label)
            lab = self.resolve_mentions(nlabel, self.gazetteer.find(nlabel), "location label")
            loc = self._merge_label(loc, lab)
        if loc.territory is None and lat is not None and lon is not None:
            loc = self._by_area(loc, lat, lon)
        return loc

    def _merge_label(self, loc: Location, lab: Location) -> Location:
        evidence = loc.evidence + lab.evidence
        if lab.territory is None:
            return Location(loc.territory, loc.village, loc.confidence, evidence, loc.reason, loc.candidates)
        if loc.territory == lab.territory:
            village = loc.village or lab.village
            return Location(loc.territory, village, min(1.0, loc.confidence + 0.05), evidence)
        if loc.territory is not None:
            evidence.append(f"location label points to {self._name(lab.territory)}; the text wins")
            conf = min(loc.confidence, 0.65)
            return Location(loc.territory, loc.village, conf, evidence)
        if loc.reason == "no place named" or lab.territory in loc.candidates:
            return Location(lab.territory, lab.village, min(CONF_LABEL, lab.confidence), evidence)
        return Location(None, None, 0.0, evidence, loc.reason, loc.candidates)

    def _by_area(self, loc: Location, lat: float, lon: float) -> Location:
        hits = {a.territory for a in self.city.areas if a.contains(lat, lon)}
        if len(hits) == 1 and (loc.reason == "no place named" or hits <= set(loc.candidates)):
            code = hits.pop()
            return Location(code, None, CONF_AREA,
                            loc.evidence + [f"coordinates ({lat:.5f}, {lon:.5f}) inside {self._name(code)}"])
        return loc
