"""A real HTTP server on 127.0.0.1 that answers from a script, for faults the sandbox never makes.

Used where the test needs a 503 followed by a success, overlapping pages, or to see exactly what
the client put on the wire; everything else talks to the sandbox.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """Replies in order (the last one repeats), and every request received."""

    replies: list[tuple[int, Any]]
    seen: list[Seen] = field(default_factory=list)

    def next_reply(self) -> tuple[int, Any]:
        index = min(len(self.seen) - 1, len(self.replies) - 1)
        return self.replies[index]


@contextmanager
def scripted_server(replies: list[tuple[int, Any]]) -> Iterator[tuple[str, Script]]:
    """Serve ``replies`` (status, JSON body) at ``http://127.0.0.1:<port>/cm-service/v1``."""
    script = Script(replies)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            status, payload = script.next_reply()
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cm-service/v1", script
    finally:
        server.shutdown()
        server.server_close()
