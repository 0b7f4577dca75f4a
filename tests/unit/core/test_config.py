"""Configuration validation: each kind of bad configuration fails loading with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from services.core.classifier import Model
from services.core.config import ConfigError
from services.core.engine import Engine
from services.core.loader import load_city, parse_duration


def _edit_yaml(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _load(folder: Path):  # type: ignore[no-untyped-def]
    return load_city("rugao", folder.parent)


def test_real_config_loads(city) -> None:  # type: ignore[no-untyped-def]
    assert city.code == "rugao" and city.name == "如皋市" and city.ticket_prefix == "RG"
    assert city.timezone == "Asia/Shanghai"
    assert len(city.categories) == 23
    assert sum(len(t.villages) for t in city.territories.values()) == 355
    assert city.categories["GAS_SAFETY"].handler == "city_unit"
    assert city.units["SQ_DEVZONE"].full_powers and "城南街道" in city.units["SQ_DEVZONE"].aliases
    assert city.alias_territories()["城北街道"] == "320682401"
    assert any(o.old_name == "十里敦居委会" for o in city.old_names)


def test_copy_loads_unchanged(city_copy: Path) -> None:
    assert _load(city_copy).code == "rugao"


def test_unknown_unit_in_rule(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d["rules"].insert(1, {"when": {"handler": "answer"},
                                                                           "to": "NO_SUCH_UNIT"}))
    with pytest.raises(ConfigError, match="unknown unit 'NO_SUCH_UNIT'"):
        _load(city_copy)


def test_unknown_category_in_rule(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d["rules"].insert(0, {"when": {"category": "NOPE"},
                                                                           "to": "CITY_GAS"}))
    with pytest.raises(ConfigError, match="unknown category 'NOPE'"):
        _load(city_copy)


def test_unknown_territory_in_unit(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d["units"][0].update(territory=["320682999"]))
    with pytest.raises(ConfigError, match="unknown territory 320682999"):
        _load(city_copy)


def test_duplicate_category_code(city_copy: Path) -> None:
    _edit_yaml(city_copy / "taxonomy.yaml", lambda d: d["categories"].append(dict(d["categories"][0])))
    with pytest.raises(ConfigError, match="duplicate category code NOISE_CONSTRUCTION"):
        _load(city_copy)


def test_duplicate_unit_id(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d["units"].append({"id": "CITY_GAS", "name": "x"}))
    with pytest.raises(ConfigError, match="duplicate unit id CITY_GAS"):
        _load(city_copy)


def test_rule_that_can_never_fire(city_copy: Path) -> None:
    # a category rule placed after the catch-all can never be reached
    _edit_yaml(city_copy / "routing.yaml",
               lambda d: d["rules"].append({"when": {"category": "GAS_SAFETY"}, "to": "CITY_GAS"}))
    with pytest.raises(ConfigError, match="can never fire"):
        _load(city_copy)


def test_rule_shadowed_by_handler_rule(city_copy: Path) -> None:
    # OUT_OF_SCOPE has handler forward: the handler rule above always wins
    _edit_yaml(city_copy / "routing.yaml",
               lambda d: d["rules"].insert(3, {"when": {"category": "OUT_OF_SCOPE"}, "to": "COMMAND_CENTER"}))
    with pytest.raises(ConfigError, match="rule 4: category=OUT_OF_SCOPE -> COMMAND_CENTER can never fire"):
        _load(city_copy)


def test_territorial_rule_without_place(city_copy: Path) -> None:
    # dropping the "location unknown" rule sends unlocated cases to a territorial unit that does not exist
    _edit_yaml(city_copy / "routing.yaml",
               lambda d: d.update(rules=[r for r in d["rules"] if r["when"] != {"location": "unknown"}]))
    with pytest.raises(ConfigError, match="to a territorial unit, but there is none"):
        _load(city_copy)


def test_unknown_condition_key(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d["rules"][0]["when"].update(colour="red"))
    with pytest.raises(ConfigError, match="unknown condition 'colour'"):
        _load(city_copy)


def test_bad_handler_and_duration(city_copy: Path) -> None:
    _edit_yaml(city_copy / "taxonomy.yaml", lambda d: d["categories"][0].update(handler="police"))
    with pytest.raises(ConfigError, match="unknown handler 'police'"):
        _load(city_copy)
    with pytest.raises(ConfigError, match="bad duration"):
        parse_duration("3 weeks", "x")
    assert parse_duration("90m").total_seconds() == 5400


def test_place_with_unknown_territory(city_copy: Path) -> None:
    _edit_yaml(city_copy / "places.yaml",
               lambda d: d.update(places=[{"name": "幸福花园", "territory": "320682998", "kind": "estate"}]))
    with pytest.raises(ConfigError, match="places.yaml place 幸福花园: unknown territory 320682998"):
        _load(city_copy)


def test_lexicon_unknown_category(city_copy: Path) -> None:
    _edit_yaml(city_copy / "lexicon.yaml", lambda d: d["categories"].update(FLYING_SAUCERS=["飞碟"]))
    with pytest.raises(ConfigError, match="unknown category FLYING_SAUCERS"):
        _load(city_copy)


def test_missing_city_and_bad_timezone(city_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no configuration folder for city 'atlantis'"):
        load_city("atlantis", tmp_path)
    _edit_yaml(city_copy / "city.yaml", lambda d: d.update(timezone="Mars/Olympus"))
    with pytest.raises(ConfigError, match="unknown timezone"):
        _load(city_copy)


def test_duplicate_village_code(city_copy: Path) -> None:
    import json

    path = city_copy / "divisions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data[1]["villages"].append(dict(data[0]["villages"][0]))
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate village code 320682001001"):
        _load(city_copy)


def test_the_command_centre_is_the_citys_own_unit(city, city_copy: Path) -> None:  # type: ignore[no-untyped-def]
    assert city.command_centre == "COMMAND_CENTER"
    path = city_copy / "routing.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("COMMAND_CENTER", "ZHIHUI_ZHONGXIN"), encoding="utf-8")
    renamed = _load(city_copy)
    assert renamed.command_centre == "ZHIHUI_ZHONGXIN" and "COMMAND_CENTER" not in renamed.units
    d = Engine(renamed, Model.load()).decide("路边有人乱扔垃圾", datetime(2026, 12, 1, tzinfo=UTC))
    assert d.territory is None and d.unit == "ZHIHUI_ZHONGXIN"


def test_the_command_centre_defaults_to_the_unit_of_the_low_confidence_rule(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d.pop("command_centre"))
    assert _load(city_copy).command_centre == "COMMAND_CENTER"


def test_unknown_command_centre(city_copy: Path) -> None:
    _edit_yaml(city_copy / "routing.yaml", lambda d: d.update(command_centre="NO_CENTRE"))
    with pytest.raises(ConfigError, match="command_centre: unknown unit 'NO_CENTRE'"):
        _load(city_copy)


def test_a_new_category_routed_to_a_new_unit_is_configuration_only(city_copy: Path) -> None:
    """Issue 18: the edit a city makes, and nothing else (the model learns the category with
    `complaints train` once examples of it are written)."""
    from services.core.routing import facts_for, route
    from services.core.sla import deadlines

    def taxonomy(d: dict) -> None:  # type: ignore[type-arg]
        d["categories"].insert(0, {"code": "SHARED_BIKES", "name": "共享单车乱停放", "group": "STREET",
                                   "handler": "city_unit", "sla": {"accept": "2h", "resolve": "1d", "urgent_accept": "30m",
                                           "urgent_resolve": "4h"},
                                   "description": "共享单车、电动自行车占用人行道、盲道乱停放。"})

    def routing(d: dict) -> None:  # type: ignore[type-arg]
        d["units"].insert(0, {"id": "CITY_BIKES", "name": "市城管局共享单车管理中队"})
        d["rules"].insert(4, {"when": {"category": "SHARED_BIKES"}, "to": "CITY_BIKES",
                              "description": "共享单车乱停放，派市城管局共享单车管理中队"})

    _edit_yaml(city_copy / "taxonomy.yaml", taxonomy)
    _edit_yaml(city_copy / "routing.yaml", routing)
    city = _load(city_copy)
    r = route(city, facts_for(city, "SHARED_BIKES", "320682105"))
    assert r.unit == "CITY_BIKES" and "SHARED_BIKES" in r.rule
    limits = deadlines(city.categories["SHARED_BIKES"], datetime(2026, 12, 1, tzinfo=UTC), False, city.timezone)
    assert limits.accept_by == datetime(2026, 12, 1, 2, tzinfo=UTC)
    assert route(city, facts_for(city, "SHARED_BIKES", None)).unit == city.command_centre  # no place: by hand
