"""The intake use case shared by every channel: validate, ticket, record durably, publish.

Hotline / Open311 (``durable_fallback=False``): the complaint is published with
acks=all before the caller gets its ticket; if the broker cannot take it in
time the intake record is removed and the caller gets ``BrokerUnavailable``
(HTTP 503): nothing is recorded anywhere.

WeChat (``durable_fallback=True``): WeChat must be answered within 5 s, so the
publish is bounded tightly; if it fails the complaint stays in the intake log
as ``queued`` and the tracker's relay publishes it when the broker is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError

from services.core.events import Attachment, Channel, ComplaintReceived, GeoPoint
from services.intake.group_commit import GroupCommitWriter
from services.intake.store import PENDING, QUEUED, IntakeStore
from services.intake.tickets import TicketAllocator
from services.platform.topics import COMPLAINTS_RECEIVED

log = logging.getLogger(__name__)
# How long a request holds its Idempotency-Key in Redis.  Only a shortcut: the intake log's unique key
# is the real guard, so a short claim is safe and a killed API does not block retries for long.
CLAIM_TTL_S = 5     # the intake-log insert follows the claim within milliseconds
# A `pending` intake record older than the publish timeout plus this belongs to a request that died.
STALE_MARGIN_S = 2.0
# WeChat (durable_fallback): how long a failed intake-log insert is tried again, and the pause between tries
INSERT_RETRY_S = 20.0
INSERT_RETRY_PAUSE_S = 0.5


def stored_fingerprint(payload: str) -> str:
    """The fingerprint of the request an intake log record was made from."""
    return content_fingerprint(ComplaintReceived.model_validate_json(payload))


class Publisher(Protocol):
    async def publish(self, topic: str, key: str, value: bytes) -> None: ...


class BrokerUnavailable(Exception):
    """The broker did not take the complaint in time."""


class RequestInProgress(Exception):
    """A request with the same idempotency key is being processed right now."""


class IdempotencyConflict(Exception):
    """The idempotency key was used before for a request with another body (HTTP 409)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# What a complaint says, as its caller sent it: the fields its fingerprint covers.  Not the ticket,
# the times of receipt or who filed it.  WeChat's location and photos come from the conversation
# (sent before the text), not from the message the MsgId names, so they are left out there.
_CONTEXT_FIELDS = {Channel.WECHAT: ("location", "attachments")}
_CONTENT_FIELDS = ("channel", "text", "phone", "name", "address", "reported_at", "location", "attachments",
                   "citizen_id", "needs_operator", "category_override", "territory_override", "unit_override")


def content_fingerprint(event: ComplaintReceived) -> str:
    """SHA-256 of the complaint's content (canonical JSON): the same for the same request body.

    Computed from the event as stored in the intake log, so a key whose Redis entry was lost is
    still checked against the database."""
    data = event.model_dump(mode="json", include=set(_CONTENT_FIELDS) - set(_CONTEXT_FIELDS.get(event.channel, ())))
    if event.reported_at is not None:  # the same instant in another offset is the same request
        data["reported_at"] = event.reported_at.astimezone(UTC).isoformat()
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ComplaintDraft:
    channel: Channel
    text: str
    phone: str | None = None
    name: str | None = None
    address: str | None = None
    reported_at: datetime | None = None
    location: GeoPoint | None = None
    attachments: tuple[Attachment, ...] = ()
    citizen_id: str | None = None
    needs_operator: bool = False
    submitted_by: str | None = None
    category_override: str | None = None
    territory_override: str | None = None
    unit_override: str | None = None


@dataclass(frozen=True)
class Ticket:
    complaint_id: str
    ticket_no: str
    received_at: datetime
    replayed: bool = False
    queued: bool = False


class IntakeService:
    def __init__(self, *, city: str, publisher: Publisher, redis: Redis, store: IntakeStore,
                 tickets: TicketAllocator, key_prefix: str, publish_timeout_s: float,
                 idempotency_ttl_s: int = 86400, writer: GroupCommitWriter | None = None) -> None:
        self._city = city
        self._writer = writer
        self._publisher = publisher
        self._redis = redis
        self._store = store
        self._tickets = tickets
        self._key_prefix = key_prefix
        self._timeout = publish_timeout_s
        self._idem_ttl = idempotency_ttl_s

    async def submit(self, draft: ComplaintDraft, *, idempotency_key: str | None = None,
                     durable_fallback: bool = False, timeout_s: float | None = None) -> Ticket:
        fingerprint = self.fingerprint(draft)
        if idempotency_key is not None:
            previous = await self._replay(idempotency_key, fingerprint)
            if previous is not None:
                return previous
        try:
            return await self._submit_new(draft, idempotency_key, fingerprint, durable_fallback,
                                          timeout_s or self._timeout)
        except IdempotencyConflict:
            raise  # the key belongs to another request: its entry stays
        except BaseException:
            if idempotency_key is not None:
                with contextlib.suppress(Exception):  # keep the original error (e.g. Redis is down)
                    await self._redis.delete(self._idem_key(idempotency_key))
            raise

    def fingerprint(self, draft: ComplaintDraft) -> str:
        """The fingerprint of the request body a draft was made from (see content_fingerprint)."""
        return content_fingerprint(self._event(draft, "-", "-", datetime.now(UTC)))

    def _idem_key(self, key: str) -> str:
        return f"{self._key_prefix}idem:{key}"

    async def _replay(self, key: str, fingerprint: str) -> Ticket | None:
        """The ticket of an earlier request with this key and the same body; IdempotencyConflict if
        its body was another; None if the key is new (then this request holds it)."""
        rkey = self._idem_key(key)
        claimed = await self._redis.set(rkey, "pending", nx=True, ex=CLAIM_TTL_S)
        if not claimed:
            value = await self._redis.get(rkey)
            if value in (None, b"pending", "pending"):
                # another request holds the key, or held it and died (API killed): the database decides
                previous = await self._from_db(key, fingerprint)
                if previous is None:
                    raise RequestInProgress(key)
                return previous
            text = value.decode() if isinstance(value, bytes) else str(value)
            parts = text.split("|")
            if len(parts) != 4:  # cached before fingerprints: the intake log has the body
                previous = await self._from_db(key, fingerprint)
                if previous is None:
                    raise RequestInProgress(key)
                return previous
            complaint_id, ticket_no, received, stored = parts
            if stored != fingerprint:
                raise IdempotencyConflict(key)
            return Ticket(complaint_id, ticket_no, datetime.fromisoformat(received), replayed=True)
        # Redis may have lost the key (restart): the database is the fallback truth.
        try:
            return await self._from_db(key, fingerprint)
        except BaseException:  # e.g. the database is away: give the claim back, or retries get 409
            with contextlib.suppress(Exception):
                await self._redis.delete(rkey)
            raise

    async def _from_db(self, key: str, fingerprint: str) -> Ticket | None:
        """The ticket the intake log holds for this key, or None.  A record still ``pending`` may be
        withdrawn by its request (publish failed): RequestInProgress while that request can still be
        running; after that the record is adopted (queued for the relay) and its ticket is answered.
        A record of another body: IdempotencyConflict."""
        row = await asyncio.to_thread(self._store.by_idempotency_key, key)
        if row is None:
            return None
        if stored_fingerprint(row.payload) != fingerprint:
            raise IdempotencyConflict(key)
        if row.state == PENDING:
            age = (datetime.now(UTC) - row.created_at).total_seconds()
            if age < self._timeout + STALE_MARGIN_S:
                raise RequestInProgress(key)
            if not await asyncio.to_thread(self._store.take_over, row.complaint_id):
                row = await asyncio.to_thread(self._store.by_idempotency_key, key)  # withdrawn meanwhile?
                if row is None:
                    return None
        ticket = Ticket(row.complaint_id, row.ticket_no, row.created_at, replayed=True)
        await self._remember_quietly(key, ticket, fingerprint)
        return ticket

    async def _remember_quietly(self, key: str, t: Ticket, fingerprint: str) -> None:
        """Cache the answer for retries; the intake log keeps the key, so a Redis failure only costs a lookup."""
        try:
            await self._remember(key, t, fingerprint)
        except Exception as exc:
            log.warning("could not cache the idempotency key of %s: %s: %s", t.ticket_no, type(exc).__name__, exc)

    async def _remember(self, key: str, t: Ticket, fingerprint: str) -> None:
        await self._redis.set(self._idem_key(key),
                              f"{t.complaint_id}|{t.ticket_no}|{t.received_at.isoformat()}|{fingerprint}",
                              ex=self._idem_ttl)

    async def _insert(self, **row: Any) -> None:
        if self._writer is not None:
            await self._writer.insert(**row)
        else:
            await asyncio.to_thread(self._store.insert, **row)

    async def _submit_new(self, draft: ComplaintDraft, idempotency_key: str | None, fingerprint: str,
                          durable_fallback: bool, timeout_s: float) -> Ticket:
        now = datetime.now(UTC)
        complaint_id = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        # WeChat's answer cannot be retried by its caller: a failed insert is tried again for a while,
        # and a retry that finds this very record (the first commit landed, its answer was lost) goes on
        insert_until = loop.time() + (INSERT_RETRY_S if durable_fallback else 0.0)
        clashes = 0
        ticket_no = await self._tickets.next(now)
        while True:
            event = self._event(draft, complaint_id, ticket_no, now)
            payload = event.model_dump_json()
            try:
                await self._insert(complaint_id=complaint_id, ticket_no=ticket_no, channel=draft.channel.value,
                                   idempotency_key=idempotency_key, payload=payload, created_at=now)
                break
            except IntegrityError:
                if idempotency_key is not None:
                    existing = await asyncio.to_thread(self._store.by_idempotency_key, idempotency_key)
                    if existing is not None:
                        if stored_fingerprint(existing.payload) != fingerprint:
                            raise IdempotencyConflict(idempotency_key) from None
                        if existing.complaint_id == complaint_id:  # our own earlier attempt committed
                            ticket_no, payload = existing.ticket_no, existing.payload
                            break
                        raise RequestInProgress(idempotency_key) from None
                clashes += 1
                if clashes >= 5:
                    raise RuntimeError("could not allocate a unique ticket number") from None
                log.warning("ticket clash on %s (attempt %d): reseeding the counter", ticket_no, clashes)
                await self._tickets.reseed(now)
                ticket_no = await self._tickets.next(now)
            except Exception as exc:
                if loop.time() >= insert_until:
                    raise
                log.warning("intake log insert of %s failed (%s): trying again", ticket_no, type(exc).__name__)
                await asyncio.sleep(INSERT_RETRY_PAUSE_S)
        queued = False
        try:
            await asyncio.wait_for(self._publisher.publish(COMPLAINTS_RECEIVED, complaint_id, payload.encode()), timeout_s)
        except Exception as exc:
            if not durable_fallback:
                if await asyncio.to_thread(self._store.withdraw, complaint_id):
                    raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc
                # a retry of this request adopted the record meanwhile: it stands, and so does its ticket
                log.warning("publish of %s failed but a retry adopted it: the relay publishes it", ticket_no)
            else:
                log.warning("broker did not take %s in %.1fs: queued for the relay", ticket_no, timeout_s)
                try:
                    await asyncio.to_thread(self._store.mark, complaint_id, QUEUED)
                except Exception as mark_exc:  # the record is committed: the reconciler makes its case
                    log.warning("could not mark %s queued (%s): the reconciler adopts it", ticket_no,
                                type(mark_exc).__name__)
            queued = True
        ticket = Ticket(complaint_id, ticket_no, now, queued=queued)
        if idempotency_key is not None:
            await self._remember_quietly(idempotency_key, ticket, fingerprint)  # the ticket stands whatever Redis does
        return ticket

    def _event(self, d: ComplaintDraft, complaint_id: str, ticket_no: str, now: datetime) -> ComplaintReceived:
        return ComplaintReceived(
            event_id=f"recv-{complaint_id}", complaint_id=complaint_id, ticket_no=ticket_no, city=self._city,
            channel=d.channel, text=d.text, phone=d.phone, name=d.name, address=d.address,
            reported_at=d.reported_at, received_at=now, location=d.location, attachments=list(d.attachments),
            citizen_id=d.citizen_id, needs_operator=d.needs_operator, submitted_by=d.submitted_by,
            category_override=d.category_override, territory_override=d.territory_override,
            unit_override=d.unit_override,
        )
