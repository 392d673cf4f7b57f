"""Flask behaviours a new user found demijohn getting wrong (issue 16, part 1).

Tests run through both doors where a door is involved (the ``app`` and
``client`` fixtures). Each fix below has tests that failed before it, next to
guards for the neighbouring behaviour that already matched Flask:

* ``Vary: Cookie`` on a response that refreshes a permanent session's cookie;
* a ``Host`` header no host name can hold answered 400 on every routing path;
* ``Blueprint.endpoint`` registering the name as given, not prefixed;
* ``repr(g)`` under the ``flask`` alias and ``repr`` of unbound proxies;
* ``run --cert adhoc`` served over HTTPS, and its error without cryptography.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import httpx
import pytest
from asgi_support import call_asgi
from servers import free_port, stop
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder, run_wsgi_app

import demijohn
from demijohn import Blueprint, g, request, session, url_for
from demijohn.routing import IndexedMap
from demijohn.testing import FlaskClient

# -- 1. ``Vary: Cookie`` and ``session.accessed`` ----------------------------------


@pytest.fixture
def session_app(app: demijohn.Flask) -> tuple[demijohn.Flask, list[tuple[str, bool]]]:
    """``app`` with session views; the list gets ``(where, session.accessed)`` notes."""
    app.secret_key = "regression-secret"
    seen: list[tuple[str, bool]] = []

    @app.get("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "ada"
        return "logged in"

    @app.get("/remember")
    def remember() -> str:
        session["user"] = "ada"  # not permanent
        return "remembered"

    @app.get("/plain")
    def plain() -> str:
        seen.append(("view", session.accessed))
        return "plain"

    @app.get("/read")
    def read() -> str:
        return str(session.get("user"))

    @app.get("/contains")
    def contains() -> str:
        return str("user" in session)

    @app.after_request
    def note(response: demijohn.Response) -> demijohn.Response:
        if request.path == "/plain":
            seen.append(("after_request", session.accessed))
        return response

    return app, seen


def test_untouched_session_is_not_accessed_and_adds_no_vary(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]],
) -> None:
    app, seen = session_app
    client = app.test_client()
    fresh = client.get("/plain")
    assert fresh.text == "plain"
    assert "Vary" not in fresh.headers
    assert "Set-Cookie" not in fresh.headers
    # A non-permanent session cookie is sent back, but nothing reads it.
    assert "Set-Cookie" in client.get("/remember").headers
    untouched = client.get("/plain")
    assert "Vary" not in untouched.headers
    assert "Set-Cookie" not in untouched.headers
    assert seen == [("view", False), ("after_request", False)] * 2


def test_refreshed_permanent_session_varies_on_cookie(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]],
) -> None:
    app, seen = session_app
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is True  # Flask's default
    client = app.test_client()
    login = client.get("/login")
    assert login.headers["Vary"] == "Cookie"
    assert "Expires=" in login.headers["Set-Cookie"]
    # The view never reads the session, yet the response re-sets its cookie
    # (a new expiry): caches must key it on the Cookie header.
    refreshed = client.get("/plain")
    assert refreshed.text == "plain"
    assert refreshed.headers["Set-Cookie"].startswith("session=")
    assert "Expires=" in refreshed.headers["Set-Cookie"]
    assert refreshed.headers["Vary"] == "Cookie"
    assert seen == [("view", False), ("after_request", False)]


def test_permanent_session_without_refresh_sets_nothing(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]],
) -> None:
    app, _ = session_app
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    client = app.test_client()
    assert "Set-Cookie" in client.get("/login").headers
    quiet = client.get("/plain")
    assert "Set-Cookie" not in quiet.headers
    assert "Vary" not in quiet.headers


@pytest.mark.parametrize("path", ["/read", "/contains"])
def test_reading_the_session_varies_on_cookie(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]], path: str
) -> None:
    app, _ = session_app
    client = app.test_client()
    # Read without a cookie, then with a (non-permanent) one: never re-set.
    first = client.get(path)
    assert first.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in first.headers
    client.get("/remember")
    again = client.get(path)
    assert again.text == ("ada" if path == "/read" else "True")
    assert again.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in again.headers


def test_session_vary_joins_the_views_own(app: demijohn.Flask) -> None:
    app.secret_key = "regression-secret"

    @app.get("/")
    def index() -> demijohn.Response:
        response = demijohn.make_response(str(session.get("user")))
        response.vary.add("Accept-Encoding")
        return response

    assert app.test_client().get("/").headers["Vary"] == "Accept-Encoding, Cookie"


# -- 2. Bad ``Host`` headers and TRUSTED_HOSTS ----------------------------------------


def _host_app(app: demijohn.Flask) -> list[str]:
    """Give ``app`` a static, a dynamic and a blueprint route; returns what was served."""
    served: list[str] = []

    @app.get("/")
    def index() -> str:
        served.append("index")
        return f"host={request.host}"

    @app.get("/items/<int:number>")
    def item(number: int) -> str:
        served.append(f"item {number}")
        return str(number)

    return served


def _send(app: demijohn.Flask, door: str, host: bytes, path: str) -> int:
    """Send ``GET path`` with this raw ``Host`` through ``door``; return the status."""
    if door == "wsgi":
        environ = EnvironBuilder(path=path).get_environ()
        # WSGI servers hand header bytes over decoded as latin-1 (PEP 3333).
        environ["HTTP_HOST"] = host.decode("latin-1")
        _, status, _ = run_wsgi_app(app, environ, buffered=True)
        return int(status[:3])
    scope: dict[str, t.Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    messages = asyncio.run(call_asgi(app, scope, b""))
    assert messages[0]["type"] == "http.response.start"
    return int(messages[0]["status"])


BAD_HOSTS = [
    pytest.param(b"exa\x01mple.com", id="control-char"),
    pytest.param(b"\xff.example", id="undecodable-byte"),
    pytest.param(b"example.com\x7f", id="delete-char"),
    pytest.param(b"exa\tmple.com", id="tab"),
    pytest.param("bücher.example".encode(), id="raw-utf8"),
]


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_malformed_host_is_a_bad_request_on_every_routing_path(
    app: demijohn.Flask, door: str, host: bytes
) -> None:
    served = _host_app(app)
    # The indexed map is what gave a 404 (or a match) before the host was judged.
    assert isinstance(app.url_map, IndexedMap)
    # A static rule, a dynamic one, no rule (the index's certain 404), and a
    # non-ASCII path that only Werkzeug's matcher handles.
    for path in ("/", "/items/3", "/missing", "/caf\u00e9"):
        assert _send(app, door, host, path) == 400, path
    assert served == []
    # The same app serves well-formed hosts as usual afterwards.
    assert _send(app, door, b"example.com", "/") == 200
    assert _send(app, door, b"example.com", "/missing") == 404
    assert served == ["index"]


def test_odd_but_printable_host_is_served_as_werkzeug_does(app: demijohn.Flask, door: str) -> None:
    served = _host_app(app)
    # An underscore (a container's service name) is no valid host name, but
    # Werkzeug serves the request (with an empty ``request.host``): so do we.
    assert _send(app, door, b"my_service:8000", "/") == 200
    assert _send(app, door, b"my_service:8000", "/items/5") == 200
    assert served == ["index", "item 5"]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        (b"example.com", 200),
        (b"example.com:8080", 200),  # the port is not part of the check
        (b"evil.com", 400),
        (b"sub.example.com", 400),
        (b"example.com.evil.com", 400),
        (b"exa\x01mple.com", 400),
    ],
)
def test_trusted_hosts_exact(app: demijohn.Flask, door: str, host: bytes, status: int) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.com"]
    served = _host_app(app)
    assert _send(app, door, host, "/") == status
    assert _send(app, door, host, "/items/1") == status
    # No rule: a trusted host gets the 404, any other the 400 first.
    assert _send(app, door, host, "/missing") == (404 if status == 200 else 400)
    assert served == ([] if status == 400 else ["index", "item 1"])


@pytest.mark.parametrize(
    ("host", "status"),
    [
        (b"example.com", 200),
        (b"a.example.com", 200),
        (b"a.b.example.com:8443", 200),
        (b"badexample.com", 400),
        (b"example.com.evil.com", 400),
        (b"evil.com", 400),
    ],
)
def test_trusted_hosts_subdomains(app: demijohn.Flask, door: str, host: bytes, status: int) -> None:
    # A leading dot trusts the domain and all its subdomains, as in Werkzeug.
    app.config["TRUSTED_HOSTS"] = [".example.com"]
    _host_app(app)
    assert _send(app, door, host, "/") == status
    assert _send(app, door, host, "/items/2") == status


def test_trusted_hosts_through_the_test_client(app: demijohn.Flask) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.com"]
    _host_app(app)
    client = app.test_client()
    assert client.get("/", base_url="http://example.com").text == "host=example.com"
    assert client.get("/", base_url="http://evil.com").status_code == 400
    assert client.get("/", base_url="http://localhost").status_code == 400


# -- 3. ``Blueprint.endpoint`` --------------------------------------------------------


def test_blueprint_endpoint_registers_the_name_as_given(
    app: demijohn.Flask, client: FlaskClient
) -> None:
    app.url_map.add(Rule("/x", endpoint="name"))
    bp = Blueprint("bp", __name__)

    @bp.endpoint("name")
    def view() -> str:
        return f"{request.endpoint} {request.blueprint} {url_for('name')}"

    app.register_blueprint(bp, url_prefix="/prefix")
    assert app.view_functions["name"] is view
    assert "bp.name" not in app.view_functions
    response = client.get("/x")
    assert response.status_code == 200
    assert response.text == "name None /x"
    # Only the rule added for it routes there; the prefix makes no route.
    assert client.get("/prefix/x").status_code == 404
    assert client.get("/prefix/name").status_code == 404


def test_blueprint_endpoint_is_recorded_once(app: demijohn.Flask, client: FlaskClient) -> None:
    app.url_map.add(Rule("/x", endpoint="name"))
    bp = Blueprint("bp", __name__)

    @bp.endpoint("name")
    def view() -> str:
        return "from the blueprint"

    app.register_blueprint(bp)

    def replacement() -> str:
        return "replaced on the app"

    app.view_functions["name"] = replacement
    # A second registration (another name) does not record it again.
    app.register_blueprint(bp, name="again")
    assert app.view_functions["name"] is replacement
    assert client.get("/x").text == "replaced on the app"


def test_blueprint_endpoint_after_registration_is_refused(app: demijohn.Flask) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="can no longer be called on the blueprint"):
        bp.endpoint("late")


# -- 4. Names under the alias ---------------------------------------------------------


def test_g_repr_names_flask_under_the_alias(app: demijohn.Flask, client: FlaskClient) -> None:
    assert sys.modules["flask"] is demijohn  # conftest installed the alias

    @app.get("/")
    def index() -> str:
        return repr(g)

    assert client.get("/").text == "<flask.g of 'test_app'>"
    with app.app_context():
        assert repr(g) == "<flask.g of 'test_app'>"


def test_g_repr_names_demijohn_without_the_alias(
    app: demijohn.Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "flask")
    with app.app_context():
        assert repr(g) == "<demijohn.g of 'test_app'>"


def test_g_repr_quotes_the_name_as_flask_does(tmp_path: Path) -> None:
    # Flask puts the name between quotes as is (no ``repr`` escaping).
    app = demijohn.Flask("it's", root_path=str(tmp_path))
    with app.app_context():
        assert repr(g) == "<flask.g of 'it's'>"
    outside = demijohn.ctx._AppCtxGlobals()
    assert repr(outside).startswith("<demijohn.ctx._AppCtxGlobals object at 0x")


@pytest.mark.parametrize(
    "name", ["request", "session", "g", "current_app", "request_ctx", "app_ctx", "websocket"]
)
def test_unbound_proxies_read_as_werkzeugs(name: str) -> None:
    from demijohn import globals as proxies

    assert repr(getattr(proxies, name)) == "<LocalProxy unbound>"


def test_bound_proxies_read_as_their_object(app: demijohn.Flask, client: FlaskClient) -> None:
    app.secret_key = "regression-secret"

    @app.get("/here")
    def here() -> str:
        return "\n".join(
            [repr(request), repr(demijohn.current_app), repr(session), str(session.accessed)]
        )

    lines = client.get("/here?x=1").text.splitlines()
    assert lines == [
        "<Request 'http://localhost/here?x=1' [GET]>",
        "<Flask 'test_app'>",
        "<SecureCookieSession {}>",
        "False",
    ]


# -- 5. ``run --cert`` ----------------------------------------------------------------

_HELLO_APP = """\
from demijohn import Flask, request

app = Flask(__name__)


@app.get("/")
def index():
    return f"hello over {request.scheme}"
"""

_STARTUP_SECONDS = 20.0


@contextlib.contextmanager
def _https_server(args: list[str], cwd: Path, port: int) -> t.Iterator[httpx.Response]:
    """Run ``demijohn args`` until the block ends; yield its first HTTPS answer.

    :func:`servers.running_server` probes with certificate checks on, which
    a self-signed certificate never passes: this probe skips them.
    """
    log_path = cwd / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "demijohn", "--app", "hello", *args, "--port", str(port)],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + _STARTUP_SECONDS
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    response = httpx.get(f"https://127.0.0.1:{port}/", verify=False, timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"no HTTPS answer in {_STARTUP_SECONDS} s:\n{log_path.read_text()}"
                        ) from None
                    time.sleep(0.1)
            yield response
        finally:
            stop(proc)


def _served_certificate(port: int) -> str:
    """The PEM certificate the server on ``port`` presents (not verified)."""
    return ssl.get_server_certificate(("127.0.0.1", port), timeout=5)


def test_run_cert_adhoc_serves_https(tmp_path: Path) -> None:
    from cryptography import x509

    (tmp_path / "hello.py").write_text(_HELLO_APP)
    port = free_port()
    with _https_server(["run", "--cert", "adhoc"], tmp_path, port) as response:
        assert response.status_code == 200
        assert response.text == "hello over https"
        # Self-signed: a client that checks certificates refuses it.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{port}/", timeout=5)
        cert = x509.load_pem_x509_certificate(_served_certificate(port).encode())
        assert cert.issuer == cert.subject
        # Plain HTTP is not served on that port.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_run_cert_file_and_key_serves_https(tmp_path: Path) -> None:
    from werkzeug.serving import make_ssl_devcert

    (tmp_path / "hello.py").write_text(_HELLO_APP)
    cert_file, key_file = make_ssl_devcert(str(tmp_path / "dev"), host="localhost")
    port = free_port()
    args = ["run", "--cert", cert_file, "--key", key_file]
    with _https_server(args, tmp_path, port) as response:
        assert response.text == "hello over https"
        served = ssl.PEM_cert_to_DER_cert(_served_certificate(port))
        assert served == ssl.PEM_cert_to_DER_cert(Path(cert_file).read_text())


_MISSING = (
    "Error: Invalid value for '--cert':"
    " Using ad-hoc certificates requires the cryptography library."
)

#: ``demijohn`` with ``import cryptography`` failing.
_WITHOUT_CRYPTOGRAPHY = """\
import sys

sys.modules["cryptography"] = None  # what 'import cryptography' then raises ImportError for
from demijohn.cli import main

sys.argv[0] = "demijohn"
main()
"""


def _run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_run_cert_adhoc_without_cryptography(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(_HELLO_APP)
    (tmp_path / "nocrypto.py").write_text(_WITHOUT_CRYPTOGRAPHY)
    result = _run_cli(["nocrypto.py", "--app", "hello", "run", "--cert", "adhoc"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert _MISSING in result.stderr
    assert "Traceback" not in result.stderr


def test_run_cert_adhoc_with_cryptography_that_cannot_load(tmp_path: Path) -> None:
    # Found on the path, but failing on import (a broken native library):
    # the check must import it, not only find it.
    (tmp_path / "hello.py").write_text(_HELLO_APP)
    shadow = tmp_path / "shadow"
    broken = shadow / "cryptography"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        'raise ImportError("libssl.so.3: cannot open shared object file")\n'
    )
    result = _run_cli(
        ["-m", "demijohn", "--app", "hello", "run", "--cert", "adhoc", "--port", str(free_port())],
        tmp_path,
        # First on the path, ahead of the installed cryptography.
        env={
            "PYTHONPATH": os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")]))
        },
    )
    assert result.returncode == 2, result.stderr
    assert _MISSING in result.stderr
    assert "Traceback" not in result.stderr
