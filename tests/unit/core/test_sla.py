"""Deadlines from the taxonomy, urgent limits, extensions, and the engine's use of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.sla import deadlines, extend, is_overdue

T0 = datetime(2024, 6, 1, 22, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_normal_limits(city) -> None:  # type: ignore[no-untyped-def]
    d = deadlines(city.categories["CATERING_FUMES"], T0, urgent=False)
    assert d.accept_by == T0 + timedelta(hours=1)
    assert d.resolve_by == T0 + timedelta(days=3)


def test_urgent_limits(city) -> None:  # type: ignore[no-untyped-def]
    d = deadlines(city.categories["GAS_SAFETY"], T0, urgent=True)
    assert d.accept_by == T0 + timedelta(minutes=5)
    assert d.resolve_by == T0 + timedelta(hours=1)


def test_naive_time_is_city_time(city) -> None:  # type: ignore[no-untyped-def]
    d = deadlines(city.categories["OPEN_BBQ"], datetime(2024, 6, 1, 22, 30), False, city.timezone)
    assert d.accept_by == T0 + timedelta(minutes=30)
    assert d.accept_by.utcoffset() == timedelta(hours=8)


def test_extension_moves_resolve_deadline() -> None:
    resolve_by = T0 + timedelta(days=1)
    assert extend(resolve_by, timedelta(days=2)) == T0 + timedelta(days=3)
    with pytest.raises(ValueError, match="positive"):
        extend(resolve_by, timedelta(0))
    assert is_overdue(resolve_by, resolve_by + timedelta(seconds=1))
    assert not is_overdue(extend(resolve_by, timedelta(hours=1)), resolve_by + timedelta(seconds=1))


def test_engine_deadlines_follow_urgency(engine) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2024, 6, 1, 14, 0, tzinfo=UTC)
    d = engine.decide("石庄镇砖桥社区我们这栋楼有很浓的燃气味，现在大家都跑到楼下了，赶紧派人来", now)
    assert d.category == "GAS_SAFETY" and d.urgent
    assert d.accept_by - now == timedelta(minutes=5)
    calm = engine.decide("饭店后厨油烟直排，净化器从来不开，邻居们意见很大", now, category_override="CATERING_FUMES")
    assert not calm.urgent
    assert calm.resolve_by - now == timedelta(days=3)
