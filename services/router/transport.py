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

# Faust's services log their life cycle ("Starting...", "Stopping...") at INFO through the logger of
# the module that defines the class; these two would otherwise log it as this project's module.  They
# log it as Faust (set to WARNING by services.platform.logs); what this module says stays under `log`.
FAUST_LOG = logging.getLogger("faust.transport.tunedkafka")


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    logger = FAUST_LOG

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait = getattr(self.app, "fetch_max_wait_ms", None)
        if wait is not None:
            consumer._fetch_max_wait_ms = int(wait)
        return consumer


@dataclass(frozen=True)
class LostLog:
    tp: TP
    read_offset: int  # where this worker was: the offset it had read, or its fetch position
    highwater: int  # the end of the partition's log now, from a fetch response


class TunedConsumer(faust_aiokafka.Consumer):
    logger = FAUST_LOG

    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _position(self, tp: TP) -> int | None:
        """The aiokafka consumer's next fetch offset on ``tp``, if it has a valid one now."""
        try:
            consumer = self._thread._ensure_consumer()
            state = consumer._subscription.subscription.assignment.state_value(tp)
        except Exception:  # noqa: BLE001 - not assigned any more, or not started yet
            return None
        if state is None or not state.has_valid_position:
            return None
        return int(state.position)

    def lost_logs(self) -> list[LostLog]:
        """Assigned partitions whose log now ends before where this worker is.

        That happens only when the broker lost the log (Tansu's memory storage after a restart;
        Kafka after a topic was re-created or an unclean leader election), or when the group's
        committed offset points past the end of the log.  Faust then drops every record whose
        offset is below what it has read ("already seen") until the new log grows past it: the
        stream stalls silently.  The fetch response's highwater is exact (unlike ListOffsets on
        Tansu), so this check gives no false alarm.

        Faust's read offset means two things: after a record was read, that record's offset
        (the log then ends after it: highwater > read); after a seek to the committed offset (a
        restart, a rebalance), the *next* offset to read, which is the highwater itself when
        everything was routed before.  So a highwater equal to the read offset is no proof of a
        lost log (issue 16: a restarted worker routed everything again).  The proof is a log that
        ends before the read offset, or before the consumer's own fetch position (always "next
        offset to fetch": after reading offset L it is L + 1, past a lost log that ends at L).
        """
        lost: list[LostLog] = []
        for tp in self.assignment():
            read = self._read_offset.get(tp)
            position = self._position(tp)
            if read is None and position is None:
                continue
            try:
                highwater = self.highwater(tp)
            except Exception:  # noqa: BLE001 - partition revoked meanwhile, or nothing fetched yet
                continue
            if highwater is None or highwater < 0:
                continue
            if (read is not None and highwater < read) or (position is not None and highwater < position):
                lost.append(LostLog(tp, max(read or 0, position or 0), highwater))
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
