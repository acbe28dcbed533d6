"""A small fake of Ollama's HTTP API (``/api/chat``, ``/api/tags``) on loopback, for stream tests.

It follows the documented wire format: ``/api/chat`` answers one JSON object, or with
``"stream": true`` NDJSON lines over chunked transfer encoding, the last with ``"done": true``.
It can be told to cut a stream after some chunks (the connection closes without the final chunk),
and it records every request body so tests assert on what the service sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the fake answers: replies in order (the last repeats), and where to cut streams."""

    replies: list[list[str]] = field(default_factory=lambda: [["Fine."]])
    cut_stream_after: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def next_reply(self) -> list[str]:
        """The next reply, as its streamed pieces."""
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def _handler(script: Script, model: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def end_headers(self) -> None:
            # One request per connection: no pooled client socket outlives a test (ResourceWarning).
            self.send_header("Connection", "close")
            self.close_connection = True
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._json(200, {"models": [{"name": model, "model": model}]})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/api/chat":
                self._json(404, {"error": "not found"})
                return
            script.requests.append(body)
            pieces = script.next_reply()
            message = {"model": model, "created_at": "2026-01-01T00:00:00Z"}
            if not body.get("stream", True):
                reply = {"role": "assistant", "content": "".join(pieces)}
                self._json(200, {**message, "message": reply, "done": True, "done_reason": "stop"})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, piece in enumerate(pieces):
                if script.cut_stream_after is not None and i >= script.cut_stream_after:
                    self.wfile.flush()
                    self.close_connection = True
                    return  # no terminating chunk: the client sees a broken stream
                line = {**message, "message": {"role": "assistant", "content": piece}, "done": False}
                self._chunk(json.dumps(line) + "\n")
            end = {**message, "message": {"role": "assistant", "content": ""}, "done": True}
            self._chunk(json.dumps({**end, "done_reason": "stop"}) + "\n")
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


class FakeOllama:
    """The fake server on a free loopback port; ``base_url`` goes into the Ollama settings."""

    def __init__(self, script: Script, model: str = "fake:1b") -> None:
        self.script = script
        self.model = model
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script, model))
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
