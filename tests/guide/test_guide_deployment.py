"""Guide, "Deployment": ProxyFix and the server command lines.

The nginx set-up and the demo behind it are tested in
``tests/test_deploy_nginx.py``; every server named in the README in
``tests/test_servers.py``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import httpx
from asgi_support import through
from flask import Flask, request, url_for
from servers import free_port, running_server
from werkzeug.middleware.proxy_fix import ProxyFix


def test_common_setup_pitfalls_the_proxy_fix(door: str) -> None:
    app = Flask(__name__)
    through(app, door)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]

    @app.route("/where")
    def where() -> dict[str, str | None]:
        return {
            "remote_addr": request.remote_addr,
            "url": url_for("where", _external=True),
            "scheme": request.scheme,
        }

    proxied = app.test_client().get(
        "/where",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "example.com",
            "X-Forwarded-Prefix": "/shop",
        },
    )
    assert proxied.json == {
        "remote_addr": "203.0.113.9",
        "url": "https://example.com/shop/where",
        "scheme": "https",
    }
    # Without the proxy headers nothing is trusted.
    direct = app.test_client().get("/where")
    assert direct.json is not None
    assert direct.json["url"] == "http://localhost/where"


APP = textwrap.dedent(
    """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "deployed"
    """
)


def test_recommended_production_execution_with_gunicorn(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    # The guide's line, bound to 127.0.0.1 instead of 0.0.0.0 for the test.
    command = [gunicorn, "--workers", "3", "--bind", f"127.0.0.1:{port}"]
    command += ["--access-logfile", "-", "wsgi:app"]
    # The guide's app imports ``flask``; the README's entry-module recipe points
    # that at demijohn before the app is imported (``app:app`` becomes ``wsgi:app``).
    (tmp_path / "wsgi.py").write_text(
        "import demijohn\n\ndemijohn.install_as_flask()\n\nfrom app import app  # noqa: E402\n"
    )
    url = f"http://127.0.0.1:{port}/"
    with running_server(command, probe_url=url, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}):
        assert httpx.get(url, timeout=5).text == "deployed"
