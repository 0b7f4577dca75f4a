"""Gazetteer: every name that can locate a complaint, compiled into one Aho-Corasick automaton.

Names come only from the city configuration:

- territories: full name (如城街道), name without the configured prefixes (经济开发区),
  short name without the kind suffix (如城, 白蒲), unit aliases from routing.yaml and
  extra aliases from places.yaml (城南街道, 高新区, 如皋港 …);
- villages / communities: full name (老坝村委会), suffixed forms (老坝村, 老坝村委;
  加力社区, 加力居委), the bare short name (老坝), and the same for the older names in
  ``changes_*.txt``;
- the roads / estates table of places.yaml;
- ``not_places``: strings that contain a name but are not a place (they shadow it).

A bare short name is *weak*: it locates only when its town is named too, or (if it is not
in ``unsafe_short_names``) when it has three or more characters or a place marker follows
it (老坝那边).  Matching is leftmost-longest, on the normalised text.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from services.core.config import CityConfig
from services.core.text import normalise

TOWN = "town"
VILLAGE = "village"
PLACE = "place"
IGNORE = "ignore"
_VILLAGE_SUFFIXES = {"村委会": ("村委会", "村委", "村"), "居委会": ("居委会", "居委", "社区")}
_TOWN_SUFFIXES = ("街道", "镇", "乡")


@dataclass(frozen=True)
class Target:
    kind: str                # town | village | place | ignore
    territory: str
    village: str | None      # full current village name
    strength: str            # strong | weak | unsafe
    source: str              # how the name was derived (full name, alias, old name …)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int                 # exclusive
    surface: str
    targets: tuple[Target, ...]


class Gazetteer:
    def __init__(self, city: CityConfig) -> None:
        self.city = city
        self._table: dict[str, list[Target]] = {}
        self._build()
        self._auto: ahocorasick.Automaton = ahocorasick.Automaton()
        for surface, targets in self._table.items():
            self._auto.add_word(surface, (surface, tuple(targets)))
        self._auto.make_automaton()

    # ---- building -------------------------------------------------------------------------
    def _add(self, surface: str, target: Target) -> None:
        key = normalise(surface)
        if len(key) < 2:
            return
        targets = self._table.setdefault(key, [])
        for i, existing in enumerate(targets):
            if (existing.kind, existing.territory, existing.village) == (target.kind, target.territory,
                                                                       target.village):
                if _rank(target) > _rank(existing):
                    targets[i] = target
                return
        targets.append(target)

    def _strip(self, name: str) -> str:
        for prefix in self.city.strip_prefixes:
            if name.startswith(prefix) and len(name) > len(prefix) + 1:
                return name[len(prefix):]
        return name

    def _short_strength(self, short: str) -> str:
        return "unsafe" if short in self.city.unsafe_short_names else "weak"

    def _build(self) -> None:
        city = self.city
        for code, terr in city.territories.items():
            self._add(terr.name, Target(TOWN, code, None, "strong", "full name"))
            stripped = self._strip(terr.name)
            self._add(stripped, Target(TOWN, code, None, "strong", "name"))
            for suffix in _TOWN_SUFFIXES:
                if stripped.endswith(suffix) and len(stripped) - len(suffix) >= 2:
                    short = stripped[: -len(suffix)]
                    strength = "unsafe" if short in city.unsafe_short_names else "strong"
                    self._add(short, Target(TOWN, code, None, strength, "short name"))
            for village in terr.villages:
                self._add_village(village.name, village.short_name, village.type, code, village.name, "")
        for old in city.old_names:
            village = next(v for t in city.territories.values() for v in t.villages if v.code == old.code)
            vtype = village.type
            short = old.old_name[: -len(vtype)] if old.old_name.endswith(vtype) else old.old_name
            self._add_village(old.old_name, short, vtype, village.territory, village.name, "old name ")
        for alias, code in city.alias_territories().items():
            self._add(alias, Target(TOWN, code, None, "strong", "alias"))
        for place in city.places:
            self._add(place.name, Target(PLACE, place.territory, place.village, "strong", place.kind))
        for text in city.not_places:
            self._table[normalise(text)] = [Target(IGNORE, "", None, "strong", "not a place")]

    def _add_village(self, name: str, short: str, vtype: str, territory: str, current: str, how: str) -> None:
        self._add(name, Target(VILLAGE, territory, current, "strong", how + "full name"))
        if short == name:
            stripped = self._strip(name)
            if stripped != name:
                self._add(stripped, Target(VILLAGE, territory, current, "strong", how + "name"))
            return
        for suffix in _VILLAGE_SUFFIXES.get(vtype, ()):
            self._add(short + suffix, Target(VILLAGE, territory, current, "strong", how + "name + " + suffix))
        self._add(short, Target(VILLAGE, territory, current, self._short_strength(short), how + "short name"))

    # ---- matching -------------------------------------------------------------------------
    def find(self, normalised_text: str) -> list[Mention]:
        out = []
        for end, (surface, targets) in self._auto.iter_long(normalised_text):
            if targets[0].kind == IGNORE:
                continue
            out.append(Mention(end - len(surface) + 1, end + 1, surface, targets))
        return out

    def mask(self, normalised_text: str, mentions: list[Mention], mask: str) -> str:
        """Replace each mention by ``mask`` so the classifier learns matters, not places."""
        if not mentions:
            return normalised_text
        parts, pos = [], 0
        for m in mentions:
            parts.append(normalised_text[pos:m.start])
            parts.append(mask)
            pos = m.end
        parts.append(normalised_text[pos:])
        return "".join(parts)


def _rank(target: Target) -> int:
    return {"strong": 2, "weak": 1, "unsafe": 0}[target.strength]
