"""Settings of the WeChat callback (built by the intake service from its own settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from services.core.events import MAX_TEXT_CHARS
from services.intake.wechat.crypto import decode_aes_key


class WeChatSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: SecretStr
    encoding_aes_key: SecretStr | None = None  # 43 characters; needed for safe/compatible mode
    appid: str = ""
    window_s: float = Field(default=600, gt=0, description="supplements within this idle window")
    max_body: int = Field(default=64 * 1024, gt=0)
    timestamp_skew_s: int = Field(default=300, gt=0)
    reply_budget_s: float = Field(default=4.0, gt=0, description="answer WeChat within this (it gives up at 5 s)")
    background_timeout_s: float = Field(default=60, gt=0, description="hard cap on work continued after the budget")
    key_prefix: str = "wechat:"
    dedupe_ttl_s: int = Field(default=86400, gt=0)
    require_encryption: bool = Field(default=False, description="reject plaintext pushes (403)")
    max_text_chars: int = Field(default=MAX_TEXT_CHARS, gt=0, le=MAX_TEXT_CHARS,
                                description="a longer text message is refused with a Chinese reply (city.yaml)")

    @field_validator("encoding_aes_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    @field_validator("encoding_aes_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_aes_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _appid_needed_for_aes(self) -> WeChatSettings:
        if self.encoding_aes_key is not None and not self.appid:
            raise ValueError("appid is required when encoding_aes_key is set")
        if not self.token.get_secret_value():
            raise ValueError("token must not be empty")
        return self
