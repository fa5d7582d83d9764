"""A scriptable HTTP venue served on 127.0.0.1 in a thread: routes, a fault queue, a request log.

``FakeVenue`` is the served part of every fake exchange in the tests: it owns the server, the
route table ``routes`` mapping ``(method, path)`` to a handler ``(FakeRequest) -> FakeResponse``,
a queue of scripted faults played before normal answers (``enqueue``) and a log of every request.
A venue subclasses it and registers its endpoints in ``build_routes`` (see
``tests/fake_exchange.py``); a trading venue later adds order routes the same way.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """A request as the fake received it (also the request-log record)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    received_monotonic: float


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """What a route handler (or a scripted fault) answers."""

    status: int = 200
    body: Any = None  # JSON-serialisable value, or str/bytes sent as is
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """A fault played instead of the normal answer to the next matching request.

    ``delay_seconds`` sleeps before answering (past the client timeout: a read timeout);
    ``passthrough`` then serves the normal answer; ``path`` limits the fault to one endpoint.
    """

    response: FakeResponse = field(default_factory=FakeResponse)
    delay_seconds: float = 0.0
    passthrough: bool = False
    path: str | None = None


def unavailable(*, path: str | None = None) -> ScriptedResponse:
    """Return a 503 with an HTML body, as Binance's edge does during an overload."""
    html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
    return ScriptedResponse(FakeResponse(503, html, {"Content-Type": "text/html"}), path=path)


def slow(delay_seconds: float, *, path: str | None = None) -> ScriptedResponse:
    """Answer normally after ``delay_seconds`` (past the client timeout: a read timeout)."""
    return ScriptedResponse(delay_seconds=delay_seconds, passthrough=True, path=path)


class FakeVenue:
    """A threaded HTTP server on 127.0.0.1 answering from ``routes``, after scripted faults."""

    name = "fake-venue"  # the serving thread's name

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[FakeRequest], FakeResponse]] = {}
        self._log: list[FakeRequest] = []
        self._script: deque[ScriptedResponse] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.build_routes()

    # ---------------------------------------------------------------- extension point
    def build_routes(self) -> None:
        """Register the endpoints; subclasses call ``super().build_routes()`` and add theirs."""

    def add_route(
        self, method: str, path: str, handler: Callable[[FakeRequest], FakeResponse]
    ) -> None:
        """Serve ``handler`` for ``method path`` (replacing any earlier handler)."""
        self.routes[(method.upper(), path)] = handler

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Start serving on 127.0.0.1 on a free port, in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        # a short poll interval keeps stop() (and so every test teardown) fast
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.02,), name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: what replaces the real venue's URL (``https://fapi...``)."""
        if self._server is None:
            raise RuntimeError("the fake exchange is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---------------------------------------------------------------- faults and log
    def enqueue(self, *responses: ScriptedResponse) -> None:
        """Play ``responses`` (in order) instead of the normal answers to the next requests."""
        with self._lock:
            self._script.extend(responses)

    @property
    def pending_faults(self) -> int:
        """Scripted responses not yet played."""
        with self._lock:
            return len(self._script)

    def request_log(self, path: str | None = None) -> list[FakeRequest]:
        """Return every request received so far (only those for ``path`` when given)."""
        with self._lock:
            return [r for r in self._log if path is None or r.path == path]

    def clear_log(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._log.clear()

    def dispatch(self, request: FakeRequest) -> tuple[FakeResponse, float]:
        """Log ``request`` and return its response and the delay to sleep before sending it."""
        with self._lock:
            self._log.append(request)
            fault = None
            if self._script and self._script[0].path in (None, request.path):
                fault = self._script.popleft()
        if fault is not None and not fault.passthrough:
            return fault.response, fault.delay_seconds
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            response = FakeResponse(
                404, "<html><body>404 Not Found</body></html>", {"Content-Type": "text/html"}
            )
        else:
            response = handler(request)
        return response, 0.0 if fault is None else fault.delay_seconds


def _make_handler(venue: FakeVenue) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as ccxt's requests.Session expects
        disable_nagle_algorithm = True  # headers and body in separate writes: no 40 ms ACK wait

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                params.update(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            request = FakeRequest(
                self.command, url.path, params, dict(self.headers.items()), time.monotonic()
            )
            response, delay_seconds = venue.dispatch(request)
            if delay_seconds:
                time.sleep(delay_seconds)
            self._send(response)

        def _send(self, response: FakeResponse) -> None:
            body = response.body
            headers = {"Content-Type": "application/json"}
            headers.update(response.headers)
            if isinstance(body, str):
                payload = body.encode()
            elif isinstance(body, bytes):
                payload = body
            else:
                payload = json.dumps(body, separators=(",", ":")).encode()
            try:
                self.send_response(response.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # the client gave up (its timeout passed): exactly what a slow fault simulates
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log is the record; keep pytest output clean

    return Handler
