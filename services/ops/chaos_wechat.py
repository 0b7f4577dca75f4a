"""A stand-in for the WeChat API during a chaos run: issues tokens and records every message sent.

The tracker's notifier sends a customer-service message when a WeChat citizen's case is accepted;
the chaos run counts them per ticket (no duplicate notification may reach a citizen).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TICKET_RE = re.compile(r"[A-Z]{1,6}\d{14}")


class FakeWeChatApi:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b"{}"
                if self.path.startswith("/cgi-bin/stable_token") or self.path.startswith("/cgi-bin/token"):
                    answer: dict[str, Any] = {"access_token": "chaos-token", "expires_in": 7200}
                else:
                    with api._lock:
                        api.sent.append({"path": self.path.split("?")[0], **json.loads(body or b"{}")})
                    answer = {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-wechat", daemon=True)
        self.thread.start()

    def per_ticket(self) -> Counter[str]:
        """How many messages mention each ticket number."""
        with self._lock:
            texts = [str((m.get("text") or {}).get("content", "")) for m in self.sent]
        return Counter(t.group(0) for text in texts if (t := TICKET_RE.search(text)))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
