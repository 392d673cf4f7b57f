"""Benchmark worker: calls one WSGI app in-process and times it.

Started by ``run.py`` with the python of the venv that holds the framework
(``python bench/worker.py APP_FILE``), it loads ``APP_FILE``'s ``app`` and
answers JSON commands, one per line on stdin, with one JSON line on stdout:

``{"cmd": "setup", "scenario": NAME}``
    Build the scenario's environ, check the first response against the
    scenario's expectations and warm up. Answers ``{"ok": true}``, or
    ``{"ok": false, "na": true}`` when the app lists the scenario in its
    ``UNSUPPORTED`` set.
``{"cmd": "run", "scenario": NAME, "n": N}``
    Call the app N times; answers ``{"ok": true, "ns": THREAD_CPU_NS}``.

Any failure answers ``{"ok": false, "error": "..."}``. Standard library only,
besides Werkzeug (present in every framework venv) for the environ.

``asgi_worker.py`` answers the same commands for an ASGI app: :func:`serve`
takes how to open the app (:data:`Opener`), and this module's is
:func:`wsgi_session`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import sys
import time
import traceback
import typing as t
from pathlib import Path

from scenarios import BY_NAME, Scenario
from werkzeug.test import EnvironBuilder

WARMUP_REQUESTS = 50

#: The distributions whose versions the worker reports (those installed).
FRAMEWORK_PACKAGES = ("demijohn", "flask", "asgiref", "bottle", "falcon", "starlette", "quart")

StartResponse = t.Callable[..., t.Callable[[bytes], object]]
WSGIApp = t.Callable[[dict[str, t.Any], StartResponse], t.Iterable[bytes]]


class Runner(t.Protocol):
    """A scenario made ready for one app (:class:`Prepared` for WSGI)."""

    def run(self, n: int) -> int:
        """Call the app ``n`` times, checking every response; return the CPU ns spent."""
        ...


#: Given the loaded app, a context in which scenarios are prepared for it.
Opener = t.Callable[[t.Any], t.ContextManager[t.Callable[[Scenario], Runner]]]


class ScenarioFailed(Exception):
    """A response did not match what the scenario expects."""


def load_app(path: Path) -> tuple[WSGIApp, frozenset[str]]:
    """Import the app file as a module; return its ``app`` and ``UNSUPPORTED``."""
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered first, so the app finds its module (root path) like a real import.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.app, frozenset(getattr(module, "UNSUPPORTED", ()))


def _write(data: bytes) -> None:
    raise ScenarioFailed("the app used the legacy write() callable")


class Prepared:
    """A scenario made ready for one app: environ template and reference response."""

    def __init__(self, app: WSGIApp, scenario: Scenario) -> None:
        self.app = app
        self.scenario = scenario
        builder = EnvironBuilder(
            path=scenario.path,
            method=scenario.method,
            query_string=scenario.query_string or None,
            headers=list(scenario.headers),
            data=scenario.body or None,
            content_type=scenario.content_type,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        # The input stream is replaced per request; everything else is shared.
        environ.pop("wsgi.input", None)
        self.environ: dict[str, t.Any] = environ
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        status, headers, body = self._call_once()
        self._check_reference(status, headers, body)
        self.status_line = status
        self.reference_body = body

    def _start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: t.Any = None,
    ) -> t.Callable[[bytes], None]:
        self._status = status
        self._headers = headers
        return _write

    def _call_once(self) -> tuple[str, list[tuple[str, str]], bytes]:
        environ = self.environ.copy()
        environ["wsgi.input"] = io.BytesIO(self.scenario.body)
        self._status = None
        iterable = self.app(environ, self._start_response)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        if self._status is None:
            raise ScenarioFailed("the app never called start_response")
        return self._status, self._headers, body

    def _check_reference(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        problems = self.scenario.problems(int(status.split(" ", 1)[0]), headers, body)
        if problems:
            raise ScenarioFailed(f"{self.scenario.name}: " + "; ".join(problems))

    def run(self, n: int) -> int:
        """Call the app ``n`` times; return the thread CPU time spent, in ns.

        Every response must repeat the reference status line and body.
        """
        app = self.app
        base = self.environ
        body = self.scenario.body
        start_response = self._start_response
        expected_status = self.status_line
        expected_body = self.reference_body
        bytes_io = io.BytesIO
        join = b"".join
        gc.collect()
        started = time.thread_time_ns()
        for _ in range(n):
            environ = base.copy()
            environ["wsgi.input"] = bytes_io(body)
            iterable = app(environ, start_response)
            try:
                data = join(iterable)
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
            if data != expected_body or self._status != expected_status:
                raise ScenarioFailed(
                    f"{self.scenario.name}: response changed between requests:"
                    f" {self._status!r} {data[:200]!r}"
                )
        return time.thread_time_ns() - started


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def wsgi_session(app: WSGIApp) -> t.ContextManager[t.Callable[[Scenario], Runner]]:
    """The :data:`Opener` of WSGI apps: nothing to start or stop around the requests."""
    return contextlib.nullcontext(functools.partial(Prepared, app))


def _reply(out: t.TextIO, message: dict[str, t.Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(app_file: Path, out: t.TextIO, open_app: Opener = wsgi_session) -> None:
    """Load and open the app, then answer commands from stdin until EOF."""
    reply = functools.partial(_reply, out)
    with contextlib.ExitStack() as stack:
        try:
            app, unsupported = load_app(app_file)
            prepare = stack.enter_context(open_app(app))
        except BaseException:
            reply({"ok": False, "error": traceback.format_exc()})
            return
        reply(
            {
                "ok": True,
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "versions": {
                    name: _version(name) for name in (*FRAMEWORK_PACKAGES, "werkzeug", "jinja2")
                },
            }
        )
        _answer(reply, prepare, unsupported)


def _answer(
    reply: t.Callable[[dict[str, t.Any]], None],
    prepare: t.Callable[[Scenario], Runner],
    unsupported: frozenset[str],
) -> None:
    prepared: dict[str, Runner] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            name = command["scenario"]
            if command["cmd"] == "setup":
                if name in unsupported:
                    reply({"ok": False, "na": True})
                    continue
                scenario = prepared[name] = prepare(BY_NAME[name])
                scenario.run(WARMUP_REQUESTS)
                reply({"ok": True})
            elif command["cmd"] == "run":
                reply({"ok": True, "ns": prepared[name].run(int(command["n"]))})
            else:
                reply({"ok": False, "error": f"unknown command {command['cmd']!r}"})
        except Exception:
            reply({"ok": False, "error": traceback.format_exc()})


def main(argv: list[str], open_app: Opener = wsgi_session) -> int:
    """Entry point: ``worker.py APP_FILE [--cpu N]``."""
    if "--cpu" in argv:
        index = argv.index("--cpu")
        # One fixed core for every worker: no migrations mid-batch, same cache.
        os.sched_setaffinity(0, {int(argv[index + 1])})
        del argv[index : index + 2]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    # Protocol messages own the real stdout; anything the app prints goes to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    serve(Path(argv[0]).resolve(), out, open_app)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
