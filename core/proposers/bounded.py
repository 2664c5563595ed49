"""A deadline for a whole HTTP request, not per byte, and cancel honoured while it waits.

httpx's read timeout restarts with every byte: a server sending one byte every 20 s keeps a request
alive forever, and nothing a caller does can interrupt a blocked read. So every socket read and write
of a proposer's client goes through `BoundedStream`, which waits in short slices (POLL_S) and between
them checks the bound of the request this thread is making (`bounded(...)`): past its deadline the
request fails with a timeout; once any of its stop events is set (Cancel, another request's failure)
it ends with `RequestStopped`, within POLL_S.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore

POLL_S = 0.2  # how often a blocked read looks at the deadline and the stop events


class RequestStopped(Exception):
    """The request was stopped by a stop event (cancel): not an error of the server."""


@dataclass(frozen=True)
class Bound:
    deadline: float | None  # time.monotonic() value
    stops: tuple[threading.Event, ...] = ()

    def check(self, what: str) -> float | None:
        """Seconds left (None: no deadline); raises RequestStopped or the timeout for `what`."""
        if any(e.is_set() for e in self.stops):
            raise RequestStopped("stopped")
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise (httpcore.WriteTimeout if what == "write" else httpcore.ReadTimeout)("deadline passed")
        return left


_current = threading.local()


def current_bound() -> Bound | None:
    return getattr(_current, "bound", None)


@contextmanager
def bounded(deadline: float | None, stops: Iterable[threading.Event | None] = ()) -> Iterator[Bound]:
    """Bound every read and write this thread's bounded streams make until the block ends."""
    previous = current_bound()
    _current.bound = Bound(deadline, tuple(e for e in stops if e is not None))
    try:
        yield _current.bound
    finally:
        _current.bound = previous


def _slice(timeout: float | None, started: float, left: float | None) -> tuple[float, bool]:
    """How long the next wait may be, and whether it is the last one the caller's own timeout allows."""
    wait = POLL_S
    last = False
    if timeout is not None:
        own = timeout - (time.monotonic() - started)
        if own <= wait:
            wait, last = max(own, 0.001), True
    if left is not None and left < wait:
        wait, last = left, False  # the bound's own check raises on the next turn
    return wait, last


class BoundedStream(httpcore.NetworkStream):
    """A network stream whose reads and writes honour the thread's current Bound."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bound = current_bound()
        if bound is None:
            return self.inner.read(max_bytes, timeout)
        started = time.monotonic()
        while True:
            wait, last = _slice(timeout, started, bound.check("read"))
            try:
                return self.inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                if last:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        bound = current_bound()
        if bound is None:
            self.inner.write(buffer, timeout)
            return
        left = bound.check("write")
        # A partial send cannot be resumed after a timeout: one wait, as long as the bound allows.
        self.inner.write(buffer, timeout if left is None else min(timeout or left, left))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ANN401
    ) -> httpcore.NetworkStream:
        bound = current_bound()
        left = bound.check("read") if bound is not None else None
        if left is not None:
            timeout = min(timeout or left, left)
        return BoundedStream(self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:  # noqa: ANN401
        return self.inner.get_extra_info(info)


def connect_timeout(timeout: float | None) -> float | None:
    """A connect timeout no longer than the current bound allows (checking it first)."""
    bound = current_bound()
    left = bound.check("read") if bound is not None else None
    if left is None:
        return timeout
    return min(timeout or left, left)
