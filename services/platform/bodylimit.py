"""Cap request bodies that come without a Content-Length (chunked transfer encoding).

The API's guard refuses a declared Content-Length above the limit; a chunked body declares none and
would otherwise be read into memory whole.  This ASGI middleware counts the bytes as they arrive and
answers 413 as soon as the limit is passed.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # FastAPI passes an HTTPException raised while reading the body through as the answer
                    raise HTTPException(413, f"请求体过大（上限 {self.max_body} 字节）")
            return message

        await self.app(scope, limited, send)
