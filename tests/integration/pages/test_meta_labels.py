"""/api/v1/meta gives the pages a Chinese name for every code: rules, evidence kinds, cues, users, done actions."""

from __future__ import annotations

import re

from tests.integration.pages.conftest import LiveApi


def test_meta_names_rules_users_and_done_actions(api: LiveApi) -> None:
    meta = api.get("squad", "/api/v1/meta").json()
    rules = {r["label"]: r for r in meta["rules"]}
    assert rules["rule 10: otherwise -> territorial_unit"] == {
        "index": 10, "label": "rule 10: otherwise -> territorial_unit", "name": "其余事项派所在镇（街道）属地中队"}
    assert all(re.search(r"[\u4e00-\u9fff]", r["name"]) and "rule" not in r["name"] for r in meta["rules"])
    assert meta["evidence_kinds"]["kw"] == "关键词" and meta["cues"]["gas_smell"] == "燃气味"
    # the users table by the name actor strings carry (squad:<name>@<unit>)
    users = meta["users"]
    squad = next(u for u in users.values() if u["role"] == "squad" and u["unit"] == "SQ_BAIPU")
    assert squad["name"].startswith("baipu-") and users[squad["name"]] == squad
    assert {u["role"] for u in users.values()} >= {"operator", "squad", "command"}
    # a squad is not told who the other squads' members are; the command centre is
    assert all(u["unit"] == "SQ_BAIPU" for u in users.values() if u["role"] == "squad")
    everyone = api.get("command", "/api/v1/meta").json()["users"]
    assert any(u["unit"] == "SQ_RUCHENG" for u in everyone.values()) and set(users) < set(everyone)
    assert meta["actor_names"]["router"] == "系统（自动派单）" and meta["actor_names"]["channels"]["hotline"] == "12319热线"
    assert meta["done"]["accept"] == "已签收" and meta["done"]["extension_refuse"] == "已驳回延期"
    assert meta["events"]["rerouted"] == "重新派遣" and meta["events"]["supplemented"] == "市民补充"
    assert api.get("anonymous", "/api/v1/meta").status_code == 401
