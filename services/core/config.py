"""City configuration: the typed, validated view of ``config/cities/<city>/``.

A city folder holds:

- ``city.yaml``       code, name, ticket prefix, time zone, thresholds, name prefixes
- ``taxonomy.yaml``   categories (code, name, group, handler, sla)
- ``routing.yaml``    units (id, territory, aliases, full_powers) and ordered rules
- ``divisions.json``  town-level territories with their villages / communities
- ``changes_*.txt``   older names of villages (``~ code old -> new`` lines)
- ``places.yaml``     roads / estates, extra aliases, unsafe short names, place markers
- ``lexicon.yaml``    cue phrases turned into features for the models

Loading (:func:`services.core.loader.load_city`) validates everything and raises
:class:`ConfigError` with a message naming the file and the offending entry.
Nothing here knows a Rugao code: every name and code comes from these files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

HANDLERS = ("squad", "city_unit", "forward", "answer")
TERRITORIAL = "territorial_unit"
LOCATION_STATES = ("unknown", "no_squad", "known")


class ConfigError(ValueError):
    """The city configuration is invalid; the message says where and why."""


@dataclass(frozen=True)
class Sla:
    accept: timedelta
    resolve: timedelta
    urgent_accept: timedelta
    urgent_resolve: timedelta


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    group: str
    handler: str
    sla: Sla
    description: str = ""


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    territories: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    staff: int = 0
    full_powers: bool = False
    public_name: str = ""  # the name citizens read (routing.yaml ``public_name``); default: ``name``

    @property
    def citizen_name(self) -> str:
        return self.public_name or self.name


@dataclass(frozen=True)
class Rule:
    """One routing rule: all conditions in ``when`` must hold; ``to`` is a unit id or ``territorial_unit``."""

    index: int
    when: dict[str, Any]
    to: str
    description: str = ""  # what the rule means, for people (routing.yaml `description`, Chinese)

    @property
    def label(self) -> str:
        parts = []
        for key, value in self.when.items():
            parts.append(key if value is True else f"{key}={_fmt(value)}")
        cond = ", ".join(parts) if parts else "otherwise"
        return f"rule {self.index}: {cond} -> {self.to}"


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    short_name: str
    type: str
    territory: str


@dataclass(frozen=True)
class Territory:
    code: str
    name: str
    kind: str
    villages: tuple[Village, ...] = ()


@dataclass(frozen=True)
class Place:
    """A road, estate or landmark the city adds: a name that locates a complaint."""

    name: str
    territory: str
    village: str | None = None
    kind: str = "place"


@dataclass(frozen=True)
class Area:
    """An optional coordinate box for a territory (used only when the text names no place)."""

    territory: str
    lat_min: float
    lon_min: float
    lat_max: float
    lon_max: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max


@dataclass(frozen=True)
class OldName:
    code: str
    old_name: str
    new_name: str


@dataclass(frozen=True)
class Thresholds:
    review_below: float = 0.55       # top category probability below this -> review
    review_margin: float = 0.15      # top1 - top2 below this -> review
    urgent_at: float = 0.5           # urgent probability at or above this -> urgent
    place_review_below: float = 0.7  # place confidence below this -> review
    command_centre_below: float = 0.0  # top category probability below this -> routing fact confidence=low
    unit_confidence_below: float = 0.0  # probability of the top category's unit below this -> confidence=low
    forward_confidence_below: float = 0.0  # like unit_confidence_below, for handing a case to 12345
    secondary_at: float = 0.1        # runner-up city category (model scale) at or above this -> a second matter


@dataclass(frozen=True)
class DuplicatePolicy:
    """How the console looks for an open case the call may repeat (city.yaml ``duplicates``)."""

    window_hours: float = 72.0   # open cases received within this many hours are candidates
    radius_m: float = 300.0      # two complaints with coordinates this close are at one place
    min_score: float = 0.55      # combined score (place, time, text, category) to show a candidate
    min_text: float = 0.2        # text similarity below this is never a duplicate
    max_shown: int = 5
    max_scanned: int = 1000      # the most recent open cases of the window compared per request


@dataclass(frozen=True)
class CityConfig:
    code: str
    name: str
    ticket_prefix: str
    timezone: str
    groups: dict[str, str]
    categories: dict[str, Category]
    units: dict[str, Unit]
    rules: tuple[Rule, ...]
    territories: dict[str, Territory]
    old_names: tuple[OldName, ...] = ()
    places: tuple[Place, ...] = ()
    areas: tuple[Area, ...] = ()
    extra_aliases: dict[str, str] = field(default_factory=dict)
    strip_prefixes: tuple[str, ...] = ()
    unsafe_short_names: frozenset[str] = frozenset()
    not_places: tuple[str, ...] = ()
    place_markers: tuple[str, ...] = ()
    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    clause_boost: float = 1.0
    keyword_weight: float = 1.0
    term_frequency: bool = False     # sublinear TF (1 + ln clauses holding the gram) instead of presence
    lead_boost: float = 1.0          # weight of the first clause (a post's title, a call's summary)
    lead_view: float = 0.0           # share of the first clause's own category distribution in the decision
    context_before: tuple[str, ...] = ()   # narrative context around a city complaint (training augmentation)
    context_after: tuple[str, ...] = ()
    thresholds: Thresholds = Thresholds()
    duplicates: DuplicatePolicy = DuplicatePolicy()
    max_text_chars: int = 4000       # a longer complaint text is refused at intake (services/core/quality.py)
    command_centre: str = ""         # routing.yaml `command_centre`: the unit that decides by hand

    @property
    def taxonomy(self) -> dict[str, Category]:
        return self.categories

    def unit_for_territory(self, territory: str) -> Unit | None:
        """The territorial unit whose territory list holds ``territory`` (None: no squad there)."""
        return self._territory_units().get(territory)

    def _territory_units(self) -> dict[str, Unit]:
        cached: dict[str, Unit] | None = self.__dict__.get("_tu")
        if cached is None:
            cached = {t: u for u in self.units.values() for t in u.territories}
            object.__setattr__(self, "_tu", cached)
        return cached

    def alias_territories(self) -> dict[str, str]:
        """Alias -> territory code, from unit aliases (single-territory units) and places.yaml."""
        out: dict[str, str] = {}
        for unit in self.units.values():
            if len(unit.territories) == 1:
                for alias in unit.aliases:
                    out[alias] = unit.territories[0]
        out.update(self.extra_aliases)
        return out

    def village_by_name(self, name: str) -> Village | None:
        for territory in self.territories.values():
            for village in territory.villages:
                if village.name == name:
                    return village
        return None
