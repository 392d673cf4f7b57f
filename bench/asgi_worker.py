"""Benchmark worker for ASGI apps: ``await app(scope, receive, send)`` in-process.

Started like ``worker.py`` (``python bench/asgi_worker.py APP_FILE [--cpu N]``)
and answering the same commands, for an ASGI app. The worker owns one
asyncio event loop for its whole life. Before the first command it runs the
app's lifespan startup on that loop (as uvicorn's ``--lifespan on`` does, so
an app that fails it fails here too), and the shutdown at EOF.

Each request is a fresh copy of a prepared scope and a fresh
:class:`Exchange`: ``receive`` hands over the whole body in one message, then
waits until the response is complete and reports a disconnect (as a server's
does); ``send`` collects the response. The first response is checked against
the scenario; every timed one must repeat its status and body.

The time reported is the process's CPU time (``time.process_time_ns``), not
the thread's: demijohn runs a ``def`` view in a worker thread of its own, so
the thread that runs the loop sees only part of the work. The same clock is
used for every app.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
import typing as t

from scenarios import Scenario
from worker import Runner, ScenarioFailed, main

Scope = dict[str, t.Any]
Message = t.MutableMapping[str, t.Any]
ASGIApp = t.Callable[..., t.Awaitable[None]]

#: How long the app may take to answer the lifespan startup and shutdown.
LIFESPAN_TIMEOUT = 30.0
#: The addresses the scope claims (nothing listens there: no socket is used).
SERVER = ("127.0.0.1", 8000)
CLIENT = ("127.0.0.1", 50000)
ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


def build_scope(scenario: Scenario, state: dict[str, t.Any]) -> Scope:
    """The HTTP scope a server would build for the scenario's request."""
    headers = [(b"host", f"{SERVER[0]}:{SERVER[1]}".encode())]
    if scenario.content_type:
        headers.append((b"content-type", scenario.content_type.encode("latin-1")))
    if scenario.body:
        headers.append((b"content-length", str(len(scenario.body)).encode()))
    headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in scenario.headers
    ]
    return {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": "1.1",
        "method": scenario.method,
        "scheme": "http",
        "path": scenario.path,
        "raw_path": scenario.path.encode(),
        "query_string": scenario.query_string.encode(),
        "root_path": "",
        "headers": headers,
        "client": CLIENT,
        "server": SERVER,
        "state": state,
    }


class Exchange:
    """One request's ``receive`` and ``send``, and the response they collected."""

    __slots__ = ("body", "body_sent", "chunks", "complete", "headers", "status", "waiter")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.body_sent = False
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = False
        self.waiter: asyncio.Future[None] | None = None

    async def receive(self) -> Message:
        """The body in one message; after it, wait for the response's end: a disconnect."""
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not self.complete:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """Collect the response's start and body messages."""
        kind = message["type"]
        if self.complete:
            raise ScenarioFailed(f"{kind!r} sent after the response was complete")
        if kind == "http.response.start" and self.status is None:
            self.status = message["status"]
            self.headers = list(message.get("headers", ()))
        elif kind == "http.response.body" and self.status is not None:
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
                if self.waiter is not None and not self.waiter.done():
                    self.waiter.set_result(None)
        else:
            raise ScenarioFailed(f"unexpected message {kind!r} (status so far: {self.status})")

    def response(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers (decoded) and body; fails if the response did not finish."""
        if self.status is None or not self.complete:
            raise ScenarioFailed("the app returned before completing its response")
        latin = "latin-1"
        headers = [(name.decode(latin), value.decode(latin)) for name, value in self.headers]
        return self.status, headers, b"".join(self.chunks)


class Prepared:
    """A scenario made ready for one ASGI app: its scope and reference response."""

    def __init__(self, host: Host, scenario: Scenario) -> None:
        self.host = host
        self.scenario = scenario
        self.scope = build_scope(scenario, host.state)
        status, headers, body = host.loop.run_until_complete(self._call_once())
        problems = scenario.problems(status, headers, body)
        if problems:
            raise ScenarioFailed(f"{scenario.name}: " + "; ".join(problems))
        self.status = status
        self.reference_body = body

    def _request_scope(self) -> Scope:
        # Apps may write into the scope and its state (Starlette does), as into
        # the fresh ones a server makes per request.
        scope = self.scope.copy()
        scope["state"] = self.scope["state"].copy()
        return scope

    async def _call_once(self) -> tuple[int, list[tuple[str, str]], bytes]:
        exchange = Exchange(self.scenario.body)
        await self.host.app(self._request_scope(), exchange.receive, exchange.send)
        return exchange.response()

    def run(self, n: int) -> int:
        """Call the app ``n`` times; return the process CPU time spent, in ns.

        Every response must repeat the reference status and body.
        """
        return self.host.loop.run_until_complete(self._run(n))

    async def _run(self, n: int) -> int:
        app = self.host.app
        body = self.scenario.body
        request_scope = self._request_scope
        expected_status = self.status
        expected_body = self.reference_body
        join = b"".join
        gc.collect()
        started = time.process_time_ns()
        for _ in range(n):
            exchange = Exchange(body)
            await app(request_scope(), exchange.receive, exchange.send)
            if (
                not exchange.complete
                or exchange.status != expected_status
                or join(exchange.chunks) != expected_body
            ):
                raise ScenarioFailed(
                    f"{self.scenario.name}: response changed between requests:"
                    f" {exchange.status!r} {join(exchange.chunks)[:200]!r}"
                )
        return time.process_time_ns() - started


class Lifespan:
    """The app's lifespan protocol, driven as a server drives it."""

    def __init__(self, app: ASGIApp, state: dict[str, t.Any]) -> None:
        self.app = app
        self.state = state
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.answers: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: Message) -> None:
        await self.answers.put(message)

    async def _step(self, event: str) -> None:
        assert self.task is not None
        await self.inbox.put({"type": f"lifespan.{event}"})
        answer = asyncio.ensure_future(self.answers.get())
        done, _ = await asyncio.wait(
            {answer, self.task}, timeout=LIFESPAN_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if answer not in done:
            answer.cancel()
            if self.task in done:
                self.task.result()  # the app's exception, if it raised one
                raise ScenarioFailed(f"the app returned from lifespan before {event} completed")
            raise ScenarioFailed(f"lifespan {event} took more than {LIFESPAN_TIMEOUT:.0f}s")
        message = answer.result()
        if message["type"] != f"lifespan.{event}.complete":
            raise ScenarioFailed(f"lifespan {event}: {message}")

    async def startup(self) -> None:
        """Start the lifespan task and wait for ``lifespan.startup.complete``."""
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self._send))
        await self._step("startup")

    async def shutdown(self) -> None:
        """Ask for the shutdown, wait for its completion and for the task to end."""
        await self._step("shutdown")
        assert self.task is not None
        await asyncio.wait_for(self.task, LIFESPAN_TIMEOUT)


class Host:
    """An ASGI app on the worker's event loop, between lifespan startup and shutdown."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.state: dict[str, t.Any] = {}
        self.lifespan = Lifespan(app, self.state)

    def prepare(self, scenario: Scenario) -> Runner:
        """The scenario made ready for this app (the worker's ``setup`` command)."""
        return Prepared(self, scenario)

    def close(self) -> None:
        """Run the lifespan shutdown, then close the loop."""
        try:
            self.loop.run_until_complete(self.lifespan.shutdown())
        finally:
            self.loop.close()


@contextlib.contextmanager
def asgi_session(app: ASGIApp) -> t.Iterator[t.Callable[[Scenario], Runner]]:
    """The worker's opener for ASGI apps (``worker.Opener``): lifespan around the requests."""
    host = Host(app)
    try:
        host.loop.run_until_complete(host.lifespan.startup())
    except BaseException:
        host.loop.close()
        raise
    try:
        yield host.prepare
    finally:
        host.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], asgi_session))
