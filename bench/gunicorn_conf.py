"""gunicorn settings for the HTTP mode: the same for every framework.

``bench/overhttp.py`` starts ``gunicorn --config bench/gunicorn_conf.py
--bind 127.0.0.1:PORT MODULE:app`` with each framework's venv. When a worker
has imported its app it writes a JSON file into ``$BENCH_READY_DIR`` (its pid
and the app's ``UNSUPPORTED`` scenarios), which is how the script knows every
worker is ready before it sends the first request.

Each worker also times the framework itself: its app is wrapped in
:class:`AppTimer`, which adds up the thread CPU time spent in the WSGI call,
the iteration of the response and its ``close()``, and the number of
requests, in a 16-byte file ``<pid>.timer`` beside the ready file (two
native-endian unsigned 64-bit integers, kept current by ``mmap``). The script
reads them around a measured run: that is the framework's CPU per request
without gunicorn's own work, the part of the server's total that moves the
most from run to run.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
import time
import typing as t

workers = 2
worker_class = "sync"
# No access log: writing it would be measured as the framework's cost.
accesslog = None
errorlog = "-"
loglevel = "warning"
timeout = 30
graceful_timeout = 5
# Several servers run at once; the control socket's default path is shared.
control_socket_disable = True


def post_worker_init(worker: t.Any) -> None:
    """Announce that this worker has loaded the app (see the module docstring)."""
    ready_dir = os.environ.get("BENCH_READY_DIR")
    if not ready_dir:
        return
    worker.wsgi = AppTimer(worker.wsgi, os.path.join(ready_dir, f"{os.getpid()}.timer"))
    module = sys.modules.get(str(worker.app.app_uri).partition(":")[0])
    info = {"pid": os.getpid(), "unsupported": sorted(getattr(module, "UNSUPPORTED", ()))}
    path = os.path.join(ready_dir, f"{os.getpid()}.json")
    with open(path + ".tmp", "w") as file:
        json.dump(info, file)
    os.replace(path + ".tmp", path)


#: The ``.timer`` file's layout: CPU nanoseconds in the app, requests.
TIMER_FORMAT = "=QQ"


class AppTimer:
    """A WSGI app that counts the thread CPU time its wrapped app takes, per request."""

    def __init__(self, app: t.Any, path: str) -> None:
        self.app = app
        with open(path, "wb") as file:
            file.write(bytes(struct.calcsize(TIMER_FORMAT)))
        with open(path, "r+b") as file:
            self.counters = mmap.mmap(file.fileno(), 0)
        self.nanoseconds = 0
        self.requests = 0

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> TimedBody:
        """Call the app now; its body is timed as gunicorn iterates and closes it."""
        started = time.thread_time_ns()
        try:
            iterable = self.app(environ, start_response)
        finally:
            spent = time.thread_time_ns() - started
        return TimedBody(self, iterable, spent)

    def record(self, nanoseconds: int) -> None:
        """Add one finished request."""
        self.nanoseconds += nanoseconds
        self.requests += 1
        struct.pack_into(TIMER_FORMAT, self.counters, 0, self.nanoseconds, self.requests)


class TimedBody:
    """A response body whose iteration and ``close()`` are added to the request's time."""

    def __init__(self, timer: AppTimer, iterable: t.Iterable[bytes], spent: int) -> None:
        self.timer = timer
        self.iterable = iterable
        self.iterator: t.Iterator[bytes] | None = None
        self.spent = spent

    def __iter__(self) -> TimedBody:
        return self

    def __next__(self) -> bytes:
        started = time.thread_time_ns()
        try:
            if self.iterator is None:
                self.iterator = iter(self.iterable)
            return next(self.iterator)
        finally:
            self.spent += time.thread_time_ns() - started

    def close(self) -> None:
        """Close the app's body (gunicorn calls this once) and record the request."""
        close = getattr(self.iterable, "close", None)
        started = time.thread_time_ns()
        try:
            if close is not None:
                close()
        finally:
            self.timer.record(self.spent + time.thread_time_ns() - started)
