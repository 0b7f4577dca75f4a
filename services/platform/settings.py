"""Typed settings, one object per service, read from the environment (prefix ``COMPLAINTS_``).

Settings are constructed once in each service's ``bootstrap()`` and passed down;
nothing reads ``os.environ`` deeper inside.  Tests build them directly.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.resources import cities_root


def _default_data_dir() -> Path:
    return Path.cwd() / "var"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_", extra="ignore")

    city: str = "rugao"
    # the folder of city folders; default: the configuration packaged with the code (services/resources)
    config_root: Path = Field(default_factory=cities_root)
    # local state of a process that has no URL for it (SQLite file, media copies, embedded stack's logs)
    data_dir: Path = Field(default_factory=_default_data_dir, description="default: ./var")
    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = Field(default="", description="default: sqlite:///<data dir>/complaints.db")
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "c12319:"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    log_level: str = "INFO"
    # Consumer tuning: Tansu answers a waiting fetch only every fetch_wait/2,
    # so a short wait gives low latency there (see deploy/topics.md).
    consumer_fetch_wait_ms: int = Field(default=10, ge=1, le=5000)
    session_timeout_s: float = Field(default=6.0, ge=1.0, le=300.0)
    heartbeat_interval_s: float = Field(default=1.5, ge=0.1, le=60.0)
    topic_partitions: int = Field(default=3, ge=1, le=256)
    topic_replication: int = Field(default=1, ge=1, le=5)
    migrate_on_start: bool = True
    # Compression of every record batch the services produce (intake, outbox relay, router).  The
    # embedded Tansu broker keeps all it receives in memory, about 1 KB per batch plus twice its
    # bytes: gzip cuts that by ~20% for one-record batches and ~65% for batches of 20 or more, for
    # 10-50 us of producer CPU per record.  lz4/zstd/snappy need the `cramjam` package in every
    # producing and consuming process.
    producer_compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = "none"

    # Return the C heap's free pages to the OS this often (glibc malloc_trim; 0 = never).  See
    # services/platform/memory.py.
    memory_release_every_s: float = Field(default=10.0, ge=0, le=3600)
    # where citizens reach the API from outside (their WeChat notifications link to <this>/citizen?t=<ticket>);
    # empty: the messages carry no link
    public_base_url: str = Field(default="", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$",
                                 description="e.g. https://12319.rugao.gov.cn")
    # signs the key of those links (HMAC of the ticket): a WeChat citizen, who gave no phone number, opens their
    # case with it; the API and the tracker need the same value.  Unset: links without a key (last four digits)
    citizen_link_secret: SecretStr | None = None
    # classifier versions (services/modelstore.py); deciding processes re-read its pointer this often
    model_dir: Path | None = Field(default=None, description="default: <data dir>/models")
    model_check_every_s: float = Field(default=2.0, gt=0, le=600)

    def model_root(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @model_validator(mode="after")
    def _defaults_in_data_dir(self) -> CommonSettings:
        self.data_dir = Path(self.data_dir).absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'complaints.db'}"
        return self

    @property
    def compression_type(self) -> str | None:
        """The value for aiokafka's ``compression_type`` / Faust's ``producer_compression_type``."""
        return None if self.producer_compression == "none" else self.producer_compression


class MediaSettings(CommonSettings):
    """Copies of citizens' WeChat photos and voice messages (WeChat keeps them three days only).

    The tracker downloads them into ``media_dir`` (content-addressed files); the API serves them.
    """

    media_dir: Path | None = Field(default=None, description="default: <data dir>/media")
    media_max_bytes: int = Field(default=10 * 2**20, gt=0, description="a larger medium is refused")
    media_fetch_every_s: float = Field(default=5.0, gt=0)
    media_retry_base_s: float = Field(default=30.0, gt=0, description="first retry after a failed download")
    media_retry_max_s: float = Field(default=3600.0, gt=0)
    media_ttl_s: float = Field(default=3 * 86400, gt=0, description="WeChat drops media this long after the message")
    photo_max_bytes: int = Field(default=8 * 2**20, gt=0, description="largest photo a squad may upload")
    photos_per_case: int = Field(default=30, gt=0, description="uploaded photos one case may hold")

    def media_root(self) -> Path:
        return self.media_dir or self.data_dir / "media"


class ApiSettings(MediaSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    admin_token: SecretStr | None = None
    publish_timeout_s: float = Field(default=3.0, gt=0, le=30)
    wechat_publish_timeout_s: float = Field(default=1.0, gt=0, le=4)
    idempotency_ttl_s: int = 86400
    max_body_bytes: int = 65536
    wechat_token: SecretStr | None = None
    wechat_encoding_aes_key: SecretStr | None = None
    wechat_appid: str | None = None
    wechat_window_s: int = 600
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_secret: SecretStr | None = None
    wechat_require_encryption: bool = False


class AlertSettings(CommonSettings):
    """Live alerts (issue 5): the tracker registers each dispatched case, the router checks deadlines.

    Hot spot = at least ``hotspot_threshold`` complaints of one category from one place within the window.
    """

    hotspot_threshold: int = Field(default=5, ge=2, le=1000)
    hotspot_window_s: int = Field(default=3600, ge=60, le=7 * 86400)


class RouterSettings(AlertSettings):
    router_group: str = "complaints-router"
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    producer_linger_ms: int = Field(default=1, ge=0, le=1000)
    # Larger batches mean fewer produce requests under a backlog (aiokafka's default is 16 KiB).
    producer_max_batch_bytes: int = Field(default=262144, ge=16384, le=4 * 2**20)
    batch_max: int = Field(default=200, ge=1, le=10000)
    batch_within_s: float = Field(default=0.02, gt=0, le=5)
    heartbeat_every_s: float = Field(default=0.5, gt=0, le=1.0)  # /healthz: dead after 1.5 s (platform/heartbeat.py)
    alert_check_every_s: float = Field(default=2.0, gt=0, le=60)
    # how often the worker checks whether the broker lost a log it was reading (see transport.py)
    lost_log_check_s: float = Field(default=2.0, gt=0, le=60)


class TrackerSettings(AlertSettings, MediaSettings):
    tracker_group: str = "complaints-tracker"
    route_timeout_s: float = Field(default=60.0, ge=1.0, description="received but not routed after this -> routed by the reconciler")
    reconcile_every_s: float = 5.0
    planner_stats_every_s: float = Field(default=3600.0, gt=0)  # SQLite ANALYZE by the tracker worker
    # A small batch waits this long for more records (fewer transactions and commits per complaint).
    batch_linger_ms: int = Field(default=20, ge=0, le=1000)
    outbox_every_s: float = 0.2
    intake_relay_after_s: float = 2.0
    notify_every_s: float = Field(default=1.0, gt=0)
    # WeChat notifications (accepted / resolved / rating request): enabled when appid and secret are set
    wechat_appid: str | None = None
    wechat_secret: SecretStr | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"


class StackSettings(ApiSettings, RouterSettings, TrackerSettings):
    """`complaints run`: the embedded default.  Unset URLs mean 'start the embedded one'."""

    kafka_bootstrap: str = ""
    redis_url: str = ""
    producer_compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = "gzip"
    broker_port: int = 0
    redis_port: int = 0
