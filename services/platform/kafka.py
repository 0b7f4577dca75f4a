"""Kafka adapters: topic administration (kafka-python) and the async producer (aiokafka).

Broker-agnostic: any Kafka bootstrap address from settings (Tansu here, Apache Kafka in production).
kafka-python is imported only by ``ensure_topics``: the services never administer topics, and it
costs about 6 MB of RSS per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from services.platform.topics import TOPIC_PLAN

log = logging.getLogger(__name__)


def _admin(bootstrap: str, timeout_s: float) -> Any:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="complaints-admin", request_timeout_ms=10000)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"broker {bootstrap} unreachable: {exc}") from exc
            time.sleep(0.3)


def check_topics(bootstrap: str, partitions: int, timeout_s: float = 30.0) -> dict[str, str]:
    """Verify the topics of the plan without creating any: topic -> problem ("" when it is fine).

    A topic is wrong when it is missing or has fewer partitions than ``partitions`` (more router
    workers than partitions would stand idle; fewer partitions cannot be repaired by adding).
    """
    admin = _admin(bootstrap, timeout_s)
    try:
        existing = set(admin.list_topics())
        present = [spec.name for spec in TOPIC_PLAN if spec.name in existing]
        counts = {t.get("name", t.get("topic")): len(t.get("partitions") or []) for t in admin.describe_topics(present)} if present else {}
    finally:
        admin.close()
    out: dict[str, str] = {}
    for spec in TOPIC_PLAN:
        if spec.name not in existing:
            out[spec.name] = "missing"
        elif counts.get(spec.name, 0) < partitions:
            out[spec.name] = f"{counts.get(spec.name, 0)} partitions, expected {partitions}"
        else:
            out[spec.name] = ""
    return out


def ensure_topics(bootstrap: str, partitions: int, replication: int = 1, timeout_s: float = 30.0) -> list[str]:
    """Create the topics of the plan that do not exist yet; return the names created."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = _admin(bootstrap, timeout_s)
    try:
        existing = set(admin.list_topics())
        created: list[str] = []
        for spec in TOPIC_PLAN:
            if spec.name in existing:
                continue
            topic = NewTopic(
                name=spec.name,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            try:
                admin.create_topics([topic])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        missing = {s.name for s in TOPIC_PLAN} - set(admin.list_topics())
        if missing:
            raise RuntimeError(f"topics missing after creation: {sorted(missing)}")
        return created
    finally:
        admin.close()


def make_producer(bootstrap: str, *, request_timeout_s: float, linger_ms: int = 0,
                  compression_type: str | None = None) -> AIOKafkaProducer:
    """An idempotent-enough producer with acks=all: a send returns only once the broker has the record."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=linger_ms,
        compression_type=compression_type,
        request_timeout_ms=int(request_timeout_s * 1000),
        retry_backoff_ms=100,
        client_id="complaints-producer",
    )


class KafkaPublisher:
    """Async publisher used by the API.  Starts in the background so the API comes up without a broker;
    until the producer is connected every publish fails fast (the caller answers 503)."""

    def __init__(self, bootstrap: str, *, request_timeout_s: float, linger_ms: int = 0,
                 compression_type: str | None = None) -> None:
        self._bootstrap = bootstrap
        self._timeout = request_timeout_s
        self._linger = linger_ms
        self._compression = compression_type
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop())

    async def _connect_loop(self) -> None:
        while self._producer is None:
            producer = make_producer(self._bootstrap, request_timeout_s=self._timeout, linger_ms=self._linger,
                                     compression_type=self._compression)
            try:
                await producer.start()
            except Exception as exc:  # broker not there yet
                log.warning("producer cannot reach %s (%s); retrying", self._bootstrap, exc)
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(1.0)
                continue
            self._producer = producer
            self.connected = True

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        if self._producer is None:
            raise ConnectionError(f"broker {self._bootstrap} not connected")
        await self._producer.send_and_wait(topic, value=value, key=key.encode())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._producer is not None:
            await self._producer.stop()
