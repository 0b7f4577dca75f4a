"""The tracker's periodic WeChat work, wired in one place: one API client (one shared access token)
for the citizen notifications and the media fetcher.  Enabled when the appid and secret are set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.orm import Session, sessionmaker

from services.core.engine import Engine
from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings
from services.platform.media_store import LocalMediaStore
from services.platform.settings import TrackerSettings
from services.tracker.media import MediaFetcher
from services.tracker.notifier import Notifier


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every_s: float
    run: Callable[[], Awaitable[Any]]


def wechat_client(s: TrackerSettings, redis: Redis) -> WeChatApiClient | None:
    if not (s.wechat_appid and s.wechat_secret):
        return None
    return WeChatApiClient(WeChatApiSettings(appid=s.wechat_appid, secret=s.wechat_secret, base_url=s.wechat_api_base,
                                             key_prefix=f"{s.redis_prefix}wechat:", media_max_bytes=s.media_max_bytes),
                           redis)


def wechat_jobs(s: TrackerSettings, sessions: sessionmaker[Session], engine: Engine, redis: Redis,
                client: WeChatApiClient | None) -> list[Job]:
    if client is None:
        return []
    notifier = Notifier(s, sessions, engine, client)
    fetcher = MediaFetcher(s, sessions, client, LocalMediaStore(s.media_root()), redis, f"{s.redis_prefix}wechat:")
    return [Job("notifier", s.notify_every_s, notifier.sweep), Job("media fetcher", s.media_fetch_every_s, fetcher.sweep)]
