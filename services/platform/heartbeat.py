"""Heartbeats of the worker and tracker processes (Redis hashes ``<prefix><kind>:<id>``), read by /healthz.

Each process writes its hash every ``BEAT_EVERY_S``; /healthz takes a process whose last beat is older
than ``STALE_AFTER_S`` for dead, so a killed or frozen process degrades the health within 2 s.  A beat
names its host and pid: when the API runs on the same host, a pid that no longer exists is dead at once.
The hash itself lives ``KEY_TTL_S``, so /healthz can say when a dead process was last seen.
"""

from __future__ import annotations

import os
import socket
import time

BEAT_EVERY_S = 0.5
STALE_AFTER_S = 1.5
KEY_TTL_S = 30
HOST = socket.gethostname()


def beat_fields() -> dict[str, float | int | str]:
    return {"at": time.time(), "pid": os.getpid(), "host": HOST}


def process_gone(host: str | None, pid: int | None) -> bool:
    """True when the beat's process ran on this host and exists no more."""
    if host != HOST or not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, another user's
        return False
    return False
