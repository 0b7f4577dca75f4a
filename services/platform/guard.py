"""Pure ASGI middleware: request body limits and request latency.

- A declared Content-Length over the limit is refused at once (413).
- A body without one (chunked transfer encoding) is counted as it arrives and refused
  (413) as soon as it passes the limit, instead of being read into memory whole.
- Every request's latency is recorded per route and status.

A plain ASGI class instead of ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
spawns a task group per request, a measurable share of the intake's CPU.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.platform import metrics


@dataclass(frozen=True)
class BodyLimit:
    """A larger limit for the paths matching ``path`` (e.g. photo uploads), with its own message."""

    path: re.Pattern[str]
    max_body: int
    message: str


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body: int, larger: Sequence[BodyLimit] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self.larger = tuple(larger)

    def _limit(self, path: str) -> tuple[int, str]:
        for rule in self.larger:
            if rule.path.match(path):
                return rule.max_body, rule.message
        return self.max_body, f"请求体过大（上限 {self.max_body} 字节）"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body, too_large = self._limit(scope.get("path", ""))
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > max_body):
            body = json.dumps({"detail": too_large}, ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    # FastAPI passes an HTTPException raised while reading the body through as the answer
                    raise HTTPException(413, too_large)
            return message

        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited, send_wrapper)
        finally:
            route = scope.get("route")
            metrics.REQUEST_LATENCY.labels(scope["method"], getattr(route, "path", "unmatched"),
                                           str(status[0])).observe(time.perf_counter() - start)
