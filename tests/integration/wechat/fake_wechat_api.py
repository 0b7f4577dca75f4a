"""A local HTTP server (aiohttp, 127.0.0.1, free port) that answers like the WeChat API."""

from __future__ import annotations

import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeWeChatApi:
    appid: str
    secret: str
    current: str | None = None
    issued: list[str] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    custom: list[dict[str, Any]] = field(default_factory=list)
    subscribe: list[dict[str, Any]] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    # scripted answers per path: ("http", 503) or ("errcode", 45015) ...
    script: dict[str, deque[tuple[str, int]]] = field(default_factory=dict)
    stuck: bool = False  # stable_token (normal mode) keeps returning the rejected token
    expired: set[str] = field(default_factory=set)
    # temporary media by media id: (bytes, content type); an unknown id answers 40007 as WeChat does
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_requests: list[str] = field(default_factory=list)
    chunked_media: bool = False  # send media without Content-Length (chunked)
    runner: web.AppRunner | None = None
    base_url: str = ""

    def then(self, path: str, *answers: tuple[str, int]) -> None:
        self.script.setdefault(path, deque()).extend(answers)

    def expire_current(self) -> None:
        """The current token expires (42001); stable_token will issue a new one."""
        if self.current:
            self.expired.add(self.current)
            if not self.stuck:
                self.current = None

    def _issue(self) -> str:
        self.current = "TOKEN-" + secrets.token_hex(6)
        self.issued.append(self.current)
        return self.current

    async def stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.token_requests.append(body)
        if body.get("appid") != self.appid or body.get("secret") != self.secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        if body.get("force_refresh") or self.current is None:
            self.expired.discard(self._issue())
        return web.json_response({"access_token": self.current, "expires_in": 7200})

    def _scripted(self, path: str) -> web.Response | None:
        queue = self.script.get(path)
        if not queue:
            return None
        kind, value = queue.popleft()
        if kind == "http":
            return web.Response(status=value, text="upstream error")
        return web.json_response({"errcode": value, "errmsg": f"scripted {value}"})

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if token in self.expired:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token != self.current:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return None

    async def custom_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.raw_bodies.append(raw)
        answer = self._token_error(request) or self._scripted("custom")
        if answer is not None:
            return answer
        self.custom.append(json.loads(raw))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def bizsend(self, request: web.Request) -> web.Response:
        raw = await request.read()
        answer = self._token_error(request) or self._scripted("subscribe")
        if answer is not None:
            return answer
        self.subscribe.append(json.loads(raw))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def add_media(self, media_id: str, content: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (content, content_type)

    async def media_get(self, request: web.Request) -> web.StreamResponse:
        """``GET /cgi-bin/media/get``: the file with its type and a filename, or a JSON error.  Like
        WeChat, errors come as JSON with ``Content-Type: text/plain``."""
        media_id = request.query.get("media_id", "")
        self.media_requests.append(media_id)
        answer = self._token_error(request) or self._scripted("media")
        if answer is not None:
            return answer
        if media_id not in self.media:
            return web.Response(text=json.dumps({"errcode": 40007, "errmsg": "invalid media_id"}),
                                content_type="text/plain")
        content, content_type = self.media[media_id]
        ext = {"image/jpeg": "jpg", "image/png": "png", "audio/amr": "amr"}.get(content_type, "bin")
        headers = {"Content-Type": content_type, "Content-disposition": f'attachment; filename="{media_id}.{ext}"'}
        if not self.chunked_media:
            return web.Response(body=content, headers=headers)
        stream = web.StreamResponse(headers=headers)
        stream.enable_chunked_encoding()
        await stream.prepare(request)
        for i in range(0, len(content), 65536):
            await stream.write(content[i:i + 65536])
        await stream.write_eof()
        return stream

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self.stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        app.router.add_post("/cgi-bin/message/subscribe/bizsend", self.bizsend)
        app.router.add_get("/cgi-bin/media/get", self.media_get)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
