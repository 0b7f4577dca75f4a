"""Request bodies of the case actions: validated before anything is stored (422 names the field)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UNIT_PATTERN = r"^[A-Z0-9_]{2,40}$"
TICKET_PATTERN = r"^[A-Z]{1,6}\d{14}$"
ATTACHMENT_REF = re.compile(r"^/api/v1/cases/[A-Z]{1,6}\d{14}/attachments/\d{1,3}$")  # an uploaded photo
DisposalMode = Literal["服务", "管理", "执法"]
Rating = Literal["满意", "基本满意", "不满意"]


class Command(BaseModel):
    """Every action accepts ``expected_version`` (optimistic concurrency) and ``action_id`` (idempotency)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    expected_version: int | None = Field(default=None, ge=1, description="客户端看到的工单版本；不一致返回 409")
    action_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
                                  description="客户端操作编号：重复提交只执行一次（也可用 Idempotency-Key 头）")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control(cls, v: object) -> object:
        if isinstance(v, str) and _CONTROL.search(v):
            raise ValueError("包含不允许的控制字符")
        return v


class Empty(Command):
    pass


class WithReason(Command):
    reason: str = Field(min_length=2, max_length=1000, description="原因（必填）")


class ExtensionRequest(WithReason):
    hours: int = Field(ge=1, le=24 * 30, description="申请延长的小时数")


class Resolve(Command):
    result: str = Field(min_length=2, max_length=2000, description="处置结果")
    disposal_mode: DisposalMode = Field(description="处置方式：服务 / 管理 / 执法")
    photos: list[str] = Field(default_factory=list, max_length=9,
                              description="现场照片：本工单已上传照片的地址（/api/v1/cases/…/attachments/n）或 http(s) 链接")

    @field_validator("photos")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not (re.match(r"^https?://[^\s]{3,1990}$", url) or ATTACHMENT_REF.match(url)):
                raise ValueError(f"照片地址必须是本工单已上传的照片或 http(s) 链接：{url[:60]}")
        return list(dict.fromkeys(v))


class Reassign(Command):
    unit: str = Field(pattern=UNIT_PATTERN, description="改派到的单位")
    category: str | None = Field(default=None, pattern=r"^[A-Z_]{2,40}$", description="同时更正的类别")


class Decide(Command):
    unit: str = Field(pattern=UNIT_PATTERN, description="裁定的承办单位（最终决定）")
    category: str | None = Field(default=None, pattern=r"^[A-Z_]{2,40}$")


class Supervise(Command):
    unit: str | None = Field(default=None, pattern=UNIT_PATTERN, description="督办对象单位，默认为承办单位")
    note: str = Field(min_length=2, max_length=1000, description="督办意见")


class Merge(Command):
    into_ticket: str = Field(pattern=TICKET_PATTERN, description="合并到的工单号")


class Forward(Command):
    note: str = Field(min_length=2, max_length=1000, description="转办说明")


class Answer(Command):
    answer: str = Field(min_length=2, max_length=2000, description="答复内容")


class Rate(Command):
    rating: Rating
