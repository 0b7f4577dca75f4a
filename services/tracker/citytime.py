"""Every timestamp the API and pages return in the city's time (``+08:00`` for Rugao).

Inside, everything stays UTC: the events on Kafka, the database, the code.  At the HTTP edge this
middleware rewrites each UTC timestamp of a JSON, XML (Open311) or server-sent-events body --
a whole JSON string or XML text that is an ISO-8601 time ending in ``Z`` or ``+00:00`` -- into the
same instant at the city's offset (``city.yaml`` ``timezone``).  Strings that merely contain a
time (alert ids, free text) are left alone, and so is a time given with any other offset.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UTC_TIME = re.compile(
    rb'(?P<open>[">])(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(?:Z|\+00:00)(?P<close>["<])')
_REWRITTEN = (b"application/json", b"application/xml", b"text/xml", b"text/event-stream", b"application/problem+json")


def to_city_time(body: bytes, tz: tzinfo) -> bytes:
    """``"2026-11-26T00:30:00Z"`` -> ``"2026-11-26T08:30:00+08:00"`` (Asia/Shanghai), for every such value."""

    def local(m: re.Match[bytes]) -> bytes:
        moment = datetime.fromisoformat(m.group("time").decode() + "+00:00").astimezone(tz)
        return m.group("open") + moment.isoformat().encode() + m.group("close")

    return _UTC_TIME.sub(local, body)


class CityTimeMiddleware:
    """Pure ASGI: buffers a JSON/XML response (one body, length fixed up); streams events chunk by chunk."""

    def __init__(self, app: ASGIApp, tz: tzinfo) -> None:
        self.app = app
        self.tz = tz

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        mode = ""  # "" pass through, "buffer", "stream"
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start, mode
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
                if kind not in _REWRITTEN or headers.get(b"content-encoding"):
                    await send(message)
                    return
                mode = "stream" if kind == b"text/event-stream" else "buffer"
                if mode == "stream":
                    await send(message)
                else:
                    start = dict(message)
                return
            if message["type"] != "http.response.body" or not mode:
                await send(message)
                return
            if mode == "stream":
                await send({**message, "body": to_city_time(message.get("body", b""), self.tz)})
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = to_city_time(b"".join(chunks), self.tz)
            assert start is not None
            start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            start["headers"].append((b"content-length", str(len(body)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, wrapped)
