"""The router worker (Faust): complaints.received -> core -> complaints.routed (or complaints.dlq).

It also keeps the live time limits: it follows cases.events and raises the alerts that fall due
(state in Redis, shared with the tracker, which registers every case it dispatches).

Wiring in one place: ``bootstrap(settings)`` builds the app, its topics and the agent.
The database is the truth about cases; this worker keeps no tables (broker notes:
table recovery on Tansu can drop updates), and the tracker's reconciler routes
anything this worker skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
import uvloop
from pydantic import ValidationError

from services.core.alerts import AlertRaised
from services.core.engine import Engine
from services.core.events import CaseEvent, ComplaintReceived
from services.core.loader import load_city
from services.modelstore import EngineHolder, ModelStore
from services.platform.heartbeat import KEY_TTL_S as HEARTBEAT_TTL_S
from services.platform.heartbeat import beat_fields as heartbeat_fields
from services.platform.logs import Dependency
from services.platform.redisio import async_redis
from services.platform.settings import RouterSettings
from services.platform.topics import (
    ALERTS,
    CASES_EVENTS,
    COMPLAINTS_DLQ,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_ROUTED,
)
from services.router import transport
from services.router.alert_state import AlertState
from services.router.delivery import Outgoing, deliver, with_redis_retry
from services.router.handler import InvalidEvent, dead_letter, decide, parse_received, routed_event
from services.router.ledger import Position, RoutedLedger

log = logging.getLogger(__name__)



TimerFn = Callable[[], Awaitable[None]]


def timer(app: faust.App, interval: float) -> Callable[[TimerFn], TimerFn]:
    """``app.timer`` with its type (Faust's decorator is untyped)."""
    return cast(Callable[[TimerFn], TimerFn], app.timer(interval=interval))


def faust_app(settings: RouterSettings) -> faust.App:
    """The Faust app with this project's transport and tuning (fetch wait, batches, session timeout)."""
    transport.register()
    app = faust.App(
        settings.router_group,
        broker=f"{transport.SCHEME}://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=False,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_request_timeout=max(30.0, settings.session_timeout_s * 2),
        broker_commit_every=100,
        broker_commit_interval=0.5,
        producer_linger_ms=settings.producer_linger_ms,
        producer_max_batch_size=settings.producer_max_batch_bytes,
        producer_compression_type=settings.compression_type,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
    )
    app.fetch_max_wait_ms = settings.consumer_fetch_wait_ms  # type: ignore[attr-defined]
    return app


def bootstrap(settings: RouterSettings, engine: Engine | None = None) -> faust.App:
    store = ModelStore(settings.model_root())
    city = engine.city if engine is not None else load_city(settings.city, str(settings.config_root))
    models = EngineHolder(city, store, engine)
    app = faust_app(settings)
    received = app.topic(COMPLAINTS_RECEIVED, value_type=bytes, key_type=bytes, internal=False)
    routed = app.topic(COMPLAINTS_ROUTED, value_type=bytes, key_type=bytes, internal=False)
    dlq = app.topic(COMPLAINTS_DLQ, value_type=bytes, key_type=bytes, internal=False)
    redis = async_redis(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    stats: dict[str, int] = {"routed": 0, "dead_lettered": 0}
    ledger = RoutedLedger(redis, settings.redis_prefix)

    def dead_letter_record(event: Any, reason: str, error_type: str) -> Outgoing:
        msg = event.message
        letter = dead_letter(source_topic=msg.topic, partition=msg.partition, offset=msg.offset,
                             key=event.key, raw=event.value, reason=reason, error_type=error_type)
        log.warning("dead-lettered %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, reason)
        return Outgoing(dlq, event.key, letter.model_dump_json().encode())

    @app.agent(received)
    async def route(stream: Any) -> None:
        # Batches amortise Faust's per-event cost; order within a partition is kept.  A batch's
        # input is acknowledged only after the broker has every record it produced, so a broker
        # that fails or restarts meanwhile costs a re-send, never a lost routing decision.
        # A record read again after a restart or rebalance (Faust is at-least-once) whose decision
        # the broker already has is skipped: downstream sees each complaint routed once (ledger.py).
        async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
            engine = models.engine  # a promoted model is swapped in between batches (modelstore.py)
            out: list[Outgoing] = []
            parsed: list[tuple[Any, ComplaintReceived, Position]] = []
            for event in events:
                try:
                    received = parse_received(event.value)
                except InvalidEvent as exc:
                    out.append(dead_letter_record(event, exc.reason, exc.error_type))
                    continue
                msg = event.message
                parsed.append((event, received, Position(received.complaint_id, msg.partition, msg.offset)))
            seen = await ledger.already_routed([position for _, _, position in parsed])
            if seen:
                stats["replays_skipped"] = stats.get("replays_skipped", 0) + len(seen)
                log.info("skipped %d record(s) read again whose decisions the broker already has", len(seen))
            routed_now: list[Position] = []
            for event, received, position in parsed:
                if position in seen:
                    continue
                try:
                    decided = routed_event(received, decide(engine, received), router="stream",
                                           model_version=engine.model.version)
                except Exception as exc:  # a bug must not stop routing: the record is kept on the DLQ
                    log.exception("routing failed")
                    out.append(dead_letter_record(event, f"{type(exc).__name__}: {exc}", "processing"))
                    continue
                out.append(Outgoing(routed, decided.complaint_id.encode(), decided.model_dump_json().encode()))
                routed_now.append(position)
            await deliver(out)
            await ledger.note(routed_now)
            dead = sum(1 for o in out if o.topic is dlq)
            stats["routed"] += len(out) - dead
            stats["dead_lettered"] += dead

    # Redis or the broker away fails these timers on every tick: one warning, then one line when back.
    beats = Dependency(log, "heartbeat (Redis)")
    lost_log_check = Dependency(log, "lost-log check (broker)")
    deadline_check = Dependency(log, "alerts: deadline check (Redis, broker)")

    @timer(app, settings.heartbeat_every_s)
    async def heartbeat() -> None:
        key = f"{settings.redis_prefix}worker:{settings.worker_id}"
        try:
            assigned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == COMPLAINTS_RECEIVED)
            beat: dict[str, float | int | str] = {**heartbeat_fields(), **stats,
                                                  "partitions": ",".join(map(str, assigned)),
                                                  "model_version": models.version}
            await redis.hset(key, mapping=beat)  # type: ignore[misc]  # redis-py's sync/async union
            await redis.expire(key, HEARTBEAT_TTL_S)
        except Exception as exc:  # Redis down must not stop routing
            beats.failed(exc)
        else:
            beats.ok()

    @timer(app, settings.model_check_every_s)
    async def check_model() -> None:
        try:
            await asyncio.to_thread(models.check)
        except Exception as exc:  # the store away (volume not mounted...): keep routing with the engine in use
            log.warning("model check failed: %s: %s", type(exc).__name__, exc)

    @timer(app, settings.lost_log_check_s)
    async def reread_lost_logs() -> None:
        # A broker that lost its log (embedded Tansu restarted) would otherwise stall this worker:
        # Faust skips every offset below what it had read.  The tracker's reconciler would route
        # the complaints after ROUTE_TIMEOUT_S; this gets the stream going again within seconds.
        consumer = app.consumer
        if isinstance(consumer, transport.TunedConsumer):
            try:
                await consumer.reread_lost_logs()
            except Exception as exc:  # broker away: the next tick retries
                lost_log_check.failed(exc)
            else:
                lost_log_check.ok()

    # --- live time limits and hot spots (issue 5): state in Redis, one alert per alert_id ---
    alerts_topic = app.topic(ALERTS, value_type=bytes, key_type=bytes, internal=False)
    case_events = app.topic(CASES_EVENTS, value_type=bytes, key_type=bytes, internal=False)
    watch = AlertState(redis, settings.redis_prefix, hotspot_threshold=settings.hotspot_threshold,
                       hotspot_window=timedelta(seconds=settings.hotspot_window_s))

    async def send_alert(alert: AlertRaised) -> None:
        await alerts_topic.send(key=alert.alert_id.encode(), value=alert.model_dump_json().encode())

    async def raise_alerts(alerts: list[AlertRaised]) -> None:
        stats["alerts"] = stats.get("alerts", 0) + await watch.raise_new(alerts, send_alert)

    # New dispatches are registered by the tracker as it applies them (services/tracker/dispatch_watch.py):
    # consuming complaints.routed here as well cost this worker as much as routing itself.
    @app.agent(case_events)
    async def watch_cases(stream: Any) -> None:
        async for value in stream:
            try:
                event = CaseEvent.model_validate_json(value)
            except ValidationError as exc:
                log.warning("alerts: skipped an invalid case event: %s", exc.errors()[0].get("msg"))
                continue

            async def apply(e: CaseEvent = event) -> list[AlertRaised]:
                return await watch.apply_case_event(e, datetime.now(UTC))

            await with_redis_retry("case alerts", apply, raise_alerts)

    @timer(app, settings.alert_check_every_s)
    async def check_deadlines() -> None:
        try:
            await raise_alerts(await watch.due_alerts(datetime.now(UTC)))
        except Exception as exc:  # Redis or broker away: the next tick retries
            deadline_check.failed(exc)
        else:
            deadline_check.ok()

    return app


class RouterWorker(faust.Worker):
    """Faust's worker, minus its logging set-up: the handler and format of ``services.platform.logs``
    stay (Faust's own set-up replaces the root handler with a coloured text one, so
    ``COMPLAINTS_LOG_FORMAT=json`` was ignored), and the worker's INFO lines are this project's:
    one when it is ready, one when it stops (Faust's ~25 per-service lines are below WARNING)."""

    def __init__(self, app: faust.App, settings: RouterSettings) -> None:
        # override_logging=False: mode's Worker then neither calls dictConfig (which clears the root
        # handlers), nor redirects stdout, nor installs the terminal spinner's handler (which set the
        # root logger to DEBUG, so that every debug call in Faust and aiokafka built a record:
        # ~6 % of a pass-through agent's time).  The level is the one logs.setup() set.
        super().__init__(app, quiet=True, override_logging=False)
        self.settings = settings
        self.spinner = None  # a service has no terminal to spin on (and no " OK ^" on stdout)

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        if self._shutdown_immediately:
            return
        assigned = sorted(tp.partition for tp in self.app.consumer.assignment() if tp.topic == COMPLAINTS_RECEIVED)
        log.info("router worker started: group %s, broker %s, %s partition(s) of %s: %s", self.settings.router_group,
                 self.settings.kafka_bootstrap, len(assigned), COMPLAINTS_RECEIVED,
                 ",".join(map(str, assigned)) or "none yet",
                 extra={"worker_id": self.settings.worker_id, "partitions": assigned})

    def on_worker_shutdown(self) -> None:
        super().on_worker_shutdown()
        log.info("router worker stopping", extra={"worker_id": self.settings.worker_id})


def faust_worker(app: faust.App, settings: RouterSettings) -> faust.Worker:
    return RouterWorker(app, settings)


def use_uvloop() -> None:
    """Before the app is built: Faust's per-event path is mostly asyncio machinery (futures,
    queues, callbacks), which uvloop runs faster (measured: router +20 % records/s)."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run(settings: RouterSettings) -> None:
    use_uvloop()
    try:
        faust_worker(bootstrap(settings), settings).execute_from_commandline()
    finally:
        log.info("router worker stopped")
