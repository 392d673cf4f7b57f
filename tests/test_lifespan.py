"""Lifespan hooks (Quart's ``before_serving``, ``while_serving``, ``after_serving``).

In process through the ASGI lifespan protocol (``serving.serve_lifespan`` and
the app itself), the WSGI-style start (``serving.ensure_started``), interpreter
exit and ``fork`` in a subprocess, and real servers: uvicorn (lifespan on and
off) and gunicorn (one start per worker process, with and without ``--preload``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import typing as t
import weakref
from pathlib import Path

import httpx
import pytest
from asgi_support import Lifespan, call_asgi, http_get
from servers import free_port, running_server

from demijohn import Blueprint, Flask, current_app, g, serving
from demijohn.globals import _cv_app

BIN = Path(sys.executable).parent


@pytest.fixture
def app(tmp_path: Path) -> t.Iterator[Flask]:
    app = Flask("lifespan_app", root_path=str(tmp_path))
    yield app
    logger = logging.getLogger("lifespan_app")
    logger.disabled = False
    logger.setLevel(logging.NOTSET)


def entry_point(app: Flask, how: str) -> t.Callable[..., t.Awaitable[None]]:
    if how == "app":
        return app  # type: ignore[return-value]
    return lambda scope, receive, send: serving.serve_lifespan(app, scope, receive, send)


ENTRIES = ["serve_lifespan", "app"]


# -- the lifespan protocol ----------------------------------------------------------


@pytest.mark.parametrize("how", ENTRIES)
def test_hooks_run_in_order_around_serving(app: Flask, how: str) -> None:
    events: list[str] = []

    def note(event: str) -> None:
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        events.append(event)

    @app.before_serving
    def sync_before() -> None:
        note("before sync")

    @app.before_serving
    async def async_before() -> None:
        await asyncio.sleep(0)
        note("before async")

    @app.while_serving
    def sync_while() -> t.Iterator[None]:
        note("while sync up")
        yield
        note("while sync down")

    @app.while_serving
    async def async_while() -> t.AsyncIterator[None]:
        await asyncio.sleep(0)
        note("while async up")
        yield
        await asyncio.sleep(0)
        note("while async down")

    @app.after_serving
    async def async_after() -> None:
        note("after async")

    @app.after_serving
    def sync_after() -> None:
        note("after sync")

    async def serve() -> None:
        lifespan = Lifespan(entry_point(app, how))
        assert await lifespan.ask("startup") == {"type": "lifespan.startup.complete"}
        assert events == ["before sync", "before async", "while sync up", "while async up"]
        # The start's app context is gone: nothing leaks into the server's task.
        assert _cv_app.get(None) is None
        assert await lifespan.ask("shutdown") == {"type": "lifespan.shutdown.complete"}
        await lifespan.ended()

    asyncio.run(serve())
    assert events[4:] == ["while async down", "while sync down", "after async", "after sync"]


@pytest.mark.parametrize("how", ENTRIES)
def test_g_set_before_serving_is_not_seen_by_requests(app: Flask, how: str) -> None:
    @app.before_serving
    def start() -> None:
        g.pool = "connected"
        app.extensions["pool"] = "connected"

    @app.route("/")
    def index() -> dict[str, t.Any]:
        return {"g": sorted(g), "pool": current_app.extensions["pool"]}

    async def serve() -> list[dict[str, t.Any]]:
        lifespan = Lifespan(entry_point(app, how))
        assert (await lifespan.ask("startup"))["type"] == "lifespan.startup.complete"
        sent = await call_asgi(app, http_get("/"), b"")
        await lifespan.ask("shutdown")
        await lifespan.ended()
        return sent

    sent = asyncio.run(serve())
    assert sent[0]["status"] == 200
    assert b'"g":[]' in sent[1]["body"]
    assert b'"pool":"connected"' in sent[1]["body"]


@pytest.mark.parametrize("how", ENTRIES)
def test_startup_failure_reports_the_error_and_logs_its_traceback(
    app: Flask, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    finished: list[str] = []

    @app.while_serving
    def pool() -> t.Iterator[None]:
        yield
        finished.append("pool closed")

    @app.while_serving
    def broken() -> t.Iterator[None]:
        raise RuntimeError("database is unreachable")
        yield

    async def serve() -> dict[str, t.Any]:
        lifespan = Lifespan(entry_point(app, how))
        answer = await lifespan.ask("startup")
        await lifespan.ended()
        return answer

    answer = asyncio.run(serve())
    assert answer == {"type": "lifespan.startup.failed", "message": "database is unreachable"}
    # What started before the failure was stopped again.
    assert finished == ["pool closed"]
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.name == "lifespan_app"
    assert record.getMessage().startswith("Exception in while_serving")
    assert record.getMessage().endswith(".broken'")
    assert str(record.exc_info[1]) == "database is unreachable"  # type: ignore[index]
    assert not app._serving_started


def test_before_serving_failure_stops_the_start(app: Flask) -> None:
    events: list[str] = []

    @app.before_serving
    def broken() -> None:
        raise ValueError("no config")

    @app.before_serving
    def never() -> None:
        events.append("second before_serving")

    @app.while_serving
    def never_started() -> t.Iterator[None]:
        events.append("while_serving")
        yield

    with pytest.raises(ValueError, match="no config"):
        asyncio.run(app.startup())
    assert events == []


def test_after_serving_failure_is_reported_once_every_hook_ran(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    @app.while_serving
    def pool() -> t.Iterator[None]:
        yield
        events.append("pool closed")

    @app.after_serving
    def broken() -> None:
        raise OSError("disk full")

    @app.after_serving
    def flush() -> None:
        events.append("flushed")

    async def serve() -> dict[str, t.Any]:
        lifespan = Lifespan(app)
        await lifespan.ask("startup")
        answer = await lifespan.ask("shutdown")
        await lifespan.ended()
        return answer

    assert asyncio.run(serve()) == {"type": "lifespan.shutdown.failed", "message": "disk full"}
    assert events == ["pool closed", "flushed"]
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.getMessage().startswith("Exception in after_serving function")
    assert record.getMessage().endswith(".broken'")


def test_while_serving_that_yields_twice_fails_the_shutdown(app: Flask) -> None:
    events: list[str] = []

    @app.while_serving
    def greedy() -> t.Iterator[None]:
        try:
            yield
            yield
        finally:
            events.append("closed")

    @app.after_serving
    def after() -> None:
        events.append("after_serving")

    async def serve() -> dict[str, t.Any]:
        lifespan = Lifespan(app)
        await lifespan.ask("startup")
        return await lifespan.ask("shutdown")

    answer = asyncio.run(serve())
    assert answer["type"] == "lifespan.shutdown.failed"
    assert answer["message"].endswith(".greedy' yielded twice.")
    assert events == ["closed", "after_serving"]


def test_async_while_serving_that_yields_twice_is_closed(app: Flask) -> None:
    events: list[str] = []

    @app.while_serving
    async def greedy() -> t.AsyncIterator[None]:
        try:
            yield
            yield
        finally:
            events.append("closed")

    async def serve() -> None:
        # One loop, as a server has: asyncio.run closes the async generators
        # its loop started when it ends.
        await app.startup()
        assert events == []
        with pytest.raises(RuntimeError, match="yielded twice"):
            await app.shutdown()

    asyncio.run(serve())
    assert events == ["closed"]


def test_while_serving_must_yield(app: Flask) -> None:
    @app.while_serving
    def lazy() -> t.Iterator[None]:
        return
        yield

    with pytest.raises(RuntimeError, match=r"\.lazy' did not yield"):
        asyncio.run(app.startup())
    assert not app._serving_started


def test_while_serving_must_be_a_generator_function(app: Flask) -> None:
    @app.while_serving
    def plain() -> None:  # type: ignore[type-var]
        pass

    with pytest.raises(TypeError, match=r"\.plain' must be a generator function"):
        asyncio.run(app.startup())


def test_blueprint_serving_hooks_are_registered_on_the_app(app: Flask) -> None:
    events: list[str] = []
    bp = Blueprint("db", __name__)

    @bp.before_app_serving
    def connect() -> None:
        events.append("connect")

    @bp.while_app_serving
    def pool() -> t.Iterator[None]:
        events.append("pool up")
        yield
        events.append("pool down")

    @bp.after_app_serving
    async def disconnect() -> None:
        events.append("disconnect")

    assert not app.before_serving_funcs
    app.register_blueprint(bp)
    assert app.before_serving_funcs == [connect]
    asyncio.run(app.startup())
    asyncio.run(app.shutdown())
    assert events == ["connect", "pool up", "pool down", "disconnect"]


def test_startup_twice_is_an_error_but_a_stopped_app_starts_again(app: Flask) -> None:
    starts: list[int] = []

    @app.before_serving
    def start() -> None:
        starts.append(1)

    asyncio.run(app.startup())
    with pytest.raises(RuntimeError, match="already serving"):
        asyncio.run(app.startup())
    asyncio.run(app.shutdown())
    asyncio.run(app.startup())
    asyncio.run(app.shutdown())
    assert len(starts) == 2


def test_serving_hooks_are_setup_methods(app: Flask) -> None:
    app.test_client().get("/missing")
    with pytest.raises(AssertionError, match="before_serving"):
        app.before_serving(lambda: None)


# -- the WSGI-style start: before a process's first request ---------------------------


def test_ensure_started_runs_the_start_once(app: Flask) -> None:
    seen: list[tuple[str, bool]] = []

    @app.before_serving
    def start() -> None:
        g.token = "start only"
        seen.append(("before_serving", "token" in g))

    assert not app._serving_started
    serving.ensure_started(app)
    serving.ensure_started(app)
    assert app._serving_started
    assert seen == [("before_serving", True)]
    with app.app_context():
        assert "token" not in g


def test_ensure_started_without_hooks_just_marks_the_app(app: Flask) -> None:
    serving.ensure_started(app)
    assert app._serving_started
    assert app._serving.phase == "serving"


def test_concurrent_first_requests_wait_for_the_one_start(app: Flask) -> None:
    entered = threading.Event()
    release = threading.Event()
    starts: list[int] = []
    finished: list[bool] = []

    @app.before_serving
    def start() -> None:
        starts.append(1)
        entered.set()
        assert release.wait(10)

    def first_request() -> None:
        serving.ensure_started(app)
        # Returned only once the start was over.
        finished.append(release.is_set())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert entered.wait(10)
    assert finished == []
    release.set()
    for thread in threads:
        thread.join(10)
    assert finished == [True] * 8
    assert starts == [1]


def test_a_failed_start_is_retried_by_the_next_request(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    @app.before_serving
    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("not yet")

    with pytest.raises(ConnectionError):
        serving.ensure_started(app)
    assert not app._serving_started
    assert any(r.exc_info and r.getMessage().endswith(".flaky'") for r in caplog.records)
    serving.ensure_started(app)
    assert app._serving_started
    assert len(attempts) == 2


def test_a_hook_calling_ensure_started_does_not_wait_for_itself(app: Flask) -> None:
    @app.before_serving
    def warm_up() -> None:
        # What a warm-up request made from the hook does first.
        serving.ensure_started(app)

    serving.ensure_started(app)
    assert app._serving_started


def test_after_a_lifespan_start_requests_start_nothing(app: Flask) -> None:
    starts: list[int] = []

    @app.before_serving
    def start() -> None:
        starts.append(1)

    asyncio.run(app.startup())
    assert app._serving_started
    serving.ensure_started(app)
    assert starts == [1]
    asyncio.run(app.shutdown())
    # Stopped is not "not started": a late request does not start it again.
    serving.ensure_started(app)
    assert starts == [1]


def serve_and_drop(root: Path, done: threading.Event) -> weakref.ref[Flask]:
    """Serve an app with hooks and tasks through ASGI with lifespan; return a weak reference."""
    app = Flask("dropped", root_path=str(root))

    @app.before_serving
    async def start() -> None:
        app.add_background_task(done.set)

    @app.while_serving
    async def pool() -> t.AsyncIterator[None]:
        yield

    @app.route("/")
    async def index() -> str:
        async def task() -> None:
            await asyncio.sleep(0)

        app.add_background_task(task)
        return "ok"

    async def serve() -> None:
        lifespan = Lifespan(app)
        await lifespan.ask("startup")
        await call_asgi(app, http_get("/"), b"")
        await lifespan.ask("shutdown")
        await lifespan.ended()

    asyncio.run(serve())
    return weakref.ref(app)


def test_an_app_that_served_is_not_kept_alive(tmp_path: Path) -> None:
    # Hooks, tasks and the at-exit registration hold the app weakly: once
    # dropped it is collected (plain cycles of its own aside, hence gc.collect).
    done = threading.Event()
    dropped = serve_and_drop(tmp_path, done)
    assert done.is_set()
    gc.collect()
    assert dropped() is None


SCRIPT_PREAMBLE = """
import os, sys
from demijohn import Flask, serving

app = Flask("script")

@app.before_serving
def start():
    print(f"start {os.getpid()}", flush=True)

@app.while_serving
async def pool():
    yield
    print(f"pool closed {os.getpid()}", flush=True)

@app.after_serving
def stop():
    print(f"stop {os.getpid()}", flush=True)
"""


def run_script(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT_PREAMBLE + textwrap.dedent(body))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[:-1]


def test_a_wsgi_style_start_is_stopped_at_interpreter_exit(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        serving.ensure_started(app)
        print("serving", flush=True)
        """,
    )
    pid = lines[0].split()[1]
    assert lines == [f"start {pid}", "serving", f"pool closed {pid}", f"stop {pid}"]


def test_a_forked_child_starts_and_stops_on_its_own(tmp_path: Path) -> None:
    lines = run_script(
        tmp_path,
        """
        serving.ensure_started(app)
        child = os.fork()
        if child == 0:
            assert not app._serving_started
            serving.ensure_started(app)
            sys.exit(0)
        os.waitpid(child, 0)
        print("child done", flush=True)
        """,
    )
    parent = lines[0].split()[1]
    child = lines[1].split()[1]
    assert child != parent
    assert lines == [
        f"start {parent}",
        f"start {child}",
        f"pool closed {child}",
        f"stop {child}",
        "child done",
        f"pool closed {parent}",
        f"stop {parent}",
    ]


# -- real servers ---------------------------------------------------------------------

SERVER_APP = textwrap.dedent(
    """
    import os

    from demijohn import Flask, g, serving

    app = Flask(__name__)
    EVENTS = os.environ["EVENTS_FILE"]

    def note(event):
        with open(EVENTS, "a") as f:
            f.write(f"{event} {os.getpid()}\\n")

    @app.before_serving
    async def start():
        if os.environ.get("FAIL_START"):
            raise RuntimeError("the database is unreachable")
        g.start_only = True
        note("start")

    @app.while_serving
    def pool():
        note("pool up")
        yield
        note("pool down")

    @app.after_serving
    def stop():
        note("stop")

    @app.route("/")
    def index():
        note("request")
        return {"g_leaked": "start_only" in g, "pid": os.getpid()}

    if os.environ.get("START_IN_MASTER"):
        # A preloaded app that started serving before the workers were forked.
        serving.ensure_started(app)
    """
)


def events_of(path: Path) -> list[tuple[str, int]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [(event, int(pid)) for event, _, pid in (line.rpartition(" ") for line in lines)]


def start_server(
    tmp_path: Path, command: list[str], env: dict[str, str] | None = None
) -> tuple[t.ContextManager[subprocess.Popen[bytes]], str, Path]:
    (tmp_path / "lifeapp.py").write_text(SERVER_APP)
    events = tmp_path / "events.log"
    port = free_port()
    if command[0].endswith("gunicorn"):
        bind = ["--bind", f"127.0.0.1:{port}"]
    else:
        bind = ["--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    server = running_server(
        [*command, *bind],
        probe_url=f"{base}/",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "EVENTS_FILE": str(events), **(env or {})},
    )
    return server, base, events


def stop_with(proc: subprocess.Popen[bytes], signum: int) -> None:
    proc.send_signal(signum)
    code = proc.wait(timeout=20)
    # uvicorn re-raises the signal once it has shut down, so SIGTERM ends it.
    assert code in (0, -signum), code


def server_output(tmp_path: Path) -> str:
    return "".join(log.read_text() for log in tmp_path.glob("server-*.log"))


UVICORN = [sys.executable, "-m", "uvicorn", "lifeapp:app"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_uvicorn_runs_the_hooks_around_serving(tmp_path: Path, signum: int) -> None:
    server, base, events = start_server(tmp_path, UVICORN)
    with server as proc:
        assert httpx.get(f"{base}/", timeout=5).json()["g_leaked"] is False
        stop_with(proc, signum)
    pid = proc.pid
    # The probe's request may come first; the start precedes every request.
    recorded = [event for event, event_pid in events_of(events) if event_pid == pid]
    assert recorded[:2] == ["start", "pool up"]
    assert set(recorded[2:-2]) == {"request"}
    assert recorded[-2:] == ["pool down", "stop"]


def test_uvicorn_exits_when_the_start_fails(tmp_path: Path) -> None:
    (tmp_path / "lifeapp.py").write_text(SERVER_APP)
    events = tmp_path / "events.log"
    done = subprocess.run(
        [*UVICORN, "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(tmp_path),
            "EVENTS_FILE": str(events),
            "FAIL_START": "1",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "the database is unreachable" in done.stderr
    # app.logger's record, with the traceback.
    assert "Traceback" in done.stderr
    assert events_of(events) == []


def test_uvicorn_without_lifespan_starts_at_the_first_request(tmp_path: Path) -> None:
    server, base, events = start_server(tmp_path, [*UVICORN, "--lifespan", "off"])
    with server as proc:
        # running_server's probe was the first request.
        assert events_of(events)[:3] == [
            ("start", proc.pid),
            ("pool up", proc.pid),
            ("request", proc.pid),
        ]
        httpx.get(f"{base}/", timeout=5)
        # At interpreter exit, which SIGINT reaches (uvicorn re-raises SIGTERM
        # after its shutdown, and that signal ends the process before atexit).
        stop_with(proc, signal.SIGINT)
    recorded = [event for event, _ in events_of(events)]
    assert recorded[:2] == ["start", "pool up"]
    assert recorded[-2:] == ["pool down", "stop"]
    assert recorded.count("start") == 1


GUNICORN = [str(BIN / "gunicorn"), "--workers", "2", "lifeapp:app"]


@pytest.mark.parametrize("preload", [False, True], ids=["lazy", "preload"])
def test_gunicorn_starts_each_worker_before_its_first_request(
    tmp_path: Path, preload: bool
) -> None:
    command = [*GUNICORN, "--preload"] if preload else GUNICORN
    env = {"START_IN_MASTER": "1"} if preload else {}
    server, base, events = start_server(tmp_path, command, env)
    with server as proc:
        served = {httpx.get(f"{base}/", timeout=5).json()["pid"] for _ in range(20)}
        stop_with(proc, signal.SIGTERM)
        assert proc.returncode == 0
    master = proc.pid
    assert master not in served
    recorded = events_of(events)
    # The readiness probe was served too, perhaps by a worker none of the
    # twenty requests reached.
    served |= {pid for event, pid in recorded if event == "request"}
    for pid in served:
        mine = [event for event, event_pid in recorded if event_pid == pid]
        assert mine[:2] == ["start", "pool up"], mine
        assert set(mine[2:-2]) == {"request"}, mine
        assert mine[-2:] == ["pool down", "stop"], mine
    started = {pid for event, pid in recorded if event == "start"}
    if preload:
        assert started == served | {master}
        assert [e for e, pid in recorded if pid == master] == [
            "start",
            "pool up",
            "pool down",
            "stop",
        ]
    else:
        # A worker that served nothing never started.
        assert started == served
