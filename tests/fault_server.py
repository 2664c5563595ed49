"""A chat-completions server on 127.0.0.1 that misbehaves on purpose (fault injection).

Each fault is a function `(handler, body) -> None` writing whatever it likes to the socket: drip one
byte at a time, stall, reset the connection, send NUL, numbers, garbage, the wrong schema, 429 with
Retry-After, 500. Delays are parameters so tests run in seconds. Shared by the tests and bench/hostile.py.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Fault = Callable[[BaseHTTPRequestHandler, dict], None]


def completion_bytes(content: object, finish_reason: str = "stop") -> bytes:
    body = {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
    }
    return json.dumps(body).encode()


def send(handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
    handler.wfile.flush()


def answer(content: object, status: int = 200, headers: dict[str, str] | None = None) -> Fault:
    return lambda h, body: send(h, status, completion_bytes(content), headers)


def raw(payload: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Fault:
    return lambda h, body: send(h, status, payload, headers)


def drip(content: str, every_s: float) -> Fault:
    """A valid reply, one byte every `every_s` seconds (httpx's read timeout restarts with each byte)."""

    def fault(h: BaseHTTPRequestHandler, body: dict) -> None:
        payload = completion_bytes(content)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.flush()
        for i in range(len(payload)):
            if h.server.released.wait(every_s):  # type: ignore[attr-defined]
                return
            h.wfile.write(payload[i : i + 1])
            h.wfile.flush()
            h.server.dripped += 1  # type: ignore[attr-defined]

    return fault


def delayed(content: str, delay_s: float) -> Fault:
    """A valid reply after `delay_s` seconds of silence."""

    def fault(h: BaseHTTPRequestHandler, body: dict) -> None:
        if not h.server.released.wait(delay_s):  # type: ignore[attr-defined]
            send(h, 200, completion_bytes(content))

    return fault


def reset(h: BaseHTTPRequestHandler, body: dict) -> None:
    """Close with a TCP reset (SO_LINGER 0), no answer."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    h.connection.close()


def stream_events(pieces: list[str], every_s: float = 0.0) -> Fault:
    """A streamed reply (server-sent events), one piece every `every_s` seconds."""

    def fault(h: BaseHTTPRequestHandler, body: dict) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for piece in pieces:
            if every_s and h.server.released.wait(every_s):  # type: ignore[attr-defined]
                return
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.flush()
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
        h.close_connection = True

    return fault


class FaultServer:
    """`with FaultServer(fault) as server:` ... `server.url`; `server.received` is set on each request."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.requests: list[dict] = []
        self.received = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.received.set()
                try:
                    outer.fault(self, body)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client gave up: what the test wants
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.released = threading.Event()  # type: ignore[attr-defined]
        self.httpd.dripped = 0  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def dripped(self) -> int:
        return self.httpd.dripped  # type: ignore[attr-defined]

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.released.set()  # type: ignore[attr-defined]
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_then(event: threading.Event, action: Callable[[], None], after_s: float = 0.0) -> threading.Thread:
    """In a thread: once `event` is set (the server got the request), wait after_s, then act."""

    def run() -> None:
        event.wait(30)
        time.sleep(after_s)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
