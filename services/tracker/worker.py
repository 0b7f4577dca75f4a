"""The tracker process: case projection consumer, outbox relay, intake relay, reconciler, and the
registration of every dispatched case for the live alerts (``dispatch_watch``).

Consumes complaints.received, complaints.routed and alerts (group ``complaints-tracker``)
and applies them to the database in batches; offsets are committed only after
the batch's transaction, so a crash means a replay, which the projection
ignores.  Case changes go to the Redis live feed for the dashboards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.core.alerts import AlertRaised
from services.core.engine import Engine
from services.core.events import ComplaintReceived, ComplaintRouted
from services.core.loader import load_city
from services.modelstore import EngineHolder, ModelStore
from services.platform import metrics
from services.platform.db import make_engine, make_sessionmaker, refresh_planner_statistics
from services.platform.heartbeat import BEAT_EVERY_S, KEY_TTL_S, beat_fields
from services.platform.kafka import KafkaPublisher
from services.platform.memory import release_periodically
from services.platform.redisio import async_redis
from services.platform.settings import TrackerSettings
from services.platform.topics import ALERTS, COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED
from services.router.alert_state import AlertState
from services.tracker.alerts_store import store_alert, stored_alert_ids
from services.tracker.dispatch_watch import DispatchWatch
from services.tracker.models import IntakeRecord, OutboxRow
from services.tracker.progress import StreamProgress
from services.tracker.projection import apply_received, apply_routed, end_batch, prefetch
from services.tracker.reconcile import reconcile
from services.tracker.wechat_jobs import wechat_client, wechat_jobs

log = logging.getLogger(__name__)
Change = dict[str, Any]
RECORD_MODELS: dict[str, type[BaseModel]] = {
    COMPLAINTS_RECEIVED: ComplaintReceived, COMPLAINTS_ROUTED: ComplaintRouted, ALERTS: AlertRaised}
APPLY_ORDER = {COMPLAINTS_RECEIVED: 0, COMPLAINTS_ROUTED: 1, ALERTS: 2}


def apply_batch(session: Session, records: list[tuple[str, bytes | None]], engine: Engine | None = None,
                dispatched: list[ComplaintRouted] | None = None) -> list[Change]:
    """Apply (topic, value) records in order.  Returns the live-feed changes; the decisions that
    dispatched a case are appended to ``dispatched``.  Caller commits."""
    parsed: list[tuple[str, ComplaintReceived | ComplaintRouted | AlertRaised]] = []
    for topic, value in records:
        model = RECORD_MODELS.get(topic)
        if model is None:
            continue
        try:
            parsed.append((topic, model.model_validate_json(value or b"")))  # type: ignore[arg-type]
        except ValidationError as exc:
            # the router dead-letters invalid received records; here we only skip them
            log.warning("tracker skipped an invalid record on %s: %s", topic, exc.errors()[0].get("msg"))
    # Received before routed within a batch: the two topics have no order between them, and a
    # decision whose case does not exist yet has to read the complaint back from the intake log.
    parsed.sort(key=lambda item: APPLY_ORDER[item[0]])
    events = [ev for _, ev in parsed if not isinstance(ev, AlertRaised)]
    received = {ev.complaint_id for ev in events if isinstance(ev, ComplaintReceived)}
    prefetch(session, {ev.complaint_id for ev in events}, {ev.event_id for ev in events},
             decided_only={ev.complaint_id for ev in events if isinstance(ev, ComplaintRouted)} - received)
    stored = stored_alert_ids(session, {ev.alert_id for _, ev in parsed if isinstance(ev, AlertRaised)})
    try:
        return [change for topic, ev in parsed
                if (change := _apply_one(session, ev, engine, dispatched, stored)) is not None]
    finally:
        end_batch(session)


def _apply_one(session: Session, ev: ComplaintReceived | ComplaintRouted | AlertRaised,
               engine: Engine | None, dispatched: list[ComplaintRouted] | None, stored: set[str]) -> Change | None:
    if isinstance(ev, ComplaintReceived):
        if apply_received(session, ev) is not None:
            return {"type": "received", "ticket_no": ev.ticket_no, "channel": ev.channel}
    elif isinstance(ev, ComplaintRouted):
        if apply_routed(session, ev, ev.complaint, engine):
            metrics.ROUTED.labels(ev.router).inc()
            if dispatched is not None:
                dispatched.append(ev)
            return {"type": "dispatched", "ticket_no": ev.ticket_no, "unit": ev.unit, "category": ev.category,
                    "territory": ev.territory, "urgent": ev.urgent}
    elif store_alert(session, ev, stored):
        return {"type": "alert", "kind": ev.kind.value, "alert_id": ev.alert_id, "ticket_no": ev.ticket_no,
                "unit": ev.unit, "message": ev.message}
    return None


LOST_LOG_CHECK_S = 1.0
APPLY_CHUNK = 50
MAX_BATCH = 500
LINGER_BELOW = 50  # a batch smaller than this waits batch_linger_ms for more records


async def reread_lost_logs(consumer: AIOKafkaConsumer) -> list[tuple[str, int]]:
    """Partitions whose position is past the end of the log go back to its beginning.

    After the embedded broker restarts (memory storage) the logs start again at 0, but a
    committed offset of the old log can reach the new group; the broker then answers fetches
    at that offset with nothing, and the tracker would wait until the new log grew past it
    (the reconciler routed those complaints meanwhile).  The highwater comes from fetch
    responses and is exact.
    """
    lost = []
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue
        position = await consumer.position(tp)
        if position > highwater:
            log.warning("the log of %s[%s] ends at %s but the tracker's position is %s: the broker lost it; "
                        "reading it again from the start", tp.topic, tp.partition, highwater, position)
            await consumer.seek_to_beginning(tp)
            lost.append(tp)
    if lost:
        # Commit the new start at once: a consumer restarted before the next batch would
        # otherwise begin at the stale committed offset again.
        try:
            starts = await consumer.beginning_offsets(lost)
            await consumer.commit({tp: starts[tp] for tp in lost})
        except Exception as exc:  # noqa: BLE001 - the next batch's commit does it too
            log.warning("could not commit the new start of %s: %s", lost, exc)
    return [(tp.topic, tp.partition) for tp in lost]


def _known_position(consumer: AIOKafkaConsumer, tp: Any) -> int | None:
    """The consumer's position on ``tp`` if it has one now (aiokafka's ``position()`` would wait)."""
    try:
        state = consumer._subscription.subscription.assignment.state_value(tp)
    except AttributeError:  # not assigned any more, or aiokafka's internals changed
        return None
    if state is None or not state.has_valid_position:
        return None
    return int(state.position)


class TrackerWorker:
    def __init__(self, settings: TrackerSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        city = engine.city if engine is not None else load_city(settings.city, str(settings.config_root))
        self.models = EngineHolder(city, ModelStore(settings.model_root()), engine)  # the reconciler's engine
        self.db = make_engine(settings.database_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.db)
        self.redis = async_redis(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.publisher = KafkaPublisher(settings.kafka_bootstrap, request_timeout_s=5.0,
                                        compression_type=settings.compression_type)
        self.applied = 0
        self.lag: dict[tuple[str, int], int] = {}
        self.progress = StreamProgress()
        state = AlertState(self.redis, settings.redis_prefix, hotspot_threshold=settings.hotspot_threshold,
                           hotspot_window=timedelta(seconds=settings.hotspot_window_s))
        self.watch = DispatchWatch(state, self._send_alert)
        self._stop = asyncio.Event()

    def _apply(self, records: list[tuple[str, bytes | None]]) -> tuple[list[Change], list[ComplaintRouted]]:
        """Apply a fetched batch in transactions of at most ``APPLY_CHUNK`` records.

        On SQLite a transaction holds the one write lock from its first write to its commit; the
        API's intake-log inserts wait for it, so a long one (500 records after a stall, ~1 s on
        a busy machine) showed up as a second of latency for citizens.  Offsets are committed
        after the whole batch, so a crash in between means a replay, which changes nothing."""
        changes: list[Change] = []
        dispatched: list[ComplaintRouted] = []
        # received before routed across the whole batch, not only within a chunk
        records = sorted(records, key=lambda record: APPLY_ORDER.get(record[0], len(APPLY_ORDER)))
        for i in range(0, len(records), APPLY_CHUNK):
            more, decided = self._apply_chunk(records[i:i + APPLY_CHUNK])
            changes += more
            dispatched += decided
        return changes, dispatched

    def _apply_chunk(self, records: list[tuple[str, bytes | None]]) -> tuple[list[Change], list[ComplaintRouted]]:
        dispatched: list[ComplaintRouted] = []
        try:
            with self.sessions.begin() as s:
                return apply_batch(s, records, self.core, dispatched), dispatched
        except IntegrityError:
            # another tracker instance applied some of these concurrently: one by one
            changes: list[Change] = []
            dispatched = []
            for rec in records:
                one: list[ComplaintRouted] = []
                try:
                    with self.sessions.begin() as s:
                        done = apply_batch(s, [rec], self.core, one)
                except IntegrityError:
                    continue
                changes += done  # only once the record's transaction committed
                dispatched += one
            return changes, dispatched

    async def _send_alert(self, alert: AlertRaised) -> None:
        await self.publisher.publish(ALERTS, alert.alert_id, alert.model_dump_json().encode())

    async def feed(self, changes: list[Change]) -> None:
        if not changes:
            return
        channel = f"{self.settings.redis_prefix}feed"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for change in changes:
                    change["at"] = datetime.now(UTC).isoformat()
                    pipe.publish(channel, json.dumps(change, ensure_ascii=False))
                await pipe.execute()
        except Exception as exc:  # the feed is best effort; the database is the truth
            log.debug("live feed publish failed: %s", exc)

    async def consume(self) -> None:
        s = self.settings
        while not self._stop.is_set():
            consumer = AIOKafkaConsumer(
                COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED, ALERTS, bootstrap_servers=s.kafka_bootstrap,
                group_id=s.tracker_group, enable_auto_commit=False, auto_offset_reset="earliest",
                fetch_max_wait_ms=s.consumer_fetch_wait_ms, session_timeout_ms=int(s.session_timeout_s * 1000),
                heartbeat_interval_ms=int(s.heartbeat_interval_s * 1000), max_poll_records=500,
            )
            try:
                await consumer.start()
                next_check = time.monotonic() + LOST_LOG_CHECK_S
                while not self._stop.is_set():
                    if time.monotonic() >= next_check:
                        await reread_lost_logs(consumer)
                        next_check = time.monotonic() + LOST_LOG_CHECK_S
                    batches = await self._fetch(consumer)
                    records = [(tp.topic, m.value) for tp, msgs in batches.items() for m in msgs]
                    if not records:
                        continue
                    changes, dispatched = await asyncio.to_thread(self._apply, records)
                    try:
                        await consumer.commit()
                    except CommitFailedError as exc:
                        # The group rebalanced meanwhile (a broker restart makes every member
                        # unknown).  The batch is applied; whoever holds the partitions now may
                        # apply it again, which changes nothing.  Reconnecting instead cost ~20 s.
                        log.warning("tracker commit skipped after a rebalance: %s", str(exc).split("\n")[0])
                    self.applied += len(records)
                    await self._lag(consumer, batches)
                    await self.feed(changes)
                    self.watch.add(dispatched)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("tracker consumer error (%s: %s); reconnecting", type(exc).__name__, exc)
                await asyncio.sleep(1.0)
            finally:
                # stop() leaves the group; against a broker that just restarted it can wait for
                # its request timeout (40 s), and nothing is consumed meanwhile.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), timeout=5.0)

    async def _fetch(self, consumer: AIOKafkaConsumer) -> dict[Any, list[Any]]:
        """The next batch; a small one waits ``batch_linger_ms`` for more.

        Each batch costs a transaction, an offset commit and a feed publish whatever its size: at
        100 complaints/s batches of one or two records cost ~5 ms of tracker CPU per complaint
        (and the broker ~3 ms), five times what they cost in batches of 50."""
        batches: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=200, max_records=MAX_BATCH)
        linger = self.settings.batch_linger_ms
        got = sum(map(len, batches.values()))
        if 0 < got < LINGER_BELOW and linger > 0:
            await asyncio.sleep(linger / 1000)
            more = await consumer.getmany(timeout_ms=0, max_records=MAX_BATCH - got)
            for tp, msgs in more.items():
                batches.setdefault(tp, []).extend(msgs)
        return batches

    async def _lag(self, consumer: AIOKafkaConsumer, batches: dict[Any, list[Any]]) -> None:
        """Records not yet consumed per assigned partition (for /metrics and the reconciler), and the
        time of the last record read on each partition of the batch."""
        streams = (COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED)
        read: dict[tuple[str, int], tuple[int, int | None]] = {}
        assigned = consumer.assignment()
        for tp in assigned:
            high = consumer.highwater(tp)
            # position() of a partition in the batch is known; of another one it may wait for the
            # request timeout (an offset reset pending), so only a known one is used there
            position = await consumer.position(tp) if tp in batches else _known_position(consumer, tp)
            if high is None or position is None:  # nothing fetched from it yet
                continue
            lag = self.lag[(tp.topic, tp.partition)] = max(0, high - position)
            msgs = batches.get(tp)
            read[(tp.topic, tp.partition)] = (lag, msgs[-1].timestamp if msgs else None)
        self.progress.observe([(tp.topic, tp.partition) for tp in assigned if tp.topic in streams],
                              {part: v for part, v in read.items() if part[0] in streams})

    def _unpublished(self) -> tuple[list[tuple[int, str, str, str]], list[tuple[str, str]]]:
        with self.sessions() as session:
            out = session.execute(select(OutboxRow.id, OutboxRow.topic, OutboxRow.key, OutboxRow.payload)
                                  .where(OutboxRow.published_at.is_(None)).order_by(OutboxRow.id).limit(500)).all()
            queued = session.execute(select(IntakeRecord.complaint_id, IntakeRecord.payload)
                                     .where(IntakeRecord.state == "queued").limit(500)).all()
        return [tuple(r) for r in out], [tuple(r) for r in queued]

    def _mark(self, outbox_ids: list[int], intake_ids: list[str]) -> None:
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            if outbox_ids:
                session.execute(update(OutboxRow).where(OutboxRow.id.in_(outbox_ids)).values(published_at=now))
            if intake_ids:
                session.execute(update(IntakeRecord).where(IntakeRecord.complaint_id.in_(intake_ids))
                                .values(state="published", published_at=now))

    async def relay_once(self) -> int:
        """Publish the outbox and the intake records queued while the broker was away (at-least-once)."""
        if not self.publisher.connected:
            return 0
        outbox, queued = await asyncio.to_thread(self._unpublished)
        done_out: list[int] = []
        done_in: list[str] = []
        reconciled: list[ComplaintRouted] = []
        for row_id, topic, key, payload in outbox:
            await self.publisher.publish(topic, key, payload.encode())
            done_out.append(row_id)
            if topic == COMPLAINTS_ROUTED:  # a reconciler decision, already applied to its case
                reconciled.append(ComplaintRouted.model_validate_json(payload))
        for complaint_id, payload in queued:
            await self.publisher.publish(COMPLAINTS_RECEIVED, complaint_id, payload.encode())
            done_in.append(complaint_id)
        if done_out or done_in:
            await asyncio.to_thread(self._mark, done_out, done_in)
        if reconciled:
            self.watch.add(reconciled)
        return len(done_out) + len(done_in)

    @property
    def core(self) -> Engine:
        return self.models.engine

    async def _check_model(self) -> None:
        await asyncio.to_thread(self.models.check)

    def _reconcile(self, applied_until: datetime) -> dict[str, int]:
        with self.sessions.begin() as session:
            return reconcile(session, self.core, self.settings.route_timeout_s, applied_until)

    async def _every(self, seconds: float, fn: Any, name: str) -> None:
        while not self._stop.is_set():
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def _heartbeat(self) -> None:
        key = f"{self.settings.redis_prefix}tracker:{os.getpid()}"
        beat: dict[str, float | int | str] = {**beat_fields(), "applied": self.applied,
                                              "alerts_waiting": self.watch.waiting}
        for topic in (COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED):
            beat[f"lag:{topic}"] = sum(v for (t, _), v in self.lag.items() if t == topic)
        await self.redis.hset(key, mapping=beat)  # type: ignore[misc]  # redis-py's sync/async union
        await self.redis.expire(key, KEY_TTL_S)

    async def _reconcile_async(self) -> None:
        fixed = await asyncio.to_thread(self._reconcile, self.progress.applied_until(datetime.now(UTC)))
        if any(fixed.values()):
            log.warning("reconciler repaired %s", fixed)

    async def _planner_statistics(self) -> None:
        await asyncio.to_thread(refresh_planner_statistics, self.db)

    async def run(self) -> None:
        await self.publisher.start()
        tasks = [
            asyncio.create_task(self.consume()),
            asyncio.create_task(self._every(self.settings.outbox_every_s, self.relay_once, "relay")),
            asyncio.create_task(self._every(self.settings.reconcile_every_s, self._reconcile_async, "reconciler")),
            asyncio.create_task(self._every(BEAT_EVERY_S, self._heartbeat, "heartbeat")),
            asyncio.create_task(self._every(self.settings.model_check_every_s, self._check_model, "model check")),
            asyncio.create_task(self._every(self.settings.planner_stats_every_s, self._planner_statistics,
                                            "planner statistics")),
            asyncio.create_task(self.watch.run()),
            asyncio.create_task(release_periodically(self.settings.memory_release_every_s)),
        ]
        client = wechat_client(self.settings, self.redis)
        for job in wechat_jobs(self.settings, self.sessions, self.core, self.redis, client):
            tasks.append(asyncio.create_task(self._every(job.every_s, job.run, job.name)))
        try:
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.publisher.stop()
            if client is not None:
                await client.aclose()
            await self.redis.aclose()
            self.db.dispose()

    def stop(self) -> None:
        self._stop.set()
