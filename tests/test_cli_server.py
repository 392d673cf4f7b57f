"""``demijohn run`` end to end: a real development server in a subprocess.

Werkzeug's server by default; uvicorn through the ASGI door with ``--asgi``
or when the app has WebSocket routes (and the option handling of that path
in-process, with ``uvicorn.run`` replaced).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import shutil
import ssl
import sys
import time
import types
import typing as t
from pathlib import Path

import httpx
import pytest
import uvicorn
from asgi_support import call_asgi, scope_from_environ
from click.testing import CliRunner
from servers import free_port, running_server
from werkzeug.debug import DebuggedApplication
from werkzeug.test import EnvironBuilder

from demijohn import Flask, cli
from demijohn.cli import FlaskGroup

CLI_APPS = Path(__file__).parent / "cli_apps"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")

# Which door served the request: the ASGI door leaves the scope in the environ.
DOOR_ROUTE = """

from flask import request

@app.route("/door")
def door():
    return "asgi" if "asgi.scope" in request.environ else "wsgi"
"""

# A WebSocket route, and a lifespan hook whose work a page shows.
WEBSOCKET_ECHO = """

from flask import websocket

served = []

@app.before_serving
def start():
    served.append("started")

@app.route("/served")
def show_served():
    return ",".join(served)

@app.websocket("/ws")
async def echo():
    while True:
        await websocket.send(await websocket.receive())
"""


def _serve(tmp_path: Path, *options: str, extra: str = "") -> tuple[list[str], str]:
    # A copy, so that the test may edit it.
    source = (CLI_APPS / "errors.py").read_text() + DOOR_ROUTE + extra
    (tmp_path / "app.py").write_text(source)
    port = free_port()
    command = [DEMIJOHN, "--app", "app", "run", "--port", str(port), *options]
    return command, f"http://127.0.0.1:{port}"


def _log(folder: Path) -> str:
    return next(folder.glob("server-*.log")).read_text()


def test_run_serves_and_hides_errors_without_debug(tmp_path: Path) -> None:
    command, base = _serve(tmp_path)
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "version 1"
        assert httpx.get(f"{base}/door", timeout=5).text == "wsgi"
        error = httpx.get(f"{base}/boom", timeout=5)
        assert error.status_code == 500
        assert "Internal Server Error" in error.text
        assert "kaboom" not in error.text and "Traceback" not in error.text
    log = _log(tmp_path)
    assert " * Serving Flask app 'app'" in log
    assert " * Debug mode: off" in log
    assert "This is a development server" in log
    assert "Debugger PIN" not in log
    # The traceback goes to the terminal, not to the browser.
    assert "RuntimeError: kaboom in the view" in log


def _edit(folder: Path, old: str, new: str) -> None:
    # The reloaders poll: an edit made too soon after a (re)start is not seen.
    time.sleep(1.1)
    source = (folder / "app.py").read_text()
    (folder / "app.py").write_text(source.replace(old, new))


def _wait_for(url: str, expected: t.Callable[[httpx.Response], bool]) -> httpx.Response | None:
    """GET ``url`` until the response is as ``expected`` (the server is reloading)."""
    deadline = time.monotonic() + 20
    response = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):  # restarting
            response = httpx.get(url, timeout=2)
            if expected(response):
                break
        time.sleep(0.2)
    return response


def _shows_the_debugger_and_reloads(folder: Path, base: str) -> None:
    page = httpx.get(f"{base}/boom", timeout=5)
    assert page.status_code == 500
    assert "kaboom in the view" in page.text
    assert "Werkzeug Debugger" in page.text  # the interactive debugger page

    _edit(folder, "version 1", "version 2")
    page = _wait_for(base, lambda response: response.text == "version 2")
    assert page is not None and page.text == "version 2"


def test_debug_mode_reloads_and_shows_the_debugger(tmp_path: Path) -> None:
    command, base = _serve(tmp_path, "--debug")
    with running_server(command, probe_url=base, cwd=tmp_path):
        _shows_the_debugger_and_reloads(tmp_path, base)
    log = _log(tmp_path)
    assert " * Debug mode: on" in log
    assert re.search(r"Debugger PIN: \d{3}-\d{3}-\d{3}", log)
    assert "Restarting with stat" in log


def test_python_dash_m_demijohn_serves_a_package_factory(tmp_path: Path) -> None:
    # A package path with a factory call string, from another folder.
    port = free_port()
    app_ref = f"{CLI_APPS / 'factory_pkg'}:create_app('served')"
    command = [sys.executable, "-m", "demijohn", "--app", app_ref, "run", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running_server(command, probe_url=base, cwd=tmp_path):
        # The factory's app has no routes: the server answers 404.
        assert httpx.get(base, timeout=5).status_code == 404
    assert f" * Serving Flask app '{app_ref}'" in _log(tmp_path)


def test_flask_run_environment_variables(tmp_path: Path) -> None:
    # Everything from the environment: the app, the port, debug mode.
    shutil.copy(CLI_APPS / "errors.py", tmp_path / "mysite.py")
    port = free_port()
    env = {"FLASK_APP": "mysite", "FLASK_RUN_PORT": str(port), "FLASK_DEBUG": "1"}
    base = f"http://127.0.0.1:{port}"
    with running_server([DEMIJOHN, "run", "--no-reload"], probe_url=base, cwd=tmp_path, env=env):
        assert "Werkzeug Debugger" in httpx.get(f"{base}/boom", timeout=5).text
    log = _log(tmp_path)
    assert " * Debug mode: on" in log and "Restarting with stat" not in log


# -- uvicorn: --asgi, or WebSocket routes ---------------------------------------


def test_run_asgi_serves_through_uvicorn(tmp_path: Path) -> None:
    command, base = _serve(tmp_path, "--asgi")
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "version 1"
        assert httpx.get(f"{base}/door", timeout=5).text == "asgi"
        error = httpx.get(f"{base}/boom", timeout=5)
        assert error.status_code == 500
        assert "kaboom" not in error.text and "Traceback" not in error.text
    log = _log(tmp_path)
    assert " * Serving ASGI with uvicorn (--asgi)" in log
    assert f"Uvicorn running on {base}" in log
    assert " * Debug mode: off" in log
    assert "Debugger PIN" not in log and "reloader" not in log
    assert "RuntimeError: kaboom in the view" in log


def test_an_app_with_websocket_routes_is_served_through_uvicorn(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect

    command, base = _serve(tmp_path, extra=WEBSOCKET_ECHO)

    async def echoed() -> list[str | bytes]:
        async with asyncio.timeout(10), connect(f"{base.replace('http', 'ws')}/ws") as ws:
            await ws.send("ping")
            await ws.send(b"pong")
            return [await ws.recv(), await ws.recv()]

    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(f"{base}/door", timeout=5).text == "asgi"
        assert asyncio.run(echoed()) == ["ping", b"pong"]
        # uvicorn ran the lifespan protocol, and so the app's hooks.
        assert httpx.get(f"{base}/served", timeout=5).text == "started"
    assert " * Serving ASGI with uvicorn (WebSocket route /ws)" in _log(tmp_path)


def test_run_asgi_debug_mode_reloads_and_shows_the_debugger(tmp_path: Path) -> None:
    # uvicorn's reloader imports the app again in each process it starts.
    command, base = _serve(tmp_path, "--asgi", "--debug")
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(f"{base}/door", timeout=5).text == "asgi"
        _shows_the_debugger_and_reloads(tmp_path, base)

        # A file that no longer imports: every request shows the error, in the
        # debugger, until the next edit fixes it.
        _edit(tmp_path, '"version 2"', '"version 3"\n(')
        page = _wait_for(base, lambda response: response.status_code == 500)
        assert page is not None and page.status_code == 500
        assert "SyntaxError" in page.text and "Werkzeug Debugger" in page.text
        _edit(tmp_path, '"version 3"\n(', '"version 3"')
        page = _wait_for(base, lambda response: response.text == "version 3")
        assert page is not None and page.text == "version 3"
    log = _log(tmp_path)
    assert " * Debug mode: on" in log
    assert "Started reloader process" in log
    # Printed by each process the reloader started, the broken one included.
    started = log.count("Started server process")
    assert started >= 4
    assert len(re.findall(r"Debugger PIN: \d{3}-\d{3}-\d{3}", log)) == started


# In-process: what ``run`` hands uvicorn, with ``uvicorn.run`` recording it.


#: The calls made to the replaced ``uvicorn.run``: ``(app, options)``.
UvicornCalls = list[tuple[t.Any, dict[str, t.Any]]]


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> UvicornCalls:
    calls: UvicornCalls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    # What run sets for the reloader's processes is undone after the test.
    monkeypatch.setenv(cli._DEBUGGER_ENV, "")
    monkeypatch.delenv(cli._DEBUGGER_ENV)
    return calls


def _page_app() -> Flask:
    app = Flask("page_app")

    @app.route("/")
    def index() -> str:
        return "page"

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom in process")

    return app


def _invoke(args: list[str], create_app: t.Callable[[], Flask] | None = None) -> t.Any:
    group = FlaskGroup(name="demijohn", create_app=create_app)
    return CliRunner().invoke(group, args)


def _get(asgi: t.Any, path: str) -> tuple[int, str]:
    """``GET path`` through an ASGI app, in-process: status and body."""
    scope = scope_from_environ(EnvironBuilder(path=path).get_environ())
    messages = asyncio.run(call_asgi(asgi, scope, b""))
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return messages[0]["status"], body.decode()


def test_run_asgi_hands_uvicorn_the_options(tmp_path: Path, uvicorn_calls: UvicornCalls) -> None:
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    args = ["run", "--asgi", "--host", "127.0.0.2", "--port", "8123"]
    args += ["--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem")]
    result = _invoke(args, create_app=_page_app)
    assert result.exit_code == 0, result.output
    [(asgi, options)] = uvicorn_calls
    assert options == {
        "host": "127.0.0.2",
        "port": 8123,
        "log_level": "info",
        "ssl_certfile": str(tmp_path / "cert.pem"),
        "ssl_keyfile": str(tmp_path / "key.pem"),
        "lifespan": "on",
    }
    # A coroutine function, which uvicorn takes for ASGI 3, serving the app.
    assert inspect.iscoroutinefunction(asgi)
    assert _get(asgi, "/") == (200, "page")
    status, body = _get(asgi, "/boom")
    assert status == 500 and "kaboom" not in body


def test_run_asgi_debug_without_an_importable_app_serves_with_the_debugger(
    uvicorn_calls: UvicornCalls,
) -> None:
    # A create_app function cannot be imported again by a reloaded process.
    app = _page_app()
    result = _invoke(["run", "--asgi", "--debug"], create_app=lambda: app)
    assert result.exit_code == 0, result.output
    assert "The reloader needs an app uvicorn can import again" in result.output
    assert re.search(r" \* Debugger PIN: \d{3}-\d{3}-\d{3}", result.output)
    [(asgi, options)] = uvicorn_calls
    assert options["log_level"] == "debug" and "reload" not in options
    assert app.debug
    status, body = _get(asgi, "/boom")
    assert status == 500
    assert "Werkzeug Debugger" in body and "kaboom in process" in body


@pytest.mark.parametrize(
    ("flags", "debugger"), [(["--debug"], "1"), (["--debug", "--no-debugger"], "0")]
)
def test_run_asgi_reload_hands_uvicorn_an_import_string(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uvicorn_calls: UvicornCalls,
    flags: list[str],
    debugger: str,
) -> None:
    module = types.ModuleType("reloaded_app")
    module.app = _page_app()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "reloaded_app", module)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # --app puts the folder first
    result = _invoke(["--app", "reloaded_app", "run", "--asgi", *flags])
    assert result.exit_code == 0, result.output
    [(target, options)] = uvicorn_calls
    assert target == "demijohn.cli:_reloaded_asgi_app"
    assert options["factory"] is True and options["reload"] is True
    assert str(tmp_path) in options["reload_dirs"]
    # The reloaded process finds the app and the debugger setting in its environment.
    assert os.environ["FLASK_APP"] == "reloaded_app"
    assert os.environ[cli._DEBUGGER_ENV] == debugger
    asgi = cli._reloaded_asgi_app()
    assert isinstance(module.app.wsgi_app, DebuggedApplication) == (debugger == "1")
    assert _get(asgi, "/") == (200, "page")


def test_run_asgi_refuses_certificates_uvicorn_cannot_take(
    monkeypatch: pytest.MonkeyPatch, uvicorn_calls: UvicornCalls
) -> None:
    module = types.ModuleType("certificates")
    module.context = ssl.create_default_context()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "certificates", module)
    result = _invoke(["run", "--asgi", "--cert", "certificates.context"], create_app=_page_app)
    assert result.exit_code == 2
    assert "With uvicorn, use a certificate file and '--key'" in result.output
    assert uvicorn_calls == []


@pytest.mark.parametrize(
    ("args", "websocket_route", "reason"),
    [
        (["run", "--asgi"], False, "--asgi"),
        (["run"], True, "WebSocket route /ws"),
    ],
)
def test_serving_asgi_without_uvicorn_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, args: list[str], websocket_route: bool, reason: str
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # "import uvicorn" fails
    app = _page_app()
    if websocket_route:

        @app.websocket("/ws")
        async def echo() -> None:
            pass

    result = _invoke(args, create_app=lambda: app)
    assert result.exit_code == 1
    assert f"Error: Serving ASGI ({reason}) needs uvicorn: pip install 'demijohn[asgi]'" in (
        result.output
    )
