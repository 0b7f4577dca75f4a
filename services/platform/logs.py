"""Structured logs: one JSON object per line in production, readable lines under `complaints run`."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STD and not k.startswith("_")})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _DropRoutine(logging.Filter):
    """Drops the INFO lines of a logger that say nothing a person acts on (kept at DEBUG)."""

    def __init__(self, *starts: str) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.getMessage().startswith(self.starts):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


# Alembic at INFO: one line per plugin and two about the dialect before each run; the migrations
# applied ("Running upgrade 0005 -> 0006, ...") stay.
_ROUTINE = {"alembic.runtime.migration": _DropRoutine("Context impl", "Will assume")}


NOISY = ("aiokafka", "kafka", "faust", "mode", "uvicorn.access", "httpx", "httpcore", "alembic.runtime.plugins")


def setup(fmt: str, level: str, service: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service:<8} %(levelname)-7s %(name)s: %(message)s",
                                               datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and WeChat API URLs carry the access token.  Faust and
    # mode log "Starting..."/"Stopping..." for each of their ~25 services at INFO, and aiokafka each
    # group join: their warnings and errors stay, the services' own start/stop lines say the rest.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name, routine in _ROUTINE.items():
        logger = logging.getLogger(name)
        if routine not in logger.filters:
            logger.addFilter(routine)


class Dependency:
    """What a person needs about a dependency that fails on every tick (Redis, the broker): the first
    failure at WARNING ("degraded"), the repeats at DEBUG, and the first success after it at INFO
    ("recovered", with how long it lasted), instead of a warning per tick."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.failing_since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            self.logger.warning("degraded: %s failed: %s: %s", self.what, type(exc).__name__, exc)
        else:
            self.logger.debug("%s failed again: %s: %s", self.what, type(exc).__name__, exc)

    def ok(self) -> None:
        if self.failing_since is not None:
            self.logger.info("recovered: %s works again after %.1f s (%d failure(s))", self.what,
                             time.monotonic() - self.failing_since, self.failures)
            self.failing_since, self.failures = None, 0
