"""The demo deployed as docs/deployment.md says: gunicorn (2 workers) behind nginx.

Both servers are started by the test on free 127.0.0.1 ports and stopped by it.
nginx serves ``/static/`` itself and proxies everything else to gunicorn with
the ``X-Forwarded-*`` headers; the app trusts one proxy (``FLASK_PROXY_FIX=1``,
which wraps it in ``ProxyFix``). A second nginx server block stands in for a
TLS-terminating proxy that mounts the app under ``/board``. The last test
runs the same entry point under waitress.
"""

from __future__ import annotations

import concurrent.futures
import os
import pwd
import re
import shutil
import sys
import typing as t
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server
from taskboard_server import EXAMPLE, gunicorn_taskboard

pytestmark = pytest.mark.wsgi_only

STATIC = EXAMPLE / "taskboard" / "static"


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if found is None:
        pytest.fail(
            "nginx is missing: scripts/test installs it when run as root on Debian, "
            "or run `apt-get install --no-install-recommends nginx`."
        )
    return found


def proxy_settings(forwarded_proto: str, prefix: str = "") -> str:
    # What docs/deployment.md tells users to write (the prefix line only when
    # the app is not at the root of the site).
    lines = [
        "proxy_pass http://taskboard/;",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        f"proxy_set_header X-Forwarded-Proto {forwarded_proto};",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
    ]
    if prefix:
        lines.append(f"proxy_set_header X-Forwarded-Prefix {prefix};")
    return "\n            ".join(lines)


def nginx_config(workdir: Path, upstream_port: int, plain_port: int, tls_port: int) -> str:
    # Under root the workers would otherwise run as "nobody", which cannot read
    # pytest's private temporary folders.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp_paths = "\n    ".join(
        f"{kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{user}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 128; }}
http {{
    types {{
        text/html html;
        text/css css;
        image/svg+xml svg;
        image/png png;
    }}
    default_type application/octet-stream;
    access_log {workdir}/nginx-access.log;
    {temp_paths}

    upstream taskboard {{ server 127.0.0.1:{upstream_port}; }}

    # The plain site: the app at the root, nginx serving /static/.
    server {{
        listen 127.0.0.1:{plain_port};
        location /static/ {{
            alias {STATIC}/;
            expires 1h;
            add_header X-Served-By nginx-static;
        }}
        location / {{
            {proxy_settings("$scheme")}
        }}
    }}

    # Stands in for a TLS-terminating proxy that mounts the app under /board.
    server {{
        listen 127.0.0.1:{tls_port};
        location /board/static/ {{
            alias {STATIC}/;
            add_header X-Served-By nginx-static;
        }}
        location /board/ {{
            {proxy_settings("https", prefix="/board")}
        }}
    }}
}}
"""


class Deployment(t.NamedTuple):
    site: str  # the plain server block
    tls_site: str  # the "https" server block, app under /board
    gunicorn: str  # gunicorn directly, bypassing nginx
    access_log: Path  # gunicorn's, one "<pid> status "request line"" per request


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("taskboard-nginx")
    access_log = workdir / "gunicorn-access.log"
    gunicorn_args = [
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        '%(p)s %(s)s "%(r)s"',
    ]
    with gunicorn_taskboard(
        workdir, workers=2, env={"FLASK_PROXY_FIX": "1"}, extra_args=gunicorn_args
    ) as (upstream, _gunicorn):
        upstream_port = int(upstream.rsplit(":", 1)[1])
        plain_port, tls_port = free_port(), free_port()
        config = workdir / "nginx.conf"
        config.write_text(nginx_config(workdir, upstream_port, plain_port, tls_port))
        command = [nginx_binary(), "-e", str(workdir / "nginx-error.log"), "-p", str(workdir)]
        command += ["-c", str(config)]
        site = f"http://127.0.0.1:{plain_port}"
        with running_server(command, probe_url=f"{site}/static/logo.svg", cwd=workdir):
            yield Deployment(site, f"http://127.0.0.1:{tls_port}", upstream, access_log)


def access_lines(deployment: Deployment) -> list[tuple[int, int, str]]:
    """(worker pid, status, request line) for each request gunicorn served."""
    entries = []
    for line in deployment.access_log.read_text().splitlines():
        match = re.fullmatch(r'<(\d+)> (\d{3}) "([^"]*)"', line)
        assert match, line
        entries.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return entries


def csrf_token(client: httpx.Client, url: str) -> str:
    page = client.get(url)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert token, page.text
    return token.group(1)


def log_in(client: httpx.Client, base: str, username: str = "alice") -> httpx.Response:
    token = csrf_token(client, f"{base}/auth/login")
    return client.post(
        f"{base}/auth/login",
        data={"csrf_token": token, "username": username, "password": "taskboard"},
    )


def test_static_files_are_served_by_nginx(deployment: Deployment) -> None:
    before = len(access_lines(deployment))
    for name, mimetype in [("style.css", "text/css"), ("logo.svg", "image/svg+xml")]:
        response = httpx.get(f"{deployment.site}/static/{name}")
        assert response.status_code == 200
        assert response.headers["X-Served-By"] == "nginx-static"
        assert response.headers["Content-Type"] == mimetype
        assert response.headers["Cache-Control"] == "max-age=3600"  # nginx's "expires 1h"
        assert response.content == (STATIC / name).read_bytes()
    assert httpx.get(f"{deployment.site}/static/nope.css").status_code == 404
    # The page links them where nginx serves them, also under the /board prefix.
    page = httpx.get(f"{deployment.tls_site}/board/").text
    assert 'href="/board/static/style.css"' in page
    css = httpx.get(f"{deployment.tls_site}/board/static/style.css")
    assert css.headers["X-Served-By"] == "nginx-static"
    # gunicorn saw the page, never the static files.
    served = [line for _pid, _status, line in access_lines(deployment)[before:]]
    assert served == ["GET / HTTP/1.0"]


def test_a_login_on_one_worker_is_honoured_by_the_other(deployment: Deployment) -> None:
    before = len(access_lines(deployment))
    with httpx.Client() as client:
        response = log_in(client, deployment.site)
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        cookies = dict(client.cookies)

    def whoami(_: int) -> tuple[int, str]:
        # Fresh connections, concurrently: the requests spread over both workers.
        response = httpx.get(f"{deployment.site}/api/v1/me", cookies=cookies)
        return response.status_code, response.json().get("username", "")

    # Rounds until both workers have answered (a worker may still be booting).
    for _round in range(10):
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(whoami, range(16)))
        assert set(results) == {(200, "alice")}
        log = access_lines(deployment)[before:]
        me_pids = {pid for pid, status, line in log if line.startswith("GET /api/v1/me")}
        if len(me_pids) == 2:
            break
    assert len(me_pids) == 2, log  # both workers answered for alice...
    (login_pid,) = [pid for pid, status, line in log if line.startswith("POST /auth/login")]
    assert me_pids - {login_pid}  # ...so one of them is not the one that logged her in
    # The CSRF token issued with the form was also checked by whichever worker got the POST.
    assert [status for _pid, status, line in log if line.startswith("POST")] == [302]


def test_external_urls_name_the_public_site(deployment: Deployment) -> None:
    plain = httpx.get(f"{deployment.site}/api/v1/").json()["endpoints"]
    assert plain["tasks"] == f"{deployment.site}/api/v1/tasks"
    # Scheme from X-Forwarded-Proto, prefix from X-Forwarded-Prefix.
    tls_port = deployment.tls_site.rsplit(":", 1)[1]
    tls = httpx.get(f"{deployment.tls_site}/board/api/v1/").json()["endpoints"]
    assert tls["tasks"] == f"https://127.0.0.1:{tls_port}/board/api/v1/tasks"
    assert tls["me"] == f"https://127.0.0.1:{tls_port}/board/api/v1/me"
    # Straight to gunicorn nobody forwards anything: the app names gunicorn.
    direct = httpx.get(f"{deployment.gunicorn}/api/v1/").json()["endpoints"]
    assert direct["tasks"] == f"{deployment.gunicorn}/api/v1/tasks"

    with httpx.Client() as client:
        log_in(client, deployment.site)
        created = client.post(
            f"{deployment.site}/api/v1/tasks",
            json={"title": "Behind nginx"},
            headers={"X-CSRFToken": csrf_token(client, f"{deployment.site}/")},
        )
    assert created.status_code == 201
    task_url = created.headers["Location"]
    assert re.fullmatch(rf"{re.escape(deployment.site)}/api/v1/tasks/\d+", task_url)
    assert created.json()["url"] == task_url

    # Redirects under the prefix stay under it.
    redirect = httpx.get(f"{deployment.tls_site}/board/tasks/new")
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("/board/auth/login?next=")


def test_remote_addr_is_the_client_not_nginx(deployment: Deployment) -> None:
    # The client talks from 127.0.0.2 (nginx itself connects from 127.0.0.1),
    # and tries to spoof its address: ProxyFix trusts only the hop nginx added.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    spoof = {"X-Forwarded-For": "203.0.113.9"}
    with httpx.Client(transport=transport, headers=spoof) as client:
        assert log_in(client, deployment.site, "bob").status_code == 302
        me = client.get(f"{deployment.site}/api/v1/me").json()
    assert me["username"] == "bob"
    assert me["remote_addr"] == "127.0.0.2"
    assert me["last_login_ip"] == "127.0.0.2"
    # Without the proxy in between, X-Forwarded-For comes from the client
    # itself; the app still trusts one hop, which is why gunicorn must only be
    # reachable through nginx (it binds 127.0.0.1 here).
    direct = httpx.get(f"{deployment.gunicorn}/api/v1/", headers=spoof)
    assert direct.status_code == 200


def test_waitress_serves_the_same_entry_point(tmp_path: Path) -> None:
    # docs/deployment.md's waitress line: one process, threads, the same wsgi:app.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    waitress = str(Path(sys.executable).parent / "waitress-serve")
    command = [waitress, f"--listen=127.0.0.1:{port}", "--threads=4", "wsgi:app"]
    env = {"PYTHONPATH": str(EXAMPLE), "TASKBOARD_INSTANCE_PATH": str(tmp_path / "instance")}
    with running_server(command, probe_url=f"{base}/static/logo.svg", cwd=tmp_path, env=env):
        assert "20 tasks" in httpx.get(f"{base}/").text
        with httpx.Client() as client:
            assert log_in(client, base, "carol").status_code == 302
            assert client.get(f"{base}/api/v1/me").json()["username"] == "carol"
        assert httpx.get(f"{base}/nope").status_code == 404
