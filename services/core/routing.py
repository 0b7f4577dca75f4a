"""Routing: ``routing.yaml``'s ordered rules as data.

Supported conditions in a rule's ``when`` (all must hold; an empty ``when`` always holds):

- ``handler``: taxonomy handler of the category (squad / city_unit / forward / answer)
- ``category``: a category code or a list of codes
- ``group``: a taxonomy group or a list of groups
- ``location``: ``unknown`` (no territory), ``no_squad`` (a territory no unit covers), ``known``
- ``unit_full_powers``: the territorial unit of the place has ``full_powers``
- ``territory``: a territory code or list of codes
- ``urgent``: the urgent flag
- ``confidence``: ``low`` when the classifier cannot tell the category (top score below
  ``thresholds.command_centre_below`` in city.yaml) or cannot tell the unit (the categories'
  probabilities summed by the unit each would be routed to leave the top category's unit
  below ``thresholds.unit_confidence_below``: e.g. a squad matter vs OUT_OF_SCOPE), else ``ok``

``to`` is a unit id or ``territorial_unit`` (the unit covering the place).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.core.config import TERRITORIAL, CityConfig, ConfigError, Rule

CONDITION_KEYS = ("handler", "category", "group", "location", "unit_full_powers", "territory", "urgent", "confidence")


@dataclass(frozen=True)
class RouteFacts:
    category: str
    handler: str
    group: str
    territory: str | None
    location: str            # unknown | no_squad | known
    unit_full_powers: bool
    urgent: bool
    confidence: str = "ok"   # ok | low


@dataclass(frozen=True)
class Route:
    unit: str
    rule: str


def facts_for(city: CityConfig, category: str, territory: str | None, urgent: bool = False,
              confidence: str = "ok") -> RouteFacts:
    cat = city.categories[category]
    unit = city.unit_for_territory(territory) if territory else None
    if territory is None:
        location = "unknown"
    elif unit is None:
        location = "no_squad"
    else:
        location = "known"
    return RouteFacts(
        category=category,
        handler=cat.handler,
        group=cat.group,
        territory=territory,
        location=location,
        unit_full_powers=bool(unit and unit.full_powers),
        urgent=urgent,
        confidence=confidence,
    )


def _holds(key: str, expected: Any, facts: RouteFacts) -> bool:
    actual = getattr(facts, key)
    if isinstance(expected, list | tuple):
        return actual in expected
    return bool(actual == expected)


def matches(rule: Rule, facts: RouteFacts) -> bool:
    return all(_holds(k, v, facts) for k, v in rule.when.items())


def first_rule(rules: Iterable[Rule], facts: RouteFacts) -> Rule | None:
    for rule in rules:
        if matches(rule, facts):
            return rule
    return None


def route(city: CityConfig, facts: RouteFacts) -> Route:
    rule = first_rule(city.rules, facts)
    if rule is None:  # validation guarantees a rule for every reachable case
        raise ConfigError(f"no routing rule matches {facts}")
    if rule.to == TERRITORIAL:
        unit = city.unit_for_territory(facts.territory) if facts.territory else None
        if unit is None:
            raise ConfigError(f"{rule.label} needs a territorial unit but {facts.territory!r} has none")
        return Route(unit.id, rule.label)
    return Route(rule.to, rule.label)


def check_rules(city: CityConfig) -> None:
    """Every rule must be reachable and every (category, place, urgency) must reach a unit.

    The check is exact: it enumerates every category × (unknown place | each territory) ×
    urgent, finds the first matching rule, and fails on a rule that never comes first, on a
    case no rule matches, and on ``territorial_unit`` for a place without a unit.
    """
    fired: set[int] = set()
    places: list[str | None] = [None, *city.territories]
    for code in city.categories:
        for territory in places:
            for urgent, confidence in ((False, "ok"), (True, "ok"), (False, "low"), (True, "low")):
                facts = facts_for(city, code, territory, urgent, confidence)
                rule = first_rule(city.rules, facts)
                if rule is None:
                    raise ConfigError(
                        f"routing.yaml: no rule matches category {code} at {territory or 'unknown place'}"
                    )
                fired.add(rule.index)
                if rule.to == TERRITORIAL and (territory is None or city.unit_for_territory(territory) is None):
                    raise ConfigError(
                        f"routing.yaml: {rule.label} sends category {code} at "
                        f"{territory or 'unknown place'} to a territorial unit, but there is none"
                    )
    for rule in city.rules:
        if rule.index not in fired:
            raise ConfigError(f"routing.yaml: {rule.label} can never fire (earlier rules always match first)")
