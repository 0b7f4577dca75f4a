"""Fixtures for the WeChat integration tests (helpers live in wechat_harness.py)."""

from wechat_harness import harness, make_harness, prefix, redis

__all__ = ["harness", "make_harness", "prefix", "redis"]
