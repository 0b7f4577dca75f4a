"""The Chinese names /api/v1/meta gives the pages for rule labels, actors and done actions (pages/labels.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from services.core.config import CityConfig
from services.core.loader import load_city
from services.tracker.pages.labels import DONE, SYSTEM, actor_name, describe_rule, rule_names
from services.tracker.pages.meta import action_names, transitions

ASCII_CODE = re.compile(r"[A-Za-z_]{3,}|rule \d+|->")


@pytest.fixture(scope="module")
def city() -> CityConfig:
    return load_city("rugao")


def test_every_routing_rule_has_a_chinese_description_from_routing_yaml(city: CityConfig) -> None:
    names = {r["label"]: r for r in rule_names(city)}
    for rule in city.rules:
        assert rule.description, f"routing.yaml {rule.label}: no description"
        entry = names[rule.label]
        assert entry["index"] == rule.index and entry["name"] == rule.description
        assert not ASCII_CODE.search(entry["name"]), entry
    last = city.rules[-1]
    assert last.label.startswith("rule 10:") and names[last.label]["name"] == "其余事项派所在镇（街道）属地中队"
    # the rule strings the tracker and the router write themselves are named too
    assert names["operator override"]["name"] == "接线员指定承办单位"
    assert "指挥中心" in names["returned: same unit again -> command centre"]["name"]


def test_a_rule_without_a_description_is_described_from_its_conditions(city: CityConfig) -> None:
    gas = next(r for r in city.rules if r.when == {"category": "GAS_SAFETY"})
    text = describe_rule(replace(gas, description=""), city)
    assert text == "类别为燃气安全：派市城管局燃气安全执法中队"
    other = describe_rule(replace(city.rules[-1], description=""), city)
    assert other == "其余事项：派所在镇（街道）属地中队"
    unknown = describe_rule(replace(city.rules[3], description=""), city)
    assert unknown == "地点为未识别：派市城管指挥中心"
    for rule in city.rules:
        assert not ASCII_CODE.search(describe_rule(replace(rule, description=""), city)), rule.label


def test_actors_are_shown_by_name_or_a_chinese_fallback(city: CityConfig) -> None:
    users = {"王五": {"name": "王五", "role": "squad", "unit": "SQ_BAIPU"},
             "接线员甲": {"name": "接线员甲", "role": "operator", "unit": None}}
    assert actor_name("squad:王五@SQ_BAIPU", users, city) == "王五"
    assert actor_name("operator:接线员甲", users, city) == "接线员甲"
    assert actor_name("squad:u123@SQ_BAIPU", users, city) == "白蒲镇中队队员"  # no such user any more
    assert actor_name("command:zhang", users, city) == "指挥中心"
    assert actor_name("admin", users, city) == "管理员"
    assert actor_name("router:core", users, city) == "系统（自动派单）"
    assert actor_name("channel:hotline", users, city) == "12319热线"
    assert actor_name("channel:wechat", users, city) == "微信"
    assert actor_name("citizen:****5678", users, city) == "市民（尾号5678）"
    for odd in ("", None, "something-else", "channel:fax", "robot:x"):
        assert actor_name(odd, users, city) == SYSTEM


def test_every_action_a_page_offers_has_a_toast_that_says_it_was_done() -> None:
    offered = {a for actions in transitions().values() for a in actions} | set(action_names())
    missing = offered - set(DONE) - {"dispatch", "reroute", "escalate"}  # the router's moves, no button
    assert not missing, missing
    for action, text in DONE.items():
        assert text.startswith("已") and not ASCII_CODE.search(text), (action, text)
    assert (DONE["accept"], DONE["extension"], DONE["extension_approve"], DONE["extension_refuse"]) == (
        "已签收", "已申请延期", "已批准延期", "已驳回延期")
    assert (DONE["resolve"], DONE["verify"], DONE["reopen"], DONE["reassign"], DONE["supervise"], DONE["file"]) == (
        "已办结反馈", "已核查结案", "已返工", "已改派", "已督办", "已受理")
