"""``demijohn.serve``: one entry point for every server, and the demo's ``asgi.py``.

Each server is started as the README documents, pointed at
``demijohn.serve:app`` (ASGI) or ``demijohn.serve:wsgi``, with a project
written against ``flask`` that is found through ``FLASK_APP``. The app
reports which door served the request (the ASGI door leaves ``asgi.scope`` in
the environ), so a server that silently fell back to WSGI fails here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server
from taskboard_server import EXAMPLE

from demijohn import serve

BIN = Path(sys.executable).parent

PROJECT = textwrap.dedent(
    """
    from flask import Flask, request

    CALLS = []

    def create_app(greeting="hello"):
        CALLS.append(greeting)
        app = Flask(__name__)

        @app.route("/")
        def index():
            door = "asgi" if "asgi.scope" in request.environ else "wsgi"
            return f"{greeting} from {app.name} through {door}"

        return app
    """
)

#: A module that imports demijohn itself: servers may load it directly.
DIRECT = PROJECT.replace("from flask import", "from demijohn import")

#: Each server as the README starts it, before the bind options and the app.
SERVERS = {
    "uvicorn": [sys.executable, "-m", "uvicorn"],
    "hypercorn": [str(BIN / "hypercorn")],
    "granian": [str(BIN / "granian"), "--interface", "asgi"],
    "gunicorn": [str(BIN / "gunicorn")],
    "waitress": [str(BIN / "waitress-serve")],
}


def _command(server: str, port: int, *app: str) -> list[str]:
    if server in ("gunicorn", "hypercorn"):
        bind = ["--bind", f"127.0.0.1:{port}"]
    elif server == "waitress":
        bind = [f"--listen=127.0.0.1:{port}"]
    else:
        bind = ["--host", "127.0.0.1", "--port", str(port)]
    return [*SERVERS[server], *bind, *app]


def _serves(command: list[str], port: int, folder: Path, env: dict[str, str]) -> str:
    """Start ``command``, get ``/`` from it, stop it."""
    base = f"http://127.0.0.1:{port}"
    with running_server(command, probe_url=base, cwd=folder, env=env):
        return httpx.get(base, timeout=5).text


@pytest.mark.parametrize(
    ("server", "entry", "through"),
    [
        ("uvicorn", "demijohn.serve:app", "asgi"),
        ("hypercorn", "demijohn.serve:app", "asgi"),
        ("granian", "demijohn.serve:app", "asgi"),
        ("gunicorn", "demijohn.serve:wsgi", "wsgi"),
        ("waitress", "demijohn.serve:wsgi", "wsgi"),
    ],
)
def test_every_server_serves_a_flask_factory_through_demijohn_serve(
    server: str, entry: str, through: str, tmp_path: Path
) -> None:
    (tmp_path / "project.py").write_text(PROJECT)
    port = free_port()
    env = {"FLASK_APP": "project:create_app('hi')", "PYTHONPATH": str(tmp_path)}
    text = _serves(_command(server, port, entry), port, tmp_path, env)
    assert text == f"hi from project through {through}"


@pytest.mark.parametrize(
    ("server", "app", "through"),
    [
        ("uvicorn", ["--factory", "direct:create_app"], "asgi"),
        ("granian", ["--factory", "direct:create_app"], "asgi"),
        ("gunicorn", ["direct:create_app()"], "wsgi"),
    ],
)
def test_a_factory_in_a_module_importing_demijohn_is_served_directly(
    server: str, app: list[str], through: str, tmp_path: Path
) -> None:
    (tmp_path / "direct.py").write_text(DIRECT)
    port = free_port()
    text = _serves(_command(server, port, *app), port, tmp_path, {"PYTHONPATH": str(tmp_path)})
    assert text == f"hello from direct through {through}"


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "granian"])
def test_an_app_that_cannot_load_stops_the_asgi_server(server: str, tmp_path: Path) -> None:
    # Not a server answering every request with an error: it exits at startup
    # (with status 0 for hypercorn), showing why; one still serving times out.
    result = subprocess.run(
        _command(server, free_port(), "demijohn.serve:app"),
        cwd=tmp_path,
        env={**os.environ, "FLASK_APP": "missing_module"},
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert "Could not import 'missing_module'." in result.stdout + result.stderr


def _python(folder: Path, script: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in a fresh interpreter in ``folder``; its output."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder), **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_loads_nothing_and_the_app_is_loaded_once(tmp_path: Path) -> None:
    (tmp_path / "project.py").write_text(PROJECT)
    output = _python(
        tmp_path,
        """
        import sys
        import demijohn.serve as serve

        print("flask" in sys.modules, "project" in sys.modules)
        wsgi = serve.wsgi
        print(type(wsgi).__name__, wsgi.name, "flask" in sys.modules)
        print(serve.wsgi is wsgi is serve.load_app(), sys.modules["project"].CALLS)
        """,
        env={"FLASK_APP": "project:create_app()"},
    )
    assert output.splitlines() == [
        "False False",
        "Flask project True",
        "True ['hello']",
    ]


@pytest.mark.parametrize(
    ("files", "greeting"),
    [
        # .flaskenv names the app; .env overrides it.
        ({".flaskenv": "FLASK_APP=project:create_app('dotenv')\n"}, "dotenv"),
        (
            {
                ".flaskenv": "FLASK_APP=project:create_app('flaskenv')\n",
                ".env": "FLASK_APP=project:create_app('env')\n",
            },
            "env",
        ),
        # Without FLASK_APP: wsgi.py, as the command finds it.
        (
            {"wsgi.py": "from project import create_app\napplication = create_app('wsgi')\n"},
            "wsgi",
        ),
    ],
)
def test_the_app_is_found_as_the_command_finds_it(
    tmp_path: Path, files: dict[str, str], greeting: str
) -> None:
    (tmp_path / "project.py").write_text(PROJECT)
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    script = """
        from demijohn.serve import load_app
        print(load_app().test_client().get("/").text)
    """
    assert _python(tmp_path, script) == f"{greeting} from project through wsgi\n"


Message = t.MutableMapping[str, t.Any]


def _lifespan(app: t.Callable[..., t.Awaitable[None]]) -> list[Message]:
    """Run the lifespan startup against ``app``; the messages it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    return sent


def test_a_failed_load_is_reported_as_a_failed_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> t.NoReturn:
        raise RuntimeError("the factory is broken")

    monkeypatch.setattr(serve, "_loaded", None)
    monkeypatch.setattr(serve, "_find_app", broken)
    [message] = _lifespan(serve.app)
    assert message["type"] == "lifespan.startup.failed"
    assert "RuntimeError: the factory is broken" in message["message"]
    # A request is not answered by a half-loaded app either.
    with pytest.raises(RuntimeError, match="the factory is broken"):
        serve.load_app()


def test_uvicorn_takes_the_app_object_for_asgi3(tmp_path: Path) -> None:
    # uvicorn imports asyncio before the app: the app's __call__ then reads as
    # a coroutine function, so no ASGI 2 wrapper is added per request. Its
    # WSGI side is unchanged.
    (tmp_path / "plain.py").write_text(
        "import demijohn\n"
        "app = demijohn.Flask(__name__)\n"
        "app.add_url_rule('/', 'i', lambda: 'hi')\n"
    )
    output = _python(
        tmp_path,
        """
        import sys
        import uvicorn
        from werkzeug.test import Client

        config = uvicorn.Config("plain:app")
        config.load()
        from plain import app

        print(config.interface, Client(app).get("/").text)
        """,
    )
    assert output.split() == ["asgi3", "hi"]


def test_a_wsgi_process_does_not_load_asyncio_for_the_marker(tmp_path: Path) -> None:
    output = _python(
        tmp_path,
        """
        import sys
        import demijohn
        from werkzeug.test import Client

        app = demijohn.Flask("w")
        app.add_url_rule("/", "i", lambda: "hi")
        print(Client(app).get("/").text, "asyncio" in sys.modules)
        """,
    )
    assert output.split() == ["hi", "False"]


def test_the_demo_asgi_entry_is_asgi3_for_every_server(tmp_path: Path) -> None:
    # Each server's own loader decides: a Flask object would be WSGI to
    # hypercorn, a bound method ASGI 2 to uvicorn.
    output = _python(
        tmp_path,
        """
        import uvicorn
        from hypercorn.utils import load_application

        config = uvicorn.Config("asgi:app")
        config.load()
        print(config.interface, type(load_application("asgi:app", 0)).__name__)
        """,
        env={"PYTHONPATH": str(EXAMPLE), "TASKBOARD_INSTANCE_PATH": str(tmp_path / "instance")},
    )
    assert output.splitlines()[-1] == "asgi3 ASGIWrapper"


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "granian"])
def test_the_demo_runs_from_its_asgi_entry(server: str, tmp_path: Path) -> None:
    port = free_port()
    _check_the_demo(_command(server, port, "asgi:app"), port, tmp_path)


@pytest.mark.parametrize("options", [["--debug"], ["--asgi", "--debug"]])
def test_the_demo_runs_under_demijohn_run(options: list[str], tmp_path: Path) -> None:
    port = free_port()
    command = [str(BIN / "demijohn"), "--app", "taskboard", "run", *options, "--port", str(port)]
    _check_the_demo(command, port, tmp_path)


def _check_the_demo(command: list[str], port: int, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{port}"
    # PYTHONPATH stands for running from examples/taskboard/, which stays clean.
    env = {"PYTHONPATH": str(EXAMPLE), "TASKBOARD_INSTANCE_PATH": str(tmp_path / "instance")}
    with running_server(command, probe_url=f"{base}/static/logo.svg", cwd=tmp_path, env=env):
        page = httpx.get(f"{base}/auth/login", timeout=5)
        assert page.status_code == 200
        assert 'name="csrf_token"' in page.text
