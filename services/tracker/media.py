"""Keep copies of citizens' WeChat photos and voice messages before WeChat drops them (3 days).

Every sweep reads the cases marked ``media_pending`` (set when a complaint or a supplement
brings a ``MediaId``, cleared when none is left to fetch), downloads each medium and records
the outcome on the attachment (the case's ``attachments`` JSON; see ``services/core/media.py``):

* stored: ``sha256``, ``size``, ``content_type``, ``fetched_at`` (the bytes are in the ``MediaStore``);
* 40007 (expired or unknown media id): ``media_state: expired``, never tried again;
* larger than the limit: ``media_state: too_large``, never tried again;
* anything else (network, 5xx, quota...): tried again later with a growing delay, until the
  message is older than WeChat's three days, then ``expired``.

Several tracker processes may sweep at once: a medium is claimed in Redis (SET NX) before it is
downloaded, and the claim is kept as the back-off delay after a failure.  The attachment is
written with a compare-and-set on the case's ``version`` (as the actions do), re-read and
merged when another writer got there first, so neither overwrites the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core import media
from services.core.media import MediaState, MediaStore
from services.intake.wechat.client import MediaTooLarge, WeChatApiClient, WeChatApiError
from services.platform.settings import MediaSettings
from services.tracker.models import Case

log = logging.getLogger(__name__)
MEDIA_GONE = frozenset({40007})  # invalid media_id: expired (or never existed)
WRITE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Due:
    complaint_id: str
    index: int
    media_id: str
    sent_at: datetime


@dataclass
class SweepResult:
    stored: int = 0
    given_up: int = 0  # expired or too large: final
    failed: int = 0


class MediaFetcher:
    def __init__(self, settings: MediaSettings, sessions: sessionmaker[Session], client: WeChatApiClient,
                 store: MediaStore, redis: Redis, key_prefix: str) -> None:
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self.store = store
        self.redis = redis
        self.key_prefix = key_prefix
        self.ttl = timedelta(seconds=settings.media_ttl_s)
        self.total = SweepResult()

    # --- database -------------------------------------------------------------------------
    def pending(self, limit: int = 200) -> list[Due]:
        """Media to fetch, oldest case first.  Only the cases marked ``media_pending`` (indexed) are
        read, so a sweep costs what waits, not what came in lately; a marked case with nothing
        left to fetch is unmarked here (media marked by the migration that were stored before)."""
        q = (select(Case.complaint_id, Case.received_at, Case.attachments, Case.version)
             .where(Case.media_pending.is_(True)).order_by(Case.received_at).limit(limit))
        due: list[Due] = []
        settled: list[tuple[str, int]] = []
        with self.sessions() as s:
            for complaint_id, received_at, attachments, version in s.execute(q):
                found = [Due(complaint_id, i, str(att["media_id"]), _sent_at(att, received_at))
                         for i, att in enumerate(attachments or []) if isinstance(att, dict) and media.needs_fetch(att)]
                due += found
                if not found:
                    settled.append((complaint_id, version))
        if settled:
            self._unmark(settled)
        return due[:limit]

    def _unmark(self, settled: list[tuple[str, int]]) -> None:
        """Clear the marker of cases that have nothing to fetch, unless they changed since they were
        read (a supplement may just have brought a photo)."""
        with self.sessions.begin() as s:
            for complaint_id, version in settled:
                s.execute(update(Case).where(Case.complaint_id == complaint_id, Case.version == version)
                          .values(media_pending=False).execution_options(synchronize_session=False))

    def still_due(self, item: Due) -> bool:
        with self.sessions() as s:
            attachments = s.scalar(select(Case.attachments).where(Case.complaint_id == item.complaint_id))
        att = _at(attachments, item)
        return att is not None and media.needs_fetch(att)

    def record(self, item: Due, change: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
        """Replace the attachment by ``change(attachment)`` (compare-and-set on the case version).
        False if it is gone, no longer pending, or other writers kept winning."""
        for _ in range(WRITE_ATTEMPTS):
            with self.sessions.begin() as s:
                row = s.execute(select(Case.attachments, Case.version)
                                .where(Case.complaint_id == item.complaint_id)).first()
                if row is None:
                    return False
                attachments, version = list(row[0] or []), row[1]
                att = _at(attachments, item)
                if att is None or not media.needs_fetch(att):
                    return False
                attachments[item.index] = change(att)
                done = s.execute(update(Case).where(Case.complaint_id == item.complaint_id, Case.version == version)
                                 .values(attachments=attachments, media_pending=media.any_to_fetch(attachments),
                                         version=version + 1, updated_at=datetime.now(UTC))
                                 .execution_options(synchronize_session=False))
                if getattr(done, "rowcount", 0) == 1:
                    return True
        log.warning("media %s of case %s: the case kept changing; recorded next sweep", item.index, item.complaint_id)
        return False

    # --- sweep ----------------------------------------------------------------------------
    async def sweep(self) -> SweepResult:
        result = SweepResult()
        for item in await asyncio.to_thread(self.pending):
            outcome = await self._fetch(item)
            if outcome is MediaState.STORED:
                result.stored += 1
            elif outcome in media.FINAL_STATES:
                result.given_up += 1
            elif outcome is MediaState.PENDING:
                result.failed += 1
        self.total.stored += result.stored
        self.total.given_up += result.given_up
        self.total.failed += result.failed
        return result

    async def _fetch(self, item: Due) -> MediaState | None:
        """Download one medium under a Redis claim.  None: someone else has it (or it is backing off)."""
        key = f"{self.key_prefix}media:{item.media_id}"
        if not await self.redis.set(key, "fetching", nx=True, px=int(self._claim_s() * 1000)):
            return None
        if not await asyncio.to_thread(self.still_due, item):  # another process finished it meanwhile
            await self.redis.delete(key)
            return None
        if media.too_old(item.sent_at, datetime.now(UTC), self.ttl):
            return await self._final(key, item, MediaState.EXPIRED, "older than WeChat keeps media")
        try:
            medium = await self.client.get_media(item.media_id)
        except MediaTooLarge as exc:
            return await self._final(key, item, MediaState.TOO_LARGE, exc.errmsg)
        except WeChatApiError as exc:
            if exc.errcode in MEDIA_GONE:
                return await self._final(key, item, MediaState.EXPIRED, f"errcode {exc.errcode} {exc.errmsg}")
            await self._back_off(key, item, exc)
            return MediaState.PENDING
        except Exception as exc:  # noqa: BLE001 - one medium's surprise must not stop the sweep
            await self._back_off(key, item, exc)
            return MediaState.PENDING
        sha = await asyncio.to_thread(self.store.put, medium.content)
        content_type, now = media.bare_content_type(medium.content_type), datetime.now(UTC)
        await asyncio.to_thread(self.record, item, lambda att: media.stored(
            att, sha256=sha, size=len(medium.content), content_type=content_type, fetched_at=now))
        await self.redis.delete(key, f"{key}:attempts")
        return MediaState.STORED

    async def _final(self, key: str, item: Due, state: MediaState, reason: str) -> MediaState:
        log.info("media %s of case %s: %s (%s)", item.index, item.complaint_id, state.value, reason)
        now = datetime.now(UTC)
        await asyncio.to_thread(self.record, item, lambda att: media.given_up(att, state, now, reason))
        await self.redis.delete(key, f"{key}:attempts")
        return state

    async def _back_off(self, key: str, item: Due, exc: Exception) -> None:
        attempts = int(await self.redis.incr(f"{key}:attempts"))
        await self.redis.expire(f"{key}:attempts", int(self.settings.media_ttl_s) + 86400)
        s = self.settings
        delay = min(s.media_retry_max_s, s.media_retry_base_s * 2 ** (attempts - 1))
        await self.redis.set(key, "backoff", px=max(1, int(delay * 1000)))
        log.warning("media %s of case %s not fetched (attempt %s, next in %.0f s): %s",
                    item.index, item.complaint_id, attempts, delay, exc)

    def _claim_s(self) -> float:
        """Long enough for one download with every retry of the client."""
        c = self.client.settings
        return c.max_attempts * (c.timeout_s + c.backoff_max_s) * 2 + 30


def _sent_at(att: dict[str, Any], received_at: datetime) -> datetime:
    """When the citizen sent the medium: the supplement's time if it came later, else the case's."""
    raw = att.get("received_at")
    if isinstance(raw, str):
        try:
            at = datetime.fromisoformat(raw)
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            pass
    return received_at


def _at(attachments: list[Any] | None, item: Due) -> dict[str, Any] | None:
    """The attachment ``item`` names, if it is still there with the same media id."""
    items = attachments or []
    if item.index >= len(items) or not isinstance(items[item.index], dict):
        return None
    att: dict[str, Any] = items[item.index]
    return att if att.get("media_id") == item.media_id else None
