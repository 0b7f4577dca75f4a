"""Request validation errors in Chinese, naming the field, beside the machine-readable list.

The 422 body keeps FastAPI's shape, ``{"detail": [{"loc", "msg", "type"}, ...]}``, so clients that
read ``loc`` and ``type`` keep working; ``msg`` becomes Chinese (pydantic's English text stays in
``msg_en``), each entry gains ``field``, and ``message`` is one sentence for a person:
``请求参数有误：手机号（phone）：必填；投诉内容（text）：不能为空``.  Messages the project's own
validators already write in Chinese are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# the fields people meet most, by their last name in ``loc``
LABELS: dict[str, str] = {
    "text": "投诉内容", "phone": "手机号", "name": "姓名", "address": "地址", "channel": "渠道",
    "reported_at": "来电时间", "category_override": "类别", "territory_override": "镇（街道）",
    "unit_override": "承办单位", "unit": "承办单位", "category": "类别", "territory": "镇（街道）",
    "reason": "原因", "result": "处置结果", "disposal_mode": "处置方式", "rating": "评价",
    "phone_last4": "手机号后四位", "comment": "说明", "until": "延期至", "note": "备注",
    "ticket_no": "工单号", "limit": "条数", "status": "状态", "from": "起始时间", "to": "截止时间",
    "days": "天数", "kind": "告警类型", "into": "合并到的工单", "version": "版本",
}
WHERE = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}
_CJK = re.compile(r"[\u4e00-\u9fff]")

# pydantic error type -> Chinese; {name} from the error's ctx
TEMPLATES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不是可接受的字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "须为 JSON",
    "model_type": "须为 JSON 对象",
    "model_attributes_type": "须为 JSON 对象",
    "dict_type": "须为 JSON 对象",
    "list_type": "须为列表",
    "string_type": "须为字符串",
    "string_too_short": "长度至少 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "datetime_type": "须为带时区的时间，例如 2026-11-26T08:00:00+08:00",
    "datetime_parsing": "须为带时区的时间，例如 2026-11-26T08:00:00+08:00",
    "datetime_from_date_parsing": "须为带时区的时间，例如 2026-11-26T08:00:00+08:00",
    "date_parsing": "须为日期，例如 2026-11-26",
    "date_from_datetime_parsing": "须为日期，例如 2026-11-26",
    "timezone_aware": "需要带时区，例如 2026-11-26T08:00:00+08:00",
    "url_parsing": "须为有效的网址",
    "url_scheme": "须为 http(s) 网址",
    "uuid_parsing": "须为 UUID",
    "value_error": "取值无效",
}


def field_of(loc: Iterable[Any]) -> str:
    """The name a person knows the field by: its label and key (``手机号（phone）``), or where it is."""
    parts = [str(p) for p in loc]
    names = [p for p in parts[1:] if not p.isdigit()] if parts and parts[0] in WHERE else [p for p in parts if not p.isdigit()]
    if not names:
        return WHERE.get(parts[0], "请求") if parts else "请求"
    key = ".".join(names)
    label = LABELS.get(names[-1])
    return f"{label}（{key}）" if label else key


def chinese(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg") or "")
    if _CJK.search(msg):  # the project's own validators: already Chinese
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = TEMPLATES.get(str(error.get("type")))
    if template is None:
        return f"取值无效（{msg}）" if msg else "取值无效"
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split("{", 1)[0].rstrip("：: ") or "取值无效"


def describe(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The 422 body for these pydantic/FastAPI errors."""
    detail = []
    for e in errors:
        loc = list(e.get("loc", ()))
        detail.append({"loc": loc, "field": field_of(loc), "msg": chinese(e), "type": e.get("type"),
                       "msg_en": e.get("msg")})
    message = "请求参数有误：" + "；".join(f"{d['field']}：{d['msg']}" for d in detail) if detail else "请求参数有误"
    return {"message": message, "detail": detail}
