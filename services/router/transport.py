"""A Faust transport whose consumer fetch wait is a setting.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its aiokafka consumer.  Tansu
only re-checks a waiting fetch every fetch_max_wait/2, so stock Faust adds
~400-700 ms per hop there; real Kafka answers as soon as data arrives.  The
value is taken from the app (``app.fetch_max_wait_ms``), set by bootstrap()
from ``COMPLAINTS_CONSUMER_FETCH_WAIT_MS``.
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "tunedkafka"


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait = getattr(self.app, "fetch_max_wait_ms", None)
        if wait is not None:
            consumer._fetch_max_wait_ms = int(wait)
        return consumer


class TunedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = TunedConsumer


def register() -> None:
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
