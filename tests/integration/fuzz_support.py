"""Helpers of tests/integration/test_fuzz.py: the API served in a thread, and a compatibility shim."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import types
import uuid
from typing import Any

import hypothesis.internal.conjecture.utils as _cu
import hypothesis_jsonschema._from_schema as _jsonschema_strategies
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from pydantic import SecretStr

from services.platform.embedded import free_port
from services.platform.migrate import upgrade
from services.platform.settings import ApiSettings
from services.tracker.app import create_app
from tests.conftest import ADMIN_TOKEN


class _OldMany:
    """hypothesis-jsonschema 0.23.1 (used by schemathesis 3.39 for request bodies) calls the pre-6.150
    ``many(...).more()/.reject()`` API, which hypothesis 6.170 replaced by a context manager: every
    object schema fails with "'many' object has no attribute 'more'".  This keeps that one call site
    working (same draws, without shrinking spans) until the two are pinned to compatible versions."""

    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self.data, self.min_size, self.max_size = data, min_size, max_size
        self.p_continue = _cu._calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = self.rejections = 0
        self.force_stop = False

    def more(self) -> bool:
        if self.min_size == self.max_size:
            go = self.count < self.min_size
        else:
            forced = (False if self.force_stop or self.count >= self.max_size
                      else True if self.count < self.min_size else None)
            go = self.data.draw_boolean(self.p_continue, forced=forced)
        self.count += int(go)
        return bool(go)

    def reject(self, why: str | None = None) -> None:
        self.count -= 1
        self.rejections += 1
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid(why)
            self.force_stop = True


if not hasattr(_cu.many, "more"):
    _jsonschema_strategies.cu = types.SimpleNamespace(many=_OldMany)  # type: ignore[assignment]

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LEAKS = ("Traceback", 'File "')
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")), deadline=None, suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate])


class ServedApp:
    """The app of ``create_app`` served by uvicorn in a thread (one event loop, like production)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "API did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def api_settings(bootstrap: str, database_url: str, redis_url: str) -> ApiSettings:
    upgrade(database_url)
    return ApiSettings(kafka_bootstrap=bootstrap, database_url=database_url, redis_url=redis_url,
                       redis_prefix=f"fz{uuid.uuid4().hex[:8]}:", admin_token=SecretStr(ADMIN_TOKEN),
                       publish_timeout_s=2.0)


def no_leak(response: Any) -> None:
    status = response.status_code
    text = response.text
    assert status < 500 or status == 503, f"{status}: {text[:500]}"
    assert not any(leak in text for leak in LEAKS), f"stack trace leaked: {text[:500]}"
