"""Chinese names of the codes the pages would otherwise show raw: routing rules, evidence, actors, done actions.

Served by GET /api/v1/meta (``meta.py``) and applied by one helper of the pages (``static/common.js``):
a rule label ``rule 10: otherwise -> territorial_unit`` becomes its description from routing.yaml, an
evidence term ``kw:GAS_SAFETY`` becomes ``关键词：燃气安全``, an actor ``squad:王五@SQ_BAIPU`` the
user's name from the users table (or a Chinese fallback such as 系统), and an API action the words
of a toast (``accept`` -> 已签收).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.core.config import TERRITORIAL, CityConfig, Rule
from services.tracker.auth import Principal, Role
from services.tracker.models import ApiUser
from services.tracker.pages.access import ROLE_NAMES

# rule strings the tracker and the router write beside routing.yaml's own rule labels
SPECIAL_RULES = {
    "operator override": "接线员指定承办单位",
    "returned: same unit again -> command centre": "退单后仍派回同一单位，转指挥中心",
}
# what a routing condition means (routing.py's CONDITION_KEYS), for rules without a description
CONDITION_NAMES = {
    "handler": "处理方式", "category": "类别", "group": "类别组", "location": "地点", "unit_full_powers": "综合执法辖区",
    "territory": "镇（街道）", "urgent": "紧急", "confidence": "判定把握",
}
VALUE_NAMES = {
    "squad": "属地中队", "city_unit": "市级单位", "forward": "转办", "answer": "直接答复",
    "unknown": "未识别", "no_squad": "无属地中队", "known": "已识别", "low": "不足", "ok": "充分",
}
# evidence kinds (the prefix of a feature name) and the lexicon's cue groups
EVIDENCE_KINDS = {"kw": "关键词", "cue": "线索", "grp": "类别组", "p": "紧急程度"}
CUE_NAMES = {
    "now": "正在发生", "hurry": "催办", "night": "夜间", "danger": "危险", "fire": "火情", "gas_smell": "燃气味",
    "hole": "坑洞", "blocked": "堵塞", "recurring": "反复发生", "past": "已过去", "request": "诉求", "ask": "咨询",
    "not_city": "非城管",
}
# actors that are not users: the prefix of the actor string -> a name
CHANNEL_NAMES = {"hotline": "12319热线", "wechat": "微信", "open311": "网上受理"}
SYSTEM = "系统"
ROUTER = "系统（自动派单）"
CITIZEN = "市民"
# an API action done -> what the toast says
DONE = {
    "file": "已受理", "link": "已关联", "accept": "已签收", "start": "已开始处置", "resolve": "已办结反馈",
    "extension": "已申请延期", "extension_approve": "已批准延期", "extension_refuse": "已驳回延期",
    "return": "已退单", "verify": "已核查结案", "reopen": "已返工", "reassign": "已改派", "supervise": "已督办",
    "decide": "已裁定", "merge": "已合并", "forward": "已转12345", "answer": "已答复", "rate": "已评价",
}


def _value(city: CityConfig, key: str, value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(_value(city, key, v) for v in value)
    if key == "category" and value in city.categories:
        return city.categories[value].name
    if key == "group":
        return city.groups.get(value, str(value))
    if key == "territory" and value in city.territories:
        return city.territories[value].name
    if isinstance(value, bool):
        return "是" if value else "否"
    return VALUE_NAMES.get(str(value), str(value))


def describe_rule(rule: Rule, city: CityConfig) -> str:
    """The rule's description from routing.yaml, else one written from its conditions and target."""
    if rule.description:
        return rule.description
    to = "所在镇（街道）属地中队" if rule.to == TERRITORIAL else (city.units[rule.to].name if rule.to in city.units else rule.to)
    cond = "，".join(f"{CONDITION_NAMES.get(k, k)}为{_value(city, k, v)}" for k, v in rule.when.items())
    return f"{cond or '其余事项'}：派{to}"


def rule_names(city: CityConfig) -> list[dict[str, Any]]:
    """Every rule string a case can carry, with its index (None for the tracker's own) and description."""
    out: list[dict[str, Any]] = [{"index": r.index, "label": r.label, "name": describe_rule(r, city)} for r in city.rules]
    out += [{"index": None, "label": label, "name": name} for label, name in SPECIAL_RULES.items()]
    return out


def user_names(session: Session, viewer: Principal | None = None) -> dict[str, dict[str, str | None]]:
    """Users by the name their actor strings carry: their display name, role and unit.

    A squad member is told the names of the hotline and command-centre staff and of their own unit's
    members only: another squad's member stays 「<unit>队员」 on their pages.
    """
    query = select(ApiUser.name, ApiUser.role, ApiUser.unit)
    if viewer is not None and viewer.role == Role.SQUAD:
        query = query.where(or_(ApiUser.role != Role.SQUAD.value, ApiUser.unit == viewer.unit))
    rows = session.execute(query).all()
    return {name: {"name": name, "role": role, "unit": unit} for name, role, unit in rows}


def actor_name(actor: str | None, users: dict[str, dict[str, str | None]], city: CityConfig) -> str:
    """What a person reads for an actor string (the same rules as common.js's ``C.actor``)."""
    if not actor:
        return SYSTEM
    kind, _, rest = actor.partition(":")
    if kind == "router":
        return ROUTER
    if kind == "channel":
        return CHANNEL_NAMES.get(rest, SYSTEM)
    if kind == "citizen":
        digits = rest.lstrip("*")
        return f"{CITIZEN}（尾号{digits}）" if digits.isdigit() else CITIZEN
    if kind == "admin" or actor == "admin":
        return ROLE_NAMES[Role.ADMIN]
    roles = {r.value: r for r in Role}
    if kind in roles and rest:
        name, _, unit = rest.partition("@")
        if name in users:
            return name
        unit_obj = city.units.get(unit)
        return (unit_obj.name + "队员") if unit_obj else ROLE_NAMES[roles[kind]]
    return SYSTEM


def labels(city: CityConfig, users: dict[str, dict[str, str | None]]) -> dict[str, Any]:
    """The part of /api/v1/meta this module owns (``users`` from :func:`user_names`)."""
    return {
        "rules": rule_names(city),
        "evidence_kinds": EVIDENCE_KINDS,
        "cues": CUE_NAMES,
        "users": users,
        "actor_names": {"system": SYSTEM, "router": ROUTER, "citizen": CITIZEN, "channels": CHANNEL_NAMES,
                        "roles": {r.value: n for r, n in ROLE_NAMES.items()}},
        "done": DONE,
    }
