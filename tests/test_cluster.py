"""The demo on several hosts: scripts/cluster's layout, through real servers.

The module starts one cluster (deploy/cluster.py, what ``scripts/cluster`` runs)
in a temporary state folder: three app hosts, each in its own network
namespace (app1 and app2 under gunicorn, app3 under uvicorn), one nginx on
127.0.0.1, redis-server, PostgreSQL and a Celery worker. Every request goes
through nginx, which names the host that answered in ``X-Upstream``. The last
test takes it all down and checks that nothing is left behind.

Needs root for ``ip netns``: where that is refused the cluster tests are
skipped, saying so. The first tests need no cluster: the demo without
services must stay what it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import httpx
import pytest
import redis
from taskboard_server import import_taskboard

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "taskboard"
CLUSTER = REPO / "deploy" / "cluster.py"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")

pytestmark = pytest.mark.wsgi_only


# -- the demo with no services: unchanged ----------------------------------------------


@pytest.fixture(scope="module")
def taskboard() -> t.Iterator[t.Any]:
    with import_taskboard() as package:
        yield package


def csrf_token(page: str) -> str:
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token, page
    return token.group(1)


def test_without_services_the_demo_needs_none(taskboard: t.Any, tmp_path: Path) -> None:
    app = taskboard.create_app({"TESTING": True}, instance_path=str(tmp_path / "instance"))
    assert "celery" not in app.extensions
    assert "taskboard.cache" not in app.extensions
    assert app.session_interface.__class__.__module__.startswith("demijohn")
    client = app.test_client()
    assert client.get("/stats").status_code == 302  # members only
    token = csrf_token(client.get("/auth/login").text)
    data = {"csrf_token": token, "username": "alice", "password": "taskboard"}
    assert client.post("/auth/login", data=data).status_code == 302
    # The session is the signed cookie, as before.
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.value.count(".") >= 2
    board = client.get("/").text
    assert "Export in background" not in board and ">Stats</a>" in board
    # Without a cache every visit computes the page again.
    stamps = [
        re.search(r'class="computed-at">([^<]+)<', client.get("/stats").text) for _ in range(2)
    ]
    assert stamps[0] and stamps[1] and stamps[0].group(1) != stamps[1].group(1)
    assert client.post("/exports", data={"csrf_token": token}).status_code == 404
    # No rate limit on logins either.
    bad = {"csrf_token": token, "username": "alice", "password": "nope"}
    assert {client.post("/auth/login", data=bad).status_code for _ in range(8)} == {302}


def test_the_demijohn_command_loads_flask_limiters_plugin_command(tmp_path: Path) -> None:
    # Flask-Limiter registers a "limiter" command through the flask.commands entry
    # point; its module imports flask, so the alias must be installed before
    # plugins load (it was installed only when the app loaded).
    (tmp_path / "tiny.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    result = subprocess.run(
        [DEMIJOHN, "--app", "tiny", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^  limiter +Flask-Limiter", result.stdout, re.M), result.stdout


def test_the_scale_out_report_names_each_layout_and_the_session_cost() -> None:
    # bench/scaleout.py needs root and minutes; its report is checked on made-up rows.
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import scaleout
    finally:
        sys.path.remove(str(REPO / "bench"))
    rows = [
        {
            "layout": layout,
            "scenario": scenario,
            "rps": rps,
            "p50_ms": 10.0,
            "p99_ms": 40.0,
            "requests": int(rps * 10),
            "errors": 0,
            "round_trip_us": None if "cookie" in layout else 120.0,
        }
        for (layout, _args), rps in zip(scaleout.LAYOUTS, [200.0, 160.0, 170.0, 180.0], strict=True)
        for scenario, _path, _logged_in in scaleout.SCENARIOS
    ]
    text = scaleout.document(rows, 10, 16, (1.0, 2.0))
    assert text.startswith("# Scale-out: the demo on several hosts")
    me = "`GET /api/v1/me`, logged in (session + 1 query)"
    assert f"| 2 hosts | {me} | 170 | 10.0 | 40.0 | 1700 | 0 |" in text
    assert "**120 µs\nper request**" in text
    # 1000/160 - 1000/200 ms: the whole request's cost of Redis sessions.
    assert "from 200 to 160 requests/s\n(+1.25 ms per request" in text


# -- the cluster -------------------------------------------------------------------------


class Cluster:
    """The running cluster as the tests see it (from its state file)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.reload()

    def reload(self) -> None:
        self.state: dict[str, t.Any] = json.loads((self.state_dir / "state.json").read_text())
        self.url: str = self.state["url"]
        self.hosts = {h["name"]: f"{h['address']}:8000" for h in self.state["hosts"]}
        self.names = {address: name for name, address in self.hosts.items()}

    def cli(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return run_cli(self.state_dir, *args, timeout=timeout)

    def redis(self) -> redis.Redis:
        info = self.state["redis"]
        return redis.Redis(
            host="127.0.0.1", port=info["port"], password=info["password"], socket_timeout=5
        )

    def served_by(self, response: httpx.Response) -> str:
        """The host that answered (the last one nginx tried)."""
        return self.names[response.headers["X-Upstream"].split(", ")[-1]]

    def client(self, local_address: str | None = None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=local_address)
        return httpx.Client(base_url=self.url, transport=transport, timeout=15)


def run_cli(state_dir: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLUSTER), "--state", str(state_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def netns_refusal() -> str | None:
    """Why this machine cannot make network namespaces (None if it can)."""
    if shutil.which("ip") is None and not os.path.exists("/usr/sbin/ip"):
        return "the `ip` command (iproute2) is missing"
    probe = f"tbprobe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` is refused here ({made.stderr.strip()}); the cluster needs root"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True, check=True)
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Cluster]:
    refusal = netns_refusal()
    if refusal is not None:
        pytest.skip(f"no network namespaces: {refusal}")
    if shutil.which("wrk") is None:
        pytest.fail(
            "wrk is missing: scripts/test installs it as root on Debian (apt-get install wrk)"
        )
    state_dir = tmp_path_factory.mktemp("cluster") / "state"
    started = run_cli(state_dir, "up", "--port", "0", timeout=110)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield Cluster(state_dir)
    finally:
        # test_down_leaves_nothing_behind normally did it already.
        if (state_dir / "state.json").exists():
            run_cli(state_dir, "down")


@pytest.fixture
def alice(cluster: Cluster) -> t.Iterator[httpx.Client]:
    with cluster.client() as client:
        page = client.get("/auth/login")
        data = {"csrf_token": csrf_token(page.text), "username": "alice", "password": "taskboard"}
        assert client.post("/auth/login", data=data).status_code == 302
        yield client


def test_the_cluster_runs_every_service(cluster: Cluster) -> None:
    # Through the wrapper the docs give: scripts/cluster status.
    env = {**os.environ, "TASKBOARD_CLUSTER_STATE": str(cluster.state_dir)}
    status = subprocess.run(
        [str(REPO / "scripts" / "cluster"), "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    for name, server in [("app1", "gunicorn"), ("app2", "gunicorn"), ("app3", "uvicorn")]:
        assert re.search(rf"{name} +pid \d+ +running  {server} http://\S+ -> 200", status.stdout)
    for name in ("nginx", "redis", "postgres", "worker"):
        assert re.search(rf"{name} +pid \d+ +running", status.stdout), status.stdout
    # Each host is on its own address in its own namespace.
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for host in cluster.state["hosts"]:
        assert host["namespace"] in namespaces
        addresses = subprocess.run(
            ["ip", "-n", host["namespace"], "-4", "addr"], capture_output=True, text=True
        ).stdout
        assert f"inet {host['address']}/24" in addresses
    # nginx serves the static files itself; the pages come from the hosts.
    logo = httpx.get(f"{cluster.url}/static/logo.svg")
    assert logo.headers["X-Served-By"] == "nginx-static" and "X-Upstream" not in logo.headers
    welcome = httpx.get(f"{cluster.url}/")
    assert welcome.status_code == 200 and "20 tasks" in welcome.text
    assert f"host {cluster.served_by(welcome)}" in welcome.text


def test_a_session_holds_whichever_host_answers(cluster: Cluster, alice: httpx.Client) -> None:
    sid = alice.cookies["session"]
    # Server-side: the cookie is only an id, the data is in Redis.
    assert "." not in sid
    store = cluster.redis()
    assert store.exists(f"session:{sid}")
    served = []
    for _ in range(9):
        me = alice.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["username"] == "alice"
        served.append(cluster.served_by(me))
    assert set(served) == set(cluster.hosts), served  # gunicorn and uvicorn hosts alike
    # Logging out on one host ends the session on all of them.
    token = csrf_token(alice.get("/").text)
    assert alice.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    after = [httpx.get(f"{cluster.url}/api/v1/me", cookies={"session": sid}) for _ in range(3)]
    assert [r.status_code for r in after] == [401, 401, 401]
    assert {cluster.served_by(r) for r in after} == set(cluster.hosts)


def test_the_statistics_are_computed_once_for_all_hosts(
    cluster: Cluster, alice: httpx.Client
) -> None:
    store = cluster.redis()
    store.delete("taskboard:team-stats")

    def stamps(count: int) -> list[tuple[str, str, str]]:
        found = []
        for _ in range(count):
            page = alice.get("/stats")
            assert page.status_code == 200
            match = re.search(
                r'class="computed-by">([^<]+)</span>\s*at <time class="computed-at">([^<]+)<',
                page.text,
            )
            assert match, page.text
            found.append((cluster.served_by(page), match.group(1), match.group(2)))
        return found

    first = stamps(6)
    assert {host for host, _by, _at in first} == set(cluster.hosts)
    # One computation, by the host that answered first, reused by the others.
    assert len({(by, at) for _host, by, at in first}) == 1
    assert first[0][1].startswith(f"{first[0][0]} (pid ")
    assert 0 < store.ttl("taskboard:team-stats") <= 60
    # Once the entry is gone, the next host computes it again, once.
    store.delete("taskboard:team-stats")
    second = stamps(3)
    assert len({(by, at) for _host, by, at in second}) == 1
    assert second[0][2] > first[0][2]


def test_the_login_rate_limit_counts_attempts_on_every_host(cluster: Cluster) -> None:
    # From 127.0.0.3: the limit is per client address (ProxyFix gives the app
    # the address nginx saw), and no other test logs in from there.
    with cluster.client(local_address="127.0.0.3") as client:
        attempts = []
        for _ in range(5):
            token = csrf_token(client.get("/auth/login").text)
            bad = {"csrf_token": token, "username": "alice", "password": "guess"}
            attempt = client.post("/auth/login", data=bad)
            assert attempt.status_code == 200
            assert "Invalid username or password." in attempt.text
            attempts.append(cluster.served_by(attempt))
        assert len(set(attempts)) >= 2, attempts  # several hosts counted them together
        token = csrf_token(client.get("/auth/login").text)
        good = {"csrf_token": token, "username": "alice", "password": "taskboard"}
        refused = client.post("/auth/login", data=good)
        assert refused.status_code == 429
        assert "Too many failed logins" in refused.text
    assert any(b"127.0.0.3" in key for key in cluster.redis().keys("LIMITS*"))
    # Another address is not affected.
    with cluster.client(local_address="127.0.0.4") as other:
        token = csrf_token(other.get("/auth/login").text)
        assert other.post("/auth/login", data=good | {"csrf_token": token}).status_code == 302


def test_a_job_enqueued_on_one_host_is_read_on_another(
    cluster: Cluster, alice: httpx.Client
) -> None:
    tasks = alice.get("/api/v1/tasks").json()["tasks"]
    token = csrf_token(alice.get("/").text)
    enqueued = alice.post("/exports", data={"csrf_token": token})
    assert enqueued.status_code == 302
    enqueued_on = cluster.served_by(enqueued)
    page_url = enqueued.headers["Location"]
    job = {}
    readers = set()
    deadline = time.monotonic() + 30
    for _ in range(300):
        poll = alice.get(f"{page_url}/status.json")
        assert poll.status_code == 200
        job = poll.json()
        assert job["state"] in ("PENDING", "STARTED", "SUCCESS"), job
        if job["state"] == "SUCCESS":
            readers.add(cluster.served_by(poll))
            if readers - {enqueued_on}:
                break
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert readers - {enqueued_on}, (enqueued_on, readers)
    result = job["result"]
    worker = cluster.state["processes"]["worker"]
    assert result["worker"] == f"worker1@{cluster.state['id']}"
    assert result["rows"] == len(tasks)
    # Done in a process of the worker's group, not on any app host.
    group = subprocess.run(
        ["ps", "-o", "pgid=", "-p", str(result["worker_pid"])], capture_output=True, text=True
    )
    assert int(group.stdout) == worker["pid"]
    download = alice.get(job["download"])
    assert download.status_code == 200
    lines = download.text.splitlines()
    assert lines[0].startswith("id,title,status,author") and len(lines) == len(tasks) + 1
    # The page polls the same state.
    assert 'data-status-url="' in alice.get(page_url).text
    # Nobody else may see it.
    with cluster.client() as stranger:
        assert stranger.get(f"{page_url}/status.json").status_code in (302, 404)


WRK_SCRIPT = """
-- Idempotent requests of a logged-in member, in turn; the summary as JSON.
local paths = {"/api/v1/me", "/api/v1/tasks?status=todo", "/", "/stats"}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class LoadRun:
    """wrk's idempotent load and a writer creating tasks, for ``seconds``."""

    def __init__(self, cluster: Cluster, client: httpx.Client, workdir: Path, seconds: int):
        self.cluster, self.client, self.seconds = cluster, client, seconds
        script = workdir / "load.lua"
        script.write_text(WRK_SCRIPT)
        cookie = f"session={client.cookies['session']}"
        command = ["wrk", "-t2", "-c6", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
        self.wrk = subprocess.Popen(
            [*command, "-H", f"Cookie: {cookie}", cluster.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.writes: list[tuple[str, int, int | None]] = []  # title, status, task id
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def _write(self) -> None:
        token = csrf_token(self.client.get("/").text)
        deadline = time.monotonic() + self.seconds
        for n in range(5000):
            if time.monotonic() > deadline:
                break
            title = f"load {os.getpid()} {time.monotonic_ns()} {n}"
            try:
                response = self.client.post(
                    "/api/v1/tasks", json={"title": title}, headers={"X-CSRFToken": token}
                )
            except httpx.TransportError:
                self.writes.append((title, 0, None))
                continue
            created = response.json()["id"] if response.status_code == 201 else None
            self.writes.append((title, response.status_code, created))

    def finish(self) -> dict[str, int]:
        output, _ = self.wrk.communicate(timeout=self.seconds + 30)
        self._writer.join(timeout=30)
        assert not self._writer.is_alive()
        summary = re.search(r"^\{.*\}$", output, re.M)
        assert summary, output
        return t.cast(dict[str, int], json.loads(summary.group(0)))


def access_log(cluster: Cluster) -> list[tuple[float, str, int, str]]:
    """nginx's log: (time, request line, status, upstreams tried)."""
    entries = []
    for line in (cluster.state_dir / "nginx" / "access.log").read_text().splitlines():
        match = re.match(r'([\d.]+) \S+ "([^"]*)" (\d+) upstream=(.*?) upstream_status=', line)
        assert match, line
        entries.append((float(match[1]), match[2], int(match[3]), match[4]))
    return entries


def test_killing_a_host_under_load_loses_no_write_and_fails_no_read(
    cluster: Cluster, alice: httpx.Client, tmp_path: Path
) -> None:
    victim = cluster.hosts["app2"]
    load = LoadRun(cluster, alice, tmp_path, seconds=12)
    time.sleep(3)
    killed_at = time.time()
    killed = cluster.cli("kill", "app2")
    assert killed.returncode == 0, killed.stderr
    time.sleep(3)
    started = cluster.cli("start", "app2")
    assert started.returncode == 0, started.stderr
    restarted_at = time.time()
    summary = load.finish()

    # No idempotent request failed: nginx passed each one on to another host.
    # The one exception nginx cannot help: a response the dead host had begun
    # to send (gunicorn writes the headers, then the body) has reached the
    # client in part, so it can only be cut. nginx logs each such case as
    # "while reading upstream" (not "... response header"); it takes a kill in
    # the microseconds between those two writes, and must be all there is.
    assert summary["requests"] > 200, summary
    errors = {k: v for k, v in summary.items() if k not in ("requests", "read")}
    assert errors == dict.fromkeys(errors, 0), summary
    error_log = (cluster.state_dir / "nginx" / "error.log").read_text()
    cut = re.findall(rf"while reading upstream, .*upstream: \"http://{victim}/", error_log)
    assert summary["read"] == len(cut) <= 1, (summary, cut)
    log = access_log(cluster)
    # Requests nginx first sent to the dead host and then to another one.
    retried = [e for e in log if e[0] >= killed_at and e[3].startswith(f"{victim}, ")]
    assert retried, log[-20:]
    assert all(status == 200 for _at, line, status, _up in retried if line.startswith("GET"))
    # Every write that was answered 201 is there; others failed visibly (a 502
    # for a POST that was on the killed host: nginx never resends a POST).
    created = [(title, task_id) for title, status, task_id in load.writes if status == 201]
    assert len(created) > 20, load.writes[:5]
    failed = [w for w in load.writes if w[1] != 201]
    assert all(status in (0, 502) for _title, status, _id in failed), failed
    assert len(failed) <= 2, failed
    board = {task["id"]: task["title"] for task in alice.get("/api/v1/tasks").json()["tasks"]}
    assert [board.get(task_id) for _title, task_id in created] == [t for t, _ in created]

    # The host rejoins: nginx sends it requests again after its fail_timeout.
    for _ in range(60):
        response = alice.get("/api/v1/me")
        assert response.status_code == 200
        if response.headers["X-Upstream"] == victim:
            break
        time.sleep(0.1)
    assert response.headers["X-Upstream"] == victim
    served_again = [e for e in access_log(cluster) if e[0] > restarted_at and e[3] == victim]
    assert served_again


def test_a_redis_restart_mid_run_is_survived(
    cluster: Cluster, alice: httpx.Client, tmp_path: Path
) -> None:
    sid = alice.cookies["session"]
    load = LoadRun(cluster, alice, tmp_path, seconds=6)
    time.sleep(2.5)
    redis_before = cluster.state["processes"]["redis"]["pid"]
    restarted = cluster.cli("restart", "redis")
    assert restarted.returncode == 0, restarted.stderr
    summary = load.finish()
    cluster.reload()
    assert cluster.state["processes"]["redis"]["pid"] != redis_before
    # The app's Redis clients retry for a few seconds: requests waited, none failed.
    errors = {k: v for k, v in summary.items() if k != "requests"}
    assert errors == dict.fromkeys(errors, 0), summary
    assert [status for _title, status, _id in load.writes].count(201) == len(load.writes)
    # Redis keeps an append-only file: the session outlived the restart.
    assert cluster.redis().exists(f"session:{sid}")
    for _ in range(3):
        assert alice.get("/api/v1/me").json()["username"] == "alice"
    # The worker reconnected to the broker: a new job is done.
    token = csrf_token(alice.get("/").text)
    page_url = alice.post("/exports", data={"csrf_token": token}).headers["Location"]
    deadline = time.monotonic() + 30
    state = ""
    while time.monotonic() < deadline and state != "SUCCESS":
        state = alice.get(f"{page_url}/status.json").json()["state"]
        time.sleep(0.2)
    assert state == "SUCCESS"


def live_group_members(pgid: int) -> list[int]:
    """The processes of group ``pgid`` that still run (zombies waiting to be reaped excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def cluster_namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.startswith("tb")}


def test_down_leaves_nothing_behind(cluster: Cluster) -> None:
    records = list(cluster.state["processes"].values())
    postgres_root = Path(cluster.state["postgres"]["root"])
    stopped = cluster.cli("down")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for record in records:
        assert live_group_members(record["pid"]) == [], record["argv"]
    assert not set(cluster.state["namespaces"]) & cluster_namespaces()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = {re.split(r"[@:]", line.split()[1])[0] for line in links.splitlines()}
    assert not set(cluster.state["links"]) & names
    assert not cluster.state_dir.exists()
    assert not postgres_root.exists()
    # A second down is harmless.
    assert cluster.cli("down").returncode == 0


def test_up_refuses_a_taken_port_before_making_anything(tmp_path: Path) -> None:
    refusal = netns_refusal()
    if refusal is not None:
        pytest.skip(f"no network namespaces: {refusal}")
    state_dir = tmp_path / "state"
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        failed = run_cli(state_dir, "up", "--port", str(port))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"127.0.0.1:{port} is taken: choose another with --port" in failed.stderr
    assert "==>" not in failed.stdout and not state_dir.exists()


def test_an_interrupted_up_undoes_what_it_made(tmp_path: Path) -> None:
    refusal = netns_refusal()
    if refusal is not None:
        pytest.skip(f"no network namespaces: {refusal}")
    # SIGTERM once the network, Redis and PostgreSQL are up (as Ctrl-C or a CI
    # timeout would): everything made so far must go.
    state_dir = tmp_path / "state"
    command = [sys.executable, str(CLUSTER), "--state", str(state_dir), "up", "--hosts", "1"]
    up = subprocess.Popen(
        [*command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        state: dict[str, t.Any] = {}
        deadline = time.monotonic() + 60
        while "url" not in state.get("postgres", {}):
            assert up.poll() is None and time.monotonic() < deadline, up.communicate()[0]
            time.sleep(0.05)
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                state = json.loads((state_dir / "state.json").read_text())
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=10)
    assert up.returncode == 143, output
    for record in state["processes"].values():
        assert live_group_members(record["pid"]) == [], record["argv"]
    assert not set(state["namespaces"]) & cluster_namespaces()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f" {state['id']}-" not in links
    assert not Path(state["postgres"]["root"]).exists()
    assert not state_dir.exists()
