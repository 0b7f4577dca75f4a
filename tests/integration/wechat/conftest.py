"""Fixtures for the WeChat integration tests (helpers live in wechat_harness.py and api_fixtures.py)."""

from api_fixtures import api, make_client
from wechat_harness import harness, make_harness, prefix, redis

__all__ = ["api", "harness", "make_client", "make_harness", "prefix", "redis"]
