from __future__ import annotations

import pytest

from services.intake.wechat.fakes import FakeClock

# The same real-Redis fixtures as the integration tests (a missing Redis fails the run).
from tests.integration.wechat.wechat_harness import prefix, redis

__all__ = ["clock", "prefix", "redis"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
