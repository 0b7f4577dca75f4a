"""The reconciler's "now": how far the tracker has applied the streams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.tracker.progress import EPOCH, StreamProgress

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
R0, R1, D0 = ("complaints.received", 0), ("complaints.received", 1), ("complaints.routed", 0)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_behind_means_the_time_of_the_last_record_read_on_the_slowest_partition() -> None:
    clock = Clock()
    p = StreamProgress(stale_after_s=10, clock=clock)
    assert p.applied_until(NOW) == NOW  # nothing read yet: no claim to be behind
    p.observe([R0, R1, D0], {R0: (0, ms(NOW)), D0: (500, ms(NOW - timedelta(minutes=5)))})
    # R1 never had a record in a batch (an idle partition): it does not hold the others back
    assert p.applied_until(NOW) == NOW - timedelta(minutes=5)  # routed is 500 records behind
    p.observe([R0, R1, D0], {R1: (3, None)})  # behind, but the last record's time is unknown
    assert p.applied_until(NOW) == EPOCH
    p.observe([R0, R1, D0], {R1: (0, None), D0: (20, ms(NOW - timedelta(seconds=3)))})
    assert p.applied_until(NOW) == NOW - timedelta(seconds=3)
    p.observe([R0, R1, D0], {D0: (0, ms(NOW - timedelta(seconds=1)))})
    assert p.applied_until(NOW) == NOW  # caught up everywhere


def test_stale_information_does_not_switch_the_reconciler_off() -> None:
    clock = Clock()
    p = StreamProgress(stale_after_s=10, clock=clock)
    p.observe([D0], {D0: (10_000, ms(NOW - timedelta(hours=1)))})
    assert p.applied_until(NOW) == NOW - timedelta(hours=1)
    clock.t += 11  # the consumer stopped reading (stuck, rebalancing, broker away)
    assert p.applied_until(NOW) == NOW


def test_partitions_no_longer_assigned_do_not_count() -> None:
    p = StreamProgress(clock=Clock())
    p.observe([R0, D0], {D0: (7, ms(NOW - timedelta(minutes=1)))})
    p.observe([R0], {R0: (0, ms(NOW))})  # D0 went to another tracker
    assert p.applied_until(NOW) == NOW
