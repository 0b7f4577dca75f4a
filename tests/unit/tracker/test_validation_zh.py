"""422 bodies: Chinese, naming the field, with FastAPI's machine-readable list kept."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.hotline import HotlineComplaintIn
from services.tracker.validation_zh import describe


def errors_of(body: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        HotlineComplaintIn.model_validate(body)
    return [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]


def test_missing_and_malformed_fields_are_named_in_chinese() -> None:
    out = describe(errors_of({"text": "白蒲镇工地夜间施工", "category_override": "bad code", "colour": "red"}))
    by_loc = {tuple(d["loc"]): d for d in out["detail"]}
    assert by_loc[("body", "phone")]["msg"] == "必填" and by_loc[("body", "phone")]["type"] == "missing"
    assert by_loc[("body", "category_override")]["msg"] == "格式不正确"
    assert by_loc[("body", "colour")]["msg"] == "不是可接受的字段"
    assert out["message"].startswith("请求参数有误：")
    assert "手机号（phone）：必填" in out["message"] and "类别（category_override）：格式不正确" in out["message"]
    assert "colour" in out["message"]
    for d in out["detail"]:  # machine-readable: loc and type as FastAPI gives them, English kept aside
        assert set(d) == {"loc", "field", "msg", "type", "msg_en"} and d["msg_en"]


def test_the_projects_own_chinese_messages_are_kept() -> None:
    out = describe(errors_of({"text": "   ", "phone": "abc-defg"}))
    msgs = {d["loc"][-1]: d["msg"] for d in out["detail"]}
    assert "投诉内容" in msgs["text"] and "不能为空" in msgs["text"]
    assert msgs["phone"] == "电话号码格式不正确"  # "Value error, " dropped


def test_limits_are_spelled_out() -> None:
    out = describe([{"loc": ("query", "limit"), "msg": "Input should be less than or equal to 500",
                     "type": "less_than_equal", "ctx": {"le": 500}},
                    {"loc": ("body",), "msg": "JSON decode error", "type": "json_invalid", "ctx": {"error": "x"}},
                    {"loc": ("body", "x"), "msg": "Something new", "type": "brand_new_type"}])
    assert out["message"] == "请求参数有误：条数（limit）：不能大于 500；请求体：不是有效的 JSON；x：取值无效（Something new）"
