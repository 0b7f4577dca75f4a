"""Decision.secondary with the shipped model: a text raising two city matters names the second one;
a text about one matter names none."""

from __future__ import annotations

from datetime import UTC, datetime

from services.core.engine import Engine

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
# a restaurant's kitchen fumes AND its tables and stoves on the pavement
TWO_MATTERS = "饭店厨房油烟直排呛人，还在人行道上摆桌子和炉灶占道经营。"
ONE_MATTER = "海阳路一家饭店厨房油烟直排，对着居民窗户吹，呛得没法开窗。"


def test_two_matters_give_a_secondary_city_matter(engine: Engine) -> None:
    d = engine.decide(TWO_MATTERS, NOW)
    assert {d.category, d.secondary} == {"CATERING_FUMES", "OUT_OF_STORE"}
    assert d.secondary != d.category
    assert engine.city.categories[d.secondary or ""].handler in ("squad", "city_unit")


def test_one_matter_gives_no_secondary(engine: Engine) -> None:
    d = engine.decide(ONE_MATTER, NOW)
    assert d.category == "CATERING_FUMES"
    assert d.secondary is None
