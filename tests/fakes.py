"""A fake Ollama server on 127.0.0.1 for tests: Ollama's documented HTTP API, its errors, and its failures.

It answers ``POST /api/chat`` (streaming NDJSON by default, one JSON object with ``"stream": false``),
``POST /api/show``, ``GET /api/tags`` and ``GET /api/version`` with the shapes Ollama documents
(docs/api.md), and Ollama's error body ``{"error": "..."}``: 404 for a model that is not pulled, 500
for a failure. Tests steer it through attributes (``delay``, ``fail_status``, ``cut_after``,
``error_after``, ``end_without_done``) and read back every request it received in ``requests``,
so they assert on what the service *sent*, never on a model's wording.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OLLAMA_VERSION = "0.12.6"
DEFAULT_REPLY = "The passages say so [1]. Another passage agrees [2]."


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def model_entry(name: str) -> dict[str, Any]:
    """An entry of ``/api/tags``' ``models`` list, as Ollama returns it."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-01-01T00:00:00.000000000Z",
        "size": 2019393189,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


def canonical(name: str) -> str:
    """Ollama's name for a model: a missing tag means ``:latest``."""
    return name if ":" in name else f"{name}:latest"


class FakeOllama:
    """The fake server; use as a context manager, point the service at ``url``."""

    def __init__(self, models: tuple[str, ...] = ("llama3.2:3b",), reply: str = DEFAULT_REPLY) -> None:
        self.models = list(models)
        self.reply = reply
        self.delay = 0.0  # seconds before /api/chat sends anything (slow model loading)
        self.chunk_delay = 0.0  # seconds between streamed chunks
        self.fail_status: int | None = None  # /api/chat answers this status with {"error": ...}
        self.cut_after: int | None = None  # drop the connection after N stream chunks (or mid-JSON)
        self.error_after: int | None = None  # stream: send an {"error": ...} line after N chunks
        self.end_without_done = False  # stream: finish the body cleanly but never send done: true
        # Scripted replies, one per /api/chat call, each as its streamed pieces (the last repeats);
        # empty means every call answers `reply`, cut into words.
        self.replies: list[list[str]] = []
        self.requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the /api/chat requests received, in order."""
        return [r.body for r in self.requests if r.path == "/api/chat"]

    def has(self, model: str) -> bool:
        """Whether the model counts as pulled."""
        return canonical(model) in {canonical(m) for m in self.models}

    def start(self) -> FakeOllama:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; slow handlers wake up and end."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sleep(self, seconds: float) -> None:
        """Wait, unless the server is stopping."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def next_pieces(self) -> list[str]:
        """The streamed pieces of the next reply: the next scripted one, else `reply` by words."""
        if self.replies:
            return self.replies.pop(0) if len(self.replies) > 1 else list(self.replies[0])
        return list(self.tokens())

    def tokens(self) -> Iterator[str]:
        """The reply cut into word-sized deltas whose concatenation is the reply."""
        word = ""
        for char in self.reply:
            word += char
            if char == " ":
                yield word
                word = ""
        if word:
            yield word

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            owner = fake

        return Handler


class _Handler(BaseHTTPRequestHandler):
    """Routes one request to the fake's behaviour."""

    owner: FakeOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}
        return parsed if isinstance(parsed, dict) else {"_raw": parsed}

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def do_GET(self) -> None:
        """GET /api/tags and /api/version."""
        self.owner.requests.append(RecordedRequest("GET", self.path))
        if self.path == "/api/tags":
            self._json(200, {"models": [model_entry(m) for m in self.owner.models]})
        elif self.path == "/api/version":
            self._json(200, {"version": OLLAMA_VERSION})
        elif self.path == "/":
            self._json(200, {"status": "Ollama is running"})
        else:
            self._error(404, "404 page not found")

    def do_HEAD(self) -> None:
        """HEAD / (what ``ollama`` clients use to ping)."""
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        """POST /api/chat and /api/show."""
        body = self._body()
        self.owner.requests.append(RecordedRequest("POST", self.path, body))
        try:
            if self.path == "/api/show":
                self._show(body)
            elif self.path == "/api/chat":
                self._chat(body)
            else:
                self._error(404, "404 page not found")
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its timeout, a cancelled stream): nothing left to answer.
            self.close_connection = True

    def _show(self, body: dict[str, Any]) -> None:
        model = str(body.get("model") or body.get("name") or "")
        if not self.owner.has(model):
            self._error(404, f"model '{model}' not found")
            return
        entry = model_entry(canonical(model))
        self._json(
            200,
            {
                "modelfile": f"FROM {model}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": entry["details"],
                "model_info": {
                    "general.architecture": "llama",
                    "general.parameter_count": 3212749888,
                    "llama.context_length": 131072,
                    "llama.embedding_length": 3072,
                },
                "capabilities": ["completion", "tools"],
                "modified_at": entry["modified_at"],
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.owner
        model = str(body.get("model") or "")
        fake.sleep(fake.delay)
        if fake._stopping.is_set():
            return
        if not model:
            self._error(400, "model is required")
            return
        if not fake.has(model):
            self._error(404, f'model "{model}" not found, try pulling it first')
            return
        if fake.fail_status is not None:
            self._error(fake.fail_status, "llama runner process has terminated: exit status 2")
            return
        pieces = fake.next_pieces()
        if body.get("stream", True) is False:
            if fake.cut_after is not None:
                self._cut_json(self._final(model, "".join(pieces)))
            else:
                self._json(200, self._final(model, "".join(pieces)))
            return
        self._stream(model, pieces)

    def _final(self, model: str, content: str) -> dict[str, Any]:
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "stop",
            "total_duration": 4883583458,
            "load_duration": 1334875,
            "prompt_eval_count": 26,
            "prompt_eval_duration": 342546000,
            "eval_count": 282,
            "eval_duration": 4535599000,
        }

    def _cut_json(self, payload: dict[str, Any]) -> None:
        """Announce the whole body, send half of it, drop the connection."""
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _chunk(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, model: str, pieces: list[str]) -> None:
        fake = self.owner
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for sent, token in enumerate(pieces):
            if fake.cut_after is not None and sent >= fake.cut_after:
                # Mid-body: no terminating chunk, the connection just goes away (a crashed runner).
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fake.error_after is not None and sent >= fake.error_after:
                self._chunk({"error": "an error was encountered while running the model: unexpected EOF"})
                break
            self._chunk(
                {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": token},
                    "done": False,
                }
            )
            fake.sleep(fake.chunk_delay)
        else:
            if not fake.end_without_done:
                self._chunk(self._final(model, ""))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
