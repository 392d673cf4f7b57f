"""Security behaviours: file serving, header injection, session cookies, the debugger.

One app (``SECURITY_APP``) is served by the development server (``demijohn
run``), gunicorn and uvicorn on 127.0.0.1, one of each for the whole module,
and driven through both doors of the test client. Requests that a client
library would normalise (``..`` in a path, raw backslashes) go through raw
sockets; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import time
import typing as t
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import uvicorn
from asgi_support import through
from click.testing import CliRunner
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from servers import free_port, running_server
from werkzeug.exceptions import NotFound

import demijohn
from demijohn import Flask, Response, redirect, send_from_directory, session
from demijohn.cli import FlaskGroup
from demijohn.sessions import session_json_serializer

#: What no response may ever contain: the secret file, or an error's detail.
SECRET = "TOP-SECRET-FILE-CONTENT-7731"
DETAIL = "internal detail 5f0e"
IO_TIMEOUT = 10.0
BIN = Path(sys.executable).parent

SECURITY_APP = textwrap.dedent(
    f"""
    import os

    from demijohn import Blueprint, Flask, abort, redirect, request, send_from_directory

    app = Flask(__name__)
    HERE = os.path.dirname(os.path.abspath(__file__))

    shop = Blueprint("shop", __name__, static_folder="shop_static", static_url_path="/shop-static")
    app.register_blueprint(shop)

    @app.get("/files/<path:name>")
    def files(name):
        return send_from_directory(os.path.join(HERE, "files"), name)

    @app.get("/go")
    def go():
        return redirect(request.args["to"])

    @app.get("/header")
    def header():
        return "ok", {{"X-Echo": request.args["value"]}}

    @app.get("/status")
    def status():
        return "ok", request.args["status"]

    @app.get("/boom")
    def boom():
        raise RuntimeError("{DETAIL} in a view")

    @app.get("/async-boom")
    async def async_boom():
        raise RuntimeError("{DETAIL} in an async view")

    @app.get("/after")
    def after():
        return "fine"

    @app.after_request
    def failing_after_request(response):
        if request.path == "/after":
            raise RuntimeError("{DETAIL} in after_request")
        return response

    @app.get("/teapot")
    def teapot():
        abort(418)

    @app.errorhandler(418)
    def failing_error_handler(error):
        raise RuntimeError("{DETAIL} in an error handler")

    @app.get("/stream-boom")
    def stream_boom():
        def chunks():
            yield "first chunk "
            raise RuntimeError("{DETAIL} in a streamed body")

        return chunks()
    """
)


def _write_project(folder: Path) -> None:
    """The app, a file in each file-serving folder, and a secret beside them."""
    (folder / "sec_app.py").write_text(SECURITY_APP)
    for sub in ("static", "files", "shop_static"):
        (folder / sub).mkdir()
        (folder / sub / "ok.txt").write_text("public")
    (folder / "secret.txt").write_text(SECRET)


def _traversals(prefix: str, root: Path) -> list[str]:
    """Request targets under ``prefix`` that try to reach ``root/secret.txt``."""
    up = "../.." if prefix == "/shop-static" else ".."
    encoded = up.replace(".", "%2e").replace("/", "%2f")
    absolute = quote(str(root / "secret.txt"))
    return [
        f"{prefix}/{up}/secret.txt",
        f"{prefix}/{encoded}/secret.txt",
        f"{prefix}/{encoded.upper()}%2Fsecret.txt",
        f"{prefix}/{up.replace('/', '%2F')}%2Fsecret.txt",
        f"{prefix}/{up.replace('/', chr(92))}{chr(92)}secret.txt",  # backslashes
        f"{prefix}/{up.replace('/', '%5c')}%5csecret.txt",
        f"{prefix}/{up}%00/secret.txt",  # NUL
        f"{prefix}/ok.txt%00.png",
        f"{prefix}/%00",
        f"{prefix}/{absolute}",  # absolute: //root/secret.txt
        f"{prefix}/%2F{absolute.lstrip('/')}",
        f"{prefix}/file:{absolute}",
    ]


PREFIXES = ["/static", "/files", "/shop-static"]


# -- real servers ---------------------------------------------------------------


@dataclasses.dataclass
class Served:
    """A running server: its name, port and the folder holding the app and its log."""

    name: str
    port: int
    folder: Path

    def log(self) -> str:
        return "".join(path.read_text() for path in self.folder.glob("server-*.log"))


def _command(name: str, port: int) -> list[str]:
    if name == "dev":
        return [str(BIN / "demijohn"), "--app", "sec_app", "run", "--port", str(port)]
    if name == "gunicorn":
        return [str(BIN / "gunicorn"), "sec_app:app", "--bind", f"127.0.0.1:{port}"]
    bind = ["--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "uvicorn", "sec_app:app", *bind]


@contextlib.contextmanager
def _without_flask_variables() -> Iterator[None]:
    # No FLASK_DEBUG (nor any FLASK_*) reaches the servers: debug stays off
    # because nothing asked for it.
    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in os.environ if key.startswith("FLASK_")]:
            patch.delenv(key)
        yield


@pytest.fixture(scope="module", params=["dev", "gunicorn", "uvicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    name: str = request.param
    folder = tmp_path_factory.mktemp(f"security-{name}")
    _write_project(folder)
    port = free_port()
    probe = f"http://127.0.0.1:{port}/static/ok.txt"
    with (
        _without_flask_variables(),
        running_server(_command(name, port), probe_url=probe, cwd=folder),
    ):
        yield Served(name, port, folder)


@dataclasses.dataclass
class RawResponse:
    """A response as it came off the wire."""

    status: int
    head: str
    body: bytes

    def header_names(self) -> list[str]:
        return [line.split(":", 1)[0].lower() for line in self.head.split("\r\n")[1:]]

    def header(self, name: str) -> str | None:
        for line in self.head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.lower() == name:
                return value.strip()
        return None


def _raw_get(port: int, target: str) -> RawResponse:
    """``GET target`` exactly as given, read until the server closes (bounded in time)."""
    deadline = time.monotonic() + IO_TIMEOUT
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    return RawResponse(int(text.split(" ", 2)[1]), text, body)


def _assert_not_served(response: RawResponse, port: int) -> None:
    """404, or a redirect (merged slashes) to a URL that is itself 404."""
    if response.status == 308:
        location = response.header("location")
        assert location is not None
        target = urlsplit(location)
        assert target.netloc in ("", "127.0.0.1")
        response = _raw_get(port, target.path)
    assert response.status == 404, response.head
    assert SECRET.encode() not in response.body


@pytest.mark.parametrize("prefix", PREFIXES)
def test_path_traversal_is_404_under_a_server(server: Served, prefix: str) -> None:
    assert _raw_get(server.port, f"{prefix}/ok.txt").body == b"public"
    for target in _traversals(prefix, server.folder):
        _assert_not_served(_raw_get(server.port, target), server.port)


def test_header_injection_is_refused_under_a_server(server: Served) -> None:
    injected = quote("/next\r\nSet-Cookie: injected=1\r\n\r\n<script>", safe="/")
    for target in (
        f"/go?to={injected}",
        f"/header?value={injected}",
        f"/status?status={quote('200 OK')}{injected}",
    ):
        response = _raw_get(server.port, target)
        # One response, the injected line in no header of it: the value was
        # refused (the view's error, a plain 500) or, for a redirect, its line
        # breaks were escaped.
        assert "set-cookie" not in response.header_names(), response.head
        assert b"<script>" not in response.body
        _assert_refused_or_escaped(response.status, response.header("location"))
    # Clean values pass.
    assert _raw_get(server.port, "/go?to=/next").header("location") == "/next"
    assert _raw_get(server.port, "/header?value=fine").header("x-echo") == "fine"
    assert _raw_get(server.port, "/status?status=201%20Made").status == 201


def _assert_refused_or_escaped(status: int, location: str | None) -> None:
    if status == 500:
        return
    assert status == 302, status
    assert location is not None
    assert "\r" not in location and "\n" not in location
    assert "%0D" in location.upper() or "%0A" in location.upper()


ERROR_PATHS = ["/boom", "/async-boom", "/after", "/teapot"]


def _assert_plain_500(body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    assert "Internal Server Error" in text
    for leak in (
        DETAIL,
        "Traceback",
        'File "',
        "RuntimeError",
        "Werkzeug Debugger",
        "__debugger__",
    ):
        assert leak not in text


def test_errors_show_no_traceback_under_a_server(server: Served) -> None:
    for path in ERROR_PATHS:
        response = _raw_get(server.port, path)
        assert response.status == 500, path
        _assert_plain_500(response.body)
    # A body that fails mid-stream: the connection ends, nothing is added.
    streamed = _raw_get(server.port, "/stream-boom")
    assert streamed.status == 200
    assert DETAIL.encode() not in streamed.body
    assert b"Traceback" not in streamed.body
    # The details went to the server's log instead.
    log = server.log()
    for where in ("in a view", "in an async view", "in after_request", "in an error handler"):
        assert f"{DETAIL} {where}" in log


def test_the_debugger_is_not_running_unless_asked_for(server: Served) -> None:
    # The debugger answers any URL carrying ``__debugger__=yes`` itself.
    resource = _raw_get(server.port, "/files/ok.txt?__debugger__=yes&cmd=resource&f=debugger.js")
    assert (resource.status, resource.body) == (200, b"public")
    if server.name == "dev":
        log = server.log()
        assert " * Debug mode: off" in log
        assert "Debugger is active" not in log
        assert "Debugger PIN" not in log


# -- the CLI warns before exposing the debugger -----------------------------------


def test_debug_server_on_all_addresses_warns_and_is_never_exposed(tmp_path: Path) -> None:
    (tmp_path / "sec_app.py").write_text(SECURITY_APP)
    # The port is held on 127.0.0.1 here, so the server's bind of 0.0.0.0
    # fails: the CLI gets to print its warning, and nothing is ever served
    # beyond this machine.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        env["PYTHONPATH"] = str(tmp_path)
        command = [str(BIN / "demijohn"), "--app", "sec_app", "run", "--debug", "--no-reload"]
        exposed = subprocess.run(
            [*command, "--host", "0.0.0.0", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        local = subprocess.run(
            [*command, "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    output = exposed.stdout + exposed.stderr
    assert exposed.returncode != 0, output
    assert "WARNING: the debugger is on and the server listens on 0.0.0.0" in exposed.stderr
    assert "Bind 127.0.0.1 instead" in exposed.stderr
    assert f"Port {port} is in use" in output  # the bind failed: never served
    assert " * Debug mode: on" in output
    local_output = local.stdout + local.stderr
    assert local.returncode != 0, local_output
    assert " * Debug mode: on" in local_output
    assert "WARNING: the debugger is on" not in local_output


ServedCalls = list[dict[str, t.Any]]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> ServedCalls:
    """The calls ``run`` makes to the servers, neither of which really starts."""
    calls: ServedCalls = []

    def fake_run_simple(host: str, port: int, app: t.Any, **options: t.Any) -> None:
        calls.append({"host": host, "server": "werkzeug", **options})

    def fake_uvicorn_run(app: t.Any, **options: t.Any) -> None:
        calls.append({"server": "uvicorn", **options})

    monkeypatch.setattr(demijohn.cli, "run_simple", fake_run_simple)
    monkeypatch.setattr(uvicorn, "run", fake_uvicorn_run)
    return calls


@pytest.mark.parametrize(
    ("args", "warns"),
    [
        (["--debug", "run", "--host", "0.0.0.0"], True),
        (["--debug", "run", "--host", "::"], True),
        (["--debug", "run", "--host", "192.0.2.10"], True),
        (["--debug", "run", "--host", "myhost.example"], True),
        (["--debug", "run", "--asgi", "--host", "0.0.0.0"], True),
        (["--debug", "run"], False),
        (["--debug", "run", "--host", "localhost"], False),
        (["--debug", "run", "--host", "127.0.0.2"], False),
        (["--debug", "run", "--host", "::1"], False),
        (["run", "--host", "0.0.0.0"], False),  # no debugger, nothing to expose
        (["--debug", "run", "--no-debugger", "--host", "0.0.0.0"], False),
    ],
)
def test_run_warns_when_the_debugger_listens_beyond_this_machine(
    served: ServedCalls, args: list[str], warns: bool
) -> None:
    group = FlaskGroup(create_app=lambda: Flask("served"))
    result = CliRunner().invoke(group, [*args, "--no-reload"])
    assert result.exit_code == 0, result.output
    assert len(served) == 1  # the warning comes before serving, which still happens
    assert ("WARNING: the debugger is on" in result.stderr) is warns


def test_app_run_warns_when_the_debugger_listens_beyond_this_machine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import werkzeug.serving

    calls: list[str] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, *a, **k: calls.append(host))
    app = Flask("direct")
    app.run(host="0.0.0.0", debug=True, use_reloader=False, load_dotenv=False)
    assert (
        "WARNING: the debugger is on and the server listens on 0.0.0.0" in capsys.readouterr().err
    )
    app.run(host="127.0.0.1", debug=True, use_reloader=False, load_dotenv=False)
    app.run(host="0.0.0.0", debug=False, load_dotenv=False)
    assert "WARNING" not in capsys.readouterr().err
    assert calls == ["0.0.0.0", "127.0.0.1", "0.0.0.0"]


# -- through the test client (both doors) ----------------------------------------


@pytest.fixture
def security_app(tmp_path: Path, door: str) -> Iterator[Flask]:
    """``SECURITY_APP`` imported from a fresh folder, its test client speaking ``door``."""
    _write_project(tmp_path)
    name = f"sec_app_{tmp_path.name}"
    spec = importlib.util.spec_from_file_location(name, tmp_path / "sec_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the blueprint finds its folder through it
    try:
        spec.loader.exec_module(module)
        app: Flask = module.app
        # Errors are rendered as in production, not raised into the test.
        app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
        app.logger.disabled = True
        yield through(app, door)
    finally:
        del sys.modules[name]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_path_traversal_is_404(security_app: Flask, tmp_path: Path, prefix: str) -> None:
    client = security_app.test_client()
    with client.get(f"{prefix}/ok.txt") as served_file:
        assert served_file.text == "public"
    for target in _traversals(prefix, tmp_path):
        response = client.get(target, follow_redirects=True)
        assert response.status_code == 404, target
        assert SECRET not in response.text


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "..\\secret.txt",
        "sub/../../secret.txt",
        "ok.txt\x00",
        "\x00",
        "..",
        "",
        "/etc/passwd",
    ],
)
def test_send_from_directory_refuses_names_outside_it(security_app: Flask, name: str) -> None:
    folder = Path(security_app.root_path) / "files"
    with security_app.test_request_context(), pytest.raises(NotFound):
        send_from_directory(folder, name)
    # An absolute path to a file that does exist, too.
    with security_app.test_request_context(), pytest.raises(NotFound):
        send_from_directory(folder, str(Path(security_app.root_path) / "secret.txt"))


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "/next\r\n\r\n<html>"])
def test_header_values_with_line_breaks_are_refused(value: str) -> None:
    response = Response("body")
    with pytest.raises(ValueError, match="newline"):
        response.headers["X-Echo"] = value
    with pytest.raises(ValueError, match="newline"):
        response.headers.add("X-Echo", value)
    with pytest.raises(ValueError, match="newline"):
        response.location = value
    with pytest.raises(ValueError, match="newline"):
        Response("body", headers={"X-Echo": value})
    with pytest.raises(ValueError, match="newline"):
        response.status = f"200 OK{value}"
    assert "X-Echo" not in response.headers
    assert response.status == "200 OK"
    # Cookie values are quoted, never written raw.
    response.set_cookie("c", value)
    assert "\n" not in response.headers["Set-Cookie"]
    assert "\r" not in response.headers["Set-Cookie"]


@pytest.mark.parametrize("value", ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\rb"])
def test_redirect_never_puts_a_line_break_in_location(security_app: Flask, value: str) -> None:
    # Outside and inside an app context (``app.redirect``): refused, or escaped.
    with contextlib.ExitStack() as stack:
        for _ in range(2):
            try:
                response = redirect(value)
            except ValueError as refused:
                assert "newline" in str(refused)
            else:
                _assert_refused_or_escaped(response.status_code, response.headers["Location"])
            stack.enter_context(security_app.test_request_context())


def test_header_injection_through_a_view_is_refused(security_app: Flask) -> None:
    client = security_app.test_client()
    injected = "/next\r\nSet-Cookie: injected=1"
    for path, args in (
        ("/go", {"to": injected}),
        ("/header", {"value": injected}),
        ("/status", {"status": f"200 OK{injected}"}),
    ):
        response = client.get(path, query_string=args)
        assert "Set-Cookie" not in response.headers
        if path == "/go":
            _assert_refused_or_escaped(response.status_code, response.headers.get("Location"))
        else:
            assert response.status_code == 500
            assert "injected" not in str(response.headers)
    # (ASGI carries no reason phrase: only the code is compared.)
    assert client.get("/status", query_string={"status": "201 Made"}).status_code == 201


def test_errors_show_no_traceback(security_app: Flask) -> None:
    client = security_app.test_client()
    for path in ERROR_PATHS:
        response = client.get(path)
        assert response.status_code == 500, path
        _assert_plain_500(response.data)


def test_no_debugger_without_debug_mode(security_app: Flask) -> None:
    assert not security_app.debug
    assert "wsgi_app" not in security_app.__dict__  # nothing wraps the app
    client = security_app.test_client()
    with client.get("/files/ok.txt?__debugger__=yes&cmd=resource&f=debugger.js") as resource:
        assert resource.text == "public"


# -- session cookies ---------------------------------------------------------------

CURRENT_KEY = "current-key"
FALLBACK_KEY = "previous-key"
RETIRED_KEY = "retired-key"


def _cookie(secret: str, data: dict[str, t.Any], *, age: float = 0.0) -> str:
    """A session cookie as Flask signs it, built with itsdangerous directly.

    ``age`` seconds are taken off the signed timestamp: a cookie from the past.
    """

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age)

    serializer = URLSafeTimedSerializer(
        secret,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer=Signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return serializer.dumps(data)


def _load(value: str, secret: str) -> t.Any:
    serializer = URLSafeTimedSerializer(
        secret,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return serializer.loads(value)


@pytest.fixture
def session_app(app: Flask) -> Flask:
    app.secret_key = CURRENT_KEY
    app.config["SECRET_KEY_FALLBACKS"] = [FALLBACK_KEY]
    app.permanent_session_lifetime = timedelta(minutes=5)

    @app.get("/read")
    def read() -> str:
        return str(session.get("user", "-"))

    @app.get("/write")
    def write() -> str:
        session["user"] = "grace"
        return "written"

    return app


def _session_set_cookie(response: t.Any) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            return t.cast(str, header)
    return None


def _session_value(response: t.Any) -> str:
    header = _session_set_cookie(response)
    assert header is not None, response.headers
    return header.split(";", 1)[0].removeprefix("session=")


def _read_with(app: Flask, cookie: str, path: str = "/read") -> t.Any:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get(path)


def test_valid_session_cookie_is_read(session_app: Flask) -> None:
    assert _read_with(session_app, _cookie(CURRENT_KEY, {"user": "ada"})).text == "ada"


def _flip(value: str, index: int) -> str:
    char = value[index]
    return value[:index] + ("A" if char != "A" else "B") + value[index + 1 :]


def test_tampered_session_cookie_is_ignored(session_app: Flask) -> None:
    cookie = _cookie(CURRENT_KEY, {"user": "ada"})
    payload_end = cookie.index(".")
    for tampered in (_flip(cookie, -1), _flip(cookie, len(cookie) - 10), _flip(cookie, 1)):
        assert tampered != cookie
        response = _read_with(session_app, tampered)
        assert response.text == "-"
        assert _session_set_cookie(response) is None
    # A payload changed and re-encoded without the key: the signature no longer matches.
    forged = _cookie("attacker-key", {"user": "admin"})
    assert _read_with(session_app, cookie[:payload_end] + forged[payload_end:]).text == "-"
    assert _read_with(session_app, forged[: forged.index(".")] + cookie[payload_end:]).text == "-"


def test_expired_session_cookie_is_ignored(session_app: Flask) -> None:
    lifetime = session_app.permanent_session_lifetime.total_seconds()
    fresh = _cookie(CURRENT_KEY, {"user": "ada", "_permanent": True}, age=lifetime - 30)
    assert _read_with(session_app, fresh).text == "ada"
    for data in ({"user": "ada", "_permanent": True}, {"user": "ada"}):
        expired = _cookie(CURRENT_KEY, data, age=lifetime + 30)
        assert _read_with(session_app, expired).text == "-"


def test_cookie_signed_with_a_retired_key_is_ignored(session_app: Flask) -> None:
    assert _read_with(session_app, _cookie(RETIRED_KEY, {"user": "ada"})).text == "-"


def test_fallback_key_is_accepted_and_the_cookie_resigned_when_saved(session_app: Flask) -> None:
    old = _cookie(FALLBACK_KEY, {"user": "ada"})
    # Read only, not permanent: Flask 3.1 leaves the cookie alone (nothing to save).
    read = _read_with(session_app, old)
    assert read.text == "ada"
    assert _session_set_cookie(read) is None
    # Modified: saved, signed with the current key only.
    written = _read_with(session_app, old, "/write")
    value = _session_value(written)
    assert _load(value, CURRENT_KEY) == {"user": "grace"}
    with pytest.raises(Exception, match="Signature"):
        _load(value, FALLBACK_KEY)
    # Permanent: refreshed on every request (SESSION_REFRESH_EACH_REQUEST), so
    # merely reading it re-signs it with the current key.
    permanent = _read_with(session_app, _cookie(FALLBACK_KEY, {"user": "ada", "_permanent": True}))
    assert permanent.text == "ada"
    assert _load(_session_value(permanent), CURRENT_KEY) == {"user": "ada", "_permanent": True}
    # Without the fallback configured, the old cookie is just another bad one.
    session_app.config["SECRET_KEY_FALLBACKS"] = []
    assert _read_with(session_app, old).text == "-"


def _attributes(header: str) -> dict[str, str]:
    parts = [part.strip() for part in header.split(";")[1:]]
    return {name.lower(): value for name, _, value in (part.partition("=") for part in parts)}


def test_session_cookie_is_httponly_by_default(session_app: Flask) -> None:
    header = _session_set_cookie(session_app.test_client().get("/write"))
    assert header is not None
    attributes = _attributes(header)
    assert "httponly" in attributes
    assert attributes["path"] == "/"
    for absent in ("secure", "samesite", "partitioned", "domain", "expires"):
        assert absent not in attributes


def test_session_cookie_attributes_come_from_config(session_app: Flask) -> None:
    session_app.config.update(
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_PATH="/shop",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_NAME="sid",
    )
    response = session_app.test_client().get("/write")
    (header,) = response.headers.getlist("Set-Cookie")
    assert header.startswith("sid=")
    attributes = _attributes(header)
    assert attributes["samesite"] == "Strict"
    assert attributes["domain"] == "example.test"
    assert attributes["path"] == "/shop"
    assert {"secure", "partitioned"} <= attributes.keys()
    assert "httponly" not in attributes
    assert _load(header.split(";", 1)[0].removeprefix("sid="), CURRENT_KEY) == {"user": "grace"}


def test_session_cookie_lax_and_not_partitioned(session_app: Flask) -> None:
    session_app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=True)
    header = _session_set_cookie(session_app.test_client().get("/write"))
    assert header is not None
    attributes = _attributes(header)
    assert attributes["samesite"] == "Lax"
    assert "secure" in attributes and "partitioned" not in attributes
