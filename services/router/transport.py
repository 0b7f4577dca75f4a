"""A Faust transport whose consumer fetch wait is a setting.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its aiokafka consumer.  Tansu
only re-checks a waiting fetch every fetch_max_wait/2, so stock Faust adds
~400-700 ms per hop there; real Kafka answers as soon as data arrives.  The
value is taken from the app (``app.fetch_max_wait_ms``), set by bootstrap()
from ``COMPLAINTS_CONSUMER_FETCH_WAIT_MS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiokafka
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = logging.getLogger(__name__)

SCHEME = "tunedkafka"


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait = getattr(self.app, "fetch_max_wait_ms", None)
        if wait is not None:
            consumer._fetch_max_wait_ms = int(wait)
        return consumer


@dataclass(frozen=True)
class LostLog:
    tp: TP
    read_offset: int  # the last offset this worker had read
    highwater: int  # the end of the partition's log now, from a fetch response


class TunedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def lost_logs(self) -> list[LostLog]:
        """Assigned partitions whose log now ends at or before the last offset this worker read.

        That happens only when the broker lost the log (Tansu's memory storage after a restart;
        Kafka after a topic was re-created or an unclean leader election), or when the group's
        committed offset points past the end of the log.  Faust then drops every record whose
        offset is below what it has read ("already seen") until the new log grows past it: the
        stream stalls silently.  The fetch response's highwater is exact (unlike ListOffsets on
        Tansu), so this check gives no false alarm.
        """
        lost: list[LostLog] = []
        for tp in self.assignment():
            read = self._read_offset.get(tp)
            if read is None:
                continue
            try:
                highwater = self.highwater(tp)
            except Exception:  # noqa: BLE001 - partition revoked meanwhile, or nothing fetched yet
                continue
            if highwater is not None and 0 <= highwater <= read:
                lost.append(LostLog(tp, read, highwater))
        return lost

    async def reread_lost_logs(self) -> list[LostLog]:
        """Start every lost log again from its beginning (at-least-once: consumers are idempotent)."""
        lost = self.lost_logs()
        if not lost:
            return []
        earliest = await self.earliest_offsets(*(item.tp for item in lost))
        for item in lost:
            tp = item.tp
            # Bookkeeping about offsets of the old log would hold back commits of the new one.
            for table in (self._committed_offset, self._acked, self._acked_index, self._gap):
                table.pop(tp, None)
            await self.seek(tp, int(earliest.get(tp) or 0))
            log.warning("the log of %s[%s] ends at %s but this worker had read up to %s: the broker "
                        "lost it; reading it again from the start", tp.topic, tp.partition,
                        item.highwater, item.read_offset)
        return lost


class Transport(faust_aiokafka.Transport):
    Consumer = TunedConsumer


def register() -> None:
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
