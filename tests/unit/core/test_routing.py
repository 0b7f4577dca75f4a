"""Each routing rule fires where it should, and names itself."""

from __future__ import annotations

import pytest

from services.core.routing import facts_for, route


@pytest.mark.parametrize(
    ("category", "territory", "confidence", "unit", "rule_no"),
    [
        ("NOISE_SOCIAL", "320682105", "low", "COMMAND_CENTER", 1),     # category cannot be told
        ("CONSULTATION", "320682105", "ok", "HOTLINE_ANSWER", 2),
        ("OUT_OF_SCOPE", None, "ok", "FORWARD_12345", 3),
        ("NOISE_SOCIAL", None, "ok", "COMMAND_CENTER", 4),              # place unknown
        ("GAS_SAFETY", "320682400", "ok", "SQ_DEVZONE", 5),            # full powers zone takes everything
        ("CONSTRUCTION_SAFETY", "320682105", "ok", "CITY_CONSTRUCTION", 6),
        ("CIVIL_AIR_DEFENSE", "320682001", "ok", "CITY_AIR_DEFENSE", 7),
        ("GAS_SAFETY", "320682407", "ok", "CITY_GAS", 8),              # city unit even on a farm
        ("GARBAGE", "320682403", "ok", "COMMAND_CENTER", 9),           # farm: no squad
        ("STREET_VENDING", "320682107", "ok", "SQ_XIAYUAN", 10),       # the squad of the place
    ],
)
def test_each_rule(city, category, territory, confidence, unit, rule_no) -> None:  # type: ignore[no-untyped-def]
    r = route(city, facts_for(city, category, territory, False, confidence))
    assert r.unit == unit
    assert r.rule.startswith(f"rule {rule_no}:")


def test_rule_label(city) -> None:  # type: ignore[no-untyped-def]
    r = route(city, facts_for(city, "NOISE_SOCIAL", "320682111"))
    assert r.rule == "rule 5: unit_full_powers -> territorial_unit"
    assert r.unit == "SQ_CHANGJIANG"
