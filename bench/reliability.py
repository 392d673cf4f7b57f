"""Reliability figures: a load soak of the demo app, plus the fuzz and leak runs.

    .venv/bin/python bench/reliability.py              # 60 s per server -> bench/RELIABILITY.md
    .venv/bin/python bench/reliability.py --seconds 10 --output -   # shorter, to stdout

The soak serves ``examples/taskboard`` from a fresh instance folder (a new
SQLite database seeded with the demo users and tasks) under gunicorn (2 sync
workers, ``wsgi:app``) and then under uvicorn (1 worker, ``asgi:app``), on
127.0.0.1, and drives each with ``wrk`` (Debian's ``wrk`` package) for a
bounded time. Before wrk starts, the script logs ``alice`` and ``bob`` in
through the login form (CSRF token and all) and keeps an anonymous session
with its own token; wrk's Lua script (:data:`WRK_SCRIPT`, one connection per
wrk thread so that each response is matched with the request it answers)
then cycles through a fixed mix (:data:`KINDS`): static files, the welcome,
login, board and edit pages, real logins (form POSTs that check a password
hash), tasks created through the form, the JSON API (reads, create, PATCH,
DELETE, and the expected 401 and 404 answers), and tasks deleted through the
delete form. Every created task is deleted again but those made through the
new-task form, whose id the form's redirect does not tell.

For each server it records the requests, every response whose status is not
the one its kind expects (a failed login answers 200, a bad CSRF token 400, a
crash 500), wrk's socket errors and timeouts, p50/p99 latency, each worker's
resident size (``VmRSS`` from ``/proc/<pid>/status``, sampled through the
run; growth from the first third to the last, by the thirds' means and by
their lowest values, which the check uses: see
:attr:`WorkerFigures.rss_floor_growth_pct`) and open file descriptors before
and after, and error lines in the server's log. The workers are the server
process's children (gunicorn), or the server process itself when it has none
(uvicorn with one worker). A short warm-up run comes first, so lazily built
caches and the thread and connection pools do not count as growth.

Two other scripts, written separately, are run when present and their JSON
figures get their own sections: ``fuzz/run.py --seconds N --json PATH`` and
``bench/leaks.py --apps N --json PATH``. When one is missing or fails, its
section says so and the soak figures are still written.

Only loopback is contacted; every wait has a deadline and every subprocess a
timeout; servers are started in their own session and stopped by PID. The
exit status is 1 when a check failed (unexpected responses, socket errors,
RSS growth of 10 % or more, file-descriptor growth, a worker restarted, an
error in the server's log).
``tests/test_reliability_smoke.py`` runs a 3-second version of the soak.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import quote, urlsplit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
EXAMPLE = REPO / "examples" / "taskboard"
OUTPUT = BENCH / "RELIABILITY.md"
FUZZ_SCRIPT = REPO / "fuzz" / "run.py"
LEAKS_SCRIPT = BENCH / "leaks.py"
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 10.0
#: RSS growth from the first third of the run to the last that fails the check.
RSS_GROWTH_LIMIT_PCT = 10.0
#: The demo's seeded users share this password (examples/taskboard/README.md).
PASSWORD = "taskboard"

WRK_MISSING = """\
wrk is not installed; the soak needs it to generate the load.
On Debian or Ubuntu: apt-get install wrk (scripts/test installs it when run as root).
"""


class SoakError(RuntimeError):
    """The soak could not run (a server did not start, a login failed, wrk failed)."""


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: how often per cycle, and the statuses it expects."""

    weight: int
    expected: frozenset[int]
    what: str


def _kind(weight: int, what: str, *expected: int) -> Kind:
    return Kind(weight, frozenset(expected), what)


#: The mix, built by :data:`WRK_SCRIPT`'s ``build`` function per kind. Weights
#: are per cycle of :func:`request_cycle` (a login checks a scrypt hash, tens of
#: milliseconds of CPU, so it is rare).
KINDS: dict[str, Kind] = {
    "static_css": _kind(10, "GET /static/style.css", 200),
    "static_svg": _kind(8, "GET /static/logo.svg", 200),
    "static_missing": _kind(2, "GET /static/no-such-file.css (404 expected)", 404),
    "page_welcome": _kind(4, "GET / anonymous (welcome page)", 200),
    "page_login": _kind(4, "GET /auth/login (form with CSRF token)", 200),
    "page_board": _kind(6, "GET /?mine=1 as bob (the board)", 200),
    "page_edit": _kind(4, "GET /tasks/<id>/edit as bob (form page)", 200),
    "login": _kind(1, "POST /auth/login as carol (form, CSRF, password check)", 302),
    "form_create": _kind(3, "POST /tasks/new as alice (form, CSRF)", 302),
    "form_delete": _kind(2, "POST /tasks/<id>/delete as alice (form, CSRF)", 302),
    "api_index": _kind(6, "GET /api/v1/", 200),
    "api_me": _kind(6, "GET /api/v1/me as bob", 200),
    "api_me_anonymous": _kind(2, "GET /api/v1/me anonymous (401 expected)", 401),
    "api_task": _kind(8, "GET /api/v1/tasks/<id> as bob", 200),
    "api_missing": _kind(2, "GET /api/v1/tasks/999999 (404 expected)", 404),
    "api_list": _kind(4, "GET /api/v1/tasks?status=done as bob", 200),
    "api_create": _kind(4, "POST /api/v1/tasks as alice (JSON, X-CSRFToken)", 201),
    "api_patch": _kind(2, "PATCH /api/v1/tasks/<seeded id> as alice (JSON description)", 200),
    "api_delete": _kind(2, "DELETE /api/v1/tasks/<id> as alice", 204),
}


def request_cycle(kinds: t.Mapping[str, Kind] = KINDS) -> list[str]:
    """One cycle of the mix: each kind ``weight`` times, spread out evenly.

    Smooth weighted round robin, so a cycle never bunches one kind together;
    deterministic, so every run sends the same sequence.
    """
    total = sum(kind.weight for kind in kinds.values())
    current = dict.fromkeys(kinds, 0)
    cycle: list[str] = []
    for _ in range(total):
        for name, kind in kinds.items():
            current[name] += kind.weight
        chosen = max(current, key=lambda name: current[name])
        current[chosen] -= total
        cycle.append(chosen)
    return cycle


#: The wrk script. Each wrk thread has one connection, so ``response`` always
#: answers the request ``request`` built last, and the thread keeps the ids of
#: the tasks it created through the API for the deletes (a delete with no id
#: pending becomes an ``api_index``). ``done`` prints one ``SOAK {...}`` JSON
#: line: wrk's totals, latency percentiles and the per-kind status tallies.
WRK_SCRIPT = r"""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

local cycle, pos, last, created, seq = {}, 0, nil, {}, 0
local task_ids = {}
tally = {}

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then error("missing " .. name) end
  return value
end

local alice, bob, anonymous, alice_token, anonymous_token, login_user

function init(args)
  for kind in string.gmatch(env("SOAK_CYCLE"), "[^,]+") do cycle[#cycle + 1] = kind end
  for id in string.gmatch(env("SOAK_TASK_IDS"), "[^,]+") do task_ids[#task_ids + 1] = id end
  alice = { Cookie = env("SOAK_ALICE_COOKIE") }
  bob = { Cookie = env("SOAK_BOB_COOKIE") }
  anonymous = { Cookie = env("SOAK_ANONYMOUS_COOKIE") }
  alice_token = env("SOAK_ALICE_TOKEN")
  anonymous_token = env("SOAK_ANONYMOUS_TOKEN")
  login_user = env("SOAK_LOGIN_USER")
  -- The threads start evenly spread over the cycle, so that a short run
  -- still sends every kind.
  local threads_total = tonumber(env("SOAK_CONNECTIONS"))
  pos = math.floor(((index or 1) - 1) * #cycle / threads_total)
end

local function with(base, extra)
  local headers = {}
  for k, v in pairs(base) do headers[k] = v end
  for k, v in pairs(extra) do headers[k] = v end
  return headers
end

local FORM = "application/x-www-form-urlencoded"

local function build(kind)
  seq = seq + 1
  local task = task_ids[(seq % #task_ids) + 1]
  if kind == "static_css" then return wrk.format("GET", "/static/style.css")
  elseif kind == "static_svg" then return wrk.format("GET", "/static/logo.svg")
  elseif kind == "static_missing" then return wrk.format("GET", "/static/no-such-file.css")
  elseif kind == "page_welcome" then return wrk.format("GET", "/")
  elseif kind == "page_login" then return wrk.format("GET", "/auth/login")
  elseif kind == "page_board" then return wrk.format("GET", "/?mine=1", bob)
  elseif kind == "page_edit" then return wrk.format("GET", "/tasks/" .. task .. "/edit", bob)
  elseif kind == "login" then
    return wrk.format("POST", "/auth/login", with(anonymous, { ["Content-Type"] = FORM }),
      "csrf_token=" .. anonymous_token .. "&username=" .. login_user .. "&password="
        .. env("SOAK_PASSWORD"))
  elseif kind == "form_create" then
    return wrk.format("POST", "/tasks/new", with(alice, { ["Content-Type"] = FORM }),
      "csrf_token=" .. alice_token .. "&title=soak+form+" .. index .. "-" .. seq
        .. "&description=made+by+the+soak&status=todo")
  elseif kind == "form_delete" then
    local id = table.remove(created)
    return wrk.format("POST", "/tasks/" .. id .. "/delete",
      with(alice, { ["Content-Type"] = FORM }), "csrf_token=" .. alice_token)
  elseif kind == "api_index" then return wrk.format("GET", "/api/v1/")
  elseif kind == "api_me" then return wrk.format("GET", "/api/v1/me", bob)
  elseif kind == "api_me_anonymous" then return wrk.format("GET", "/api/v1/me")
  elseif kind == "api_task" then return wrk.format("GET", "/api/v1/tasks/" .. task, bob)
  elseif kind == "api_missing" then return wrk.format("GET", "/api/v1/tasks/999999", bob)
  elseif kind == "api_list" then return wrk.format("GET", "/api/v1/tasks?status=done", bob)
  elseif kind == "api_create" then
    return wrk.format("POST", "/api/v1/tasks",
      with(alice, { ["Content-Type"] = "application/json", ["X-CSRFToken"] = alice_token }),
      '{"title": "soak api ' .. index .. '-' .. seq .. '", "description": "made by the soak"}')
  elseif kind == "api_patch" then
    return wrk.format("PATCH", "/api/v1/tasks/" .. task,
      with(alice, { ["Content-Type"] = "application/json", ["X-CSRFToken"] = alice_token }),
      '{"description": "patched by the soak (' .. index .. '-' .. seq .. ')"}')
  elseif kind == "api_delete" then
    local id = table.remove(created)
    return wrk.format("DELETE", "/api/v1/tasks/" .. id,
      with(alice, { ["X-CSRFToken"] = alice_token }))
  end
  error("unknown kind " .. kind)
end

function request()
  pos = (pos % #cycle) + 1
  local kind = cycle[pos]
  if (kind == "api_delete" or kind == "form_delete") and #created == 0 then
    kind = "api_index"
  end
  last = kind
  return build(kind)
end

function response(status, headers, body)
  local kind = last or "unknown"
  -- Flat keys: wrk's thread:get crashes copying nested tables.
  local key = kind .. " " .. status
  tally[key] = (tally[key] or 0) + 1
  if kind == "api_create" and status == 201 then
    local id = string.match(body, '"id":%s*(%d+)')
    if id then created[#created + 1] = id end
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("tally") or {}) do
      local kind, status = string.match(key, "^(%S+) (%d+)$")
      merged[kind] = merged[kind] or {}
      merged[kind][status] = (merged[kind][status] or 0) + n
    end
  end
  local kinds = {}
  for kind, counts in pairs(merged) do
    local parts = {}
    for status, n in pairs(counts) do parts[#parts + 1] = string.format('"%s": %d', status, n) end
    kinds[#kinds + 1] = string.format('"%s": {%s}', kind, table.concat(parts, ", "))
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d}, "tally": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50.0),
    latency:percentile(99.0), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(kinds, ", ")))
end
"""


# --------------------------------------------------------------------------
# /proc


def parent_pid(pid: int) -> int | None:
    """The parent of ``pid`` from ``/proc/<pid>/stat``, or ``None`` if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces.
    return int(stat.rpartition(")")[2].split()[1])


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and parent_pid(int(entry)) == pid:
            found.append(int(entry))
    return sorted(found)


def worker_pids(server_pid: int) -> list[int]:
    """The processes serving requests: the server's children, else the server itself."""
    return children(server_pid) or [server_pid]


def rss_kib(pid: int) -> int | None:
    """``VmRSS`` of ``pid`` in KiB, or ``None`` if the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(match.group(1)) if match else None


def fd_count(pid: int) -> int | None:
    """How many file descriptors ``pid`` has open, or ``None`` if it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def growth_pct(
    samples: t.Sequence[float], summary: t.Callable[[t.Sequence[float]], float] = statistics.fmean
) -> float | None:
    """Growth from the first third of ``samples`` to the last, each summarised by ``summary``."""
    third = len(samples) // 3
    if third == 0:
        return None
    first = summary(samples[:third])
    last = summary(samples[-third:])
    return (last - first) / first * 100.0


class RssSampler:
    """Samples the ``VmRSS`` of some processes every ``interval`` seconds, in a thread."""

    def __init__(self, pids: t.Sequence[int], interval: float) -> None:
        self.pids = list(pids)
        self.interval = interval
        self.samples: dict[int, list[int]] = {pid: [] for pid in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            for pid in self.pids:
                value = rss_kib(pid)
                if value is not None:
                    self.samples[pid].append(value)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------
# Servers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_command(server: str, port: int) -> list[str]:
    """The command line that serves the demo with ``server`` on ``port``."""
    if server == "gunicorn":
        return [
            str(BIN / "gunicorn"),
            "--chdir",
            str(EXAMPLE),
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            # Other engineers' gunicorns share the default control socket path.
            "--no-control-socket",
            "wsgi:app",
        ]
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(EXAMPLE),
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
            "asgi:app",
        ]
    raise ValueError(f"unknown server {server!r} (gunicorn or uvicorn)")


SERVERS = ("gunicorn", "uvicorn")
SERVER_SETUP = {
    "gunicorn": "gunicorn, 2 sync workers, `wsgi:app` (the WSGI door)",
    "uvicorn": "uvicorn, 1 worker (the server process), `asgi:app` (the ASGI door)",
}


def _get(base: str, path: str, cookie: str | None = None, timeout: float = REQUEST_TIMEOUT) -> int:
    status, _, _ = http_request(base, "GET", path, cookie=cookie, timeout=timeout)
    return status


@dataclasses.dataclass
class Server:
    """A running server: its process, base URL, instance folder and log file."""

    name: str
    proc: subprocess.Popen[bytes]
    base: str
    workdir: Path
    log_path: Path

    def log_errors(self) -> list[str]:
        """Lines of the server's log that report an error or a traceback."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        pattern = re.compile(r"Traceback|\[ERROR\]|^ERROR:|WORKER TIMEOUT|\[CRITICAL\]")
        return [line for line in text.splitlines() if pattern.search(line)]

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for error messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def serving(server: str, workdir: Path) -> t.Iterator[Server]:
    """Serve the demo with ``server`` from the instance folder ``workdir/instance``.

    The demo creates and seeds its database there on the first start.

    Ready once ``/static/logo.svg`` answers 200 and every worker has booted.
    The server runs in its own session and is stopped by PID (its process
    group), with SIGKILL if SIGINT has not ended it in time.
    """
    port = free_port()
    log_path = workdir / f"{server}.log"
    env = {
        **os.environ,
        "TASKBOARD_INSTANCE_PATH": str(workdir / "instance"),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            server_command(server, port),
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    running = Server(server, proc, f"http://{HOST}:{port}", workdir, log_path)
    try:
        _wait_ready(running)
        yield running
    finally:
        stop(proc)


def _wait_ready(server: Server) -> None:
    want = 2 if server.name == "gunicorn" else 1
    deadline = time.monotonic() + BOOT_TIMEOUT
    while True:
        if server.proc.poll() is not None:
            raise SoakError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        try:
            if _get(server.base, "/static/logo.svg", timeout=2) == 200 and (
                len(worker_pids(server.proc.pid)) == want
            ):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SoakError(
                f"{server.name} did not answer within {BOOT_TIMEOUT:.0f} s:\n{server.log_tail()}"
            )
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` and its process group: SIGINT, then SIGKILL after a timeout.

    SIGINT is gunicorn's quick shutdown (on SIGTERM each idle sync worker
    first sits out its wait for a connection, about a second) and uvicorn's
    usual one.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)


# --------------------------------------------------------------------------
# Logging in (before wrk starts)


def http_request(
    base: str,
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    body: str | None = None,
    content_type: str | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> tuple[int, dict[str, list[str]], str]:
    """One request to the server; no redirect is followed. Status, headers, body."""
    netloc = urlsplit(base).netloc
    conn = http.client.HTTPConnection(netloc, timeout=timeout)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if content_type:
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        found: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            found.setdefault(name.lower(), []).append(value)
        return response.status, found, text
    finally:
        conn.close()


def _session_cookie(headers: dict[str, list[str]], previous: str | None) -> str | None:
    for value in headers.get("set-cookie", []):
        pair = value.split(";", 1)[0].strip()
        if pair.startswith("session="):
            return pair
    return previous


_FORM_TOKEN = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


def form_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = _FORM_TOKEN.search(html)
    if match is None:
        raise SoakError("no csrf_token field in the page")
    return match.group(1) or match.group(2)


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What wrk's script sends: session cookies and CSRF tokens, ids of seeded tasks."""

    alice_cookie: str
    alice_token: str
    bob_cookie: str
    anonymous_cookie: str
    anonymous_token: str
    task_ids: tuple[int, ...]
    login_user: str = "carol"
    password: str = PASSWORD

    def environment(self) -> dict[str, str]:
        """The ``SOAK_*`` variables :data:`WRK_SCRIPT` reads."""
        return {
            "SOAK_ALICE_COOKIE": self.alice_cookie,
            "SOAK_ALICE_TOKEN": quote(self.alice_token, safe=""),
            "SOAK_BOB_COOKIE": self.bob_cookie,
            "SOAK_ANONYMOUS_COOKIE": self.anonymous_cookie,
            "SOAK_ANONYMOUS_TOKEN": quote(self.anonymous_token, safe=""),
            "SOAK_LOGIN_USER": quote(self.login_user, safe=""),
            "SOAK_PASSWORD": quote(self.password, safe=""),
            "SOAK_TASK_IDS": ",".join(map(str, self.task_ids)),
        }

    def tampered(self) -> Credentials:
        """The same with a wrong CSRF token for alice and a wrong login password.

        For checking that the error count sees failures: alice's posts are
        refused (400), and the logins re-render the form (200).
        """
        return dataclasses.replace(self, alice_token="not-a-token", password="wrong")


def anonymous_session(base: str) -> tuple[str, str]:
    """A fresh session cookie from the login page, and that page's CSRF token."""
    status, headers, html = http_request(base, "GET", "/auth/login")
    cookie = _session_cookie(headers, None)
    if status != 200 or cookie is None:
        raise SoakError(f"GET /auth/login answered {status} (session cookie: {cookie})")
    return cookie, form_token(html)


def log_in(base: str, username: str, password: str = PASSWORD) -> tuple[str, str]:
    """Log ``username`` in through the form; their session cookie and a CSRF token."""
    cookie, token = anonymous_session(base)
    body = f"csrf_token={quote(token)}&username={quote(username)}&password={quote(password)}"
    status, headers, _ = http_request(
        base,
        "POST",
        "/auth/login",
        cookie=cookie,
        body=body,
        content_type="application/x-www-form-urlencoded",
    )
    location = headers.get("location", [""])[0]
    logged_in = _session_cookie(headers, None)
    if status != 302 or urlsplit(location).path != "/" or logged_in is None:
        raise SoakError(f"logging {username} in answered {status} to {location!r}")
    status, _, html = http_request(base, "GET", "/tasks/new", cookie=logged_in)
    if status != 200:
        raise SoakError(f"GET /tasks/new as {username} answered {status}")
    return logged_in, form_token(html)


def prepare(base: str) -> Credentials:
    """Log alice and bob in, open an anonymous session, and find seeded tasks."""
    alice_cookie, alice_token = log_in(base, "alice")
    bob_cookie, _ = log_in(base, "bob")
    anonymous_cookie, anonymous_token = anonymous_session(base)
    status, _, text = http_request(base, "GET", "/api/v1/tasks", cookie=bob_cookie)
    if status != 200:
        raise SoakError(f"GET /api/v1/tasks answered {status}")
    ids = tuple(task["id"] for task in json.loads(text)["tasks"][:10])
    if not ids:
        raise SoakError("the demo database has no tasks (seeding failed?)")
    return Credentials(
        alice_cookie, alice_token, bob_cookie, anonymous_cookie, anonymous_token, ids
    )


# --------------------------------------------------------------------------
# wrk


@dataclasses.dataclass
class WrkRun:
    """wrk's figures for one run, and the statuses per kind of request."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: dict[str, int]
    timeouts: int
    tally: dict[str, dict[int, int]]

    @property
    def responses(self) -> int:
        """Responses counted by the script, all kinds together."""
        return sum(sum(counts.values()) for counts in self.tally.values())

    def unexpected(self) -> dict[str, dict[int, int]]:
        """Responses whose status their kind does not expect, per kind and status."""
        found: dict[str, dict[int, int]] = {}
        for kind, counts in self.tally.items():
            expected = KINDS[kind].expected if kind in KINDS else frozenset()
            bad = {status: n for status, n in counts.items() if status not in expected}
            if bad:
                found[kind] = bad
        return found

    @property
    def unexpected_count(self) -> int:
        """How many responses had a status their kind does not expect."""
        return sum(sum(counts.values()) for counts in self.unexpected().values())

    @property
    def error_count(self) -> int:
        """Unexpected statuses, socket errors and timeouts together."""
        return self.unexpected_count + sum(self.socket_errors.values()) + self.timeouts


def parse_wrk_output(stdout: str) -> WrkRun:
    """The ``SOAK {...}`` line printed by :data:`WRK_SCRIPT`'s ``done``."""
    for line in stdout.splitlines():
        if line.startswith("SOAK "):
            data = json.loads(line[5:])
            break
    else:
        raise SoakError(f"wrk printed no SOAK line:\n{stdout[-2000:]}")
    errors = data["errors"]
    return WrkRun(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        socket_errors={k: int(errors[k]) for k in ("connect", "read", "write")},
        timeouts=int(errors["timeout"]),
        tally={
            kind: {int(status): int(n) for status, n in counts.items()}
            for kind, counts in data["tally"].items()
        },
    )


def wrk_binary() -> str:
    """The ``wrk`` executable, or :class:`SoakError` saying how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise SoakError(WRK_MISSING)
    return found


def run_wrk(
    base: str,
    seconds: int,
    connections: int,
    credentials: Credentials,
    script: Path,
    cycle: t.Sequence[str] | None = None,
) -> WrkRun:
    """Drive ``base`` for ``seconds`` with ``connections`` (one per wrk thread).

    ``cycle`` is the sequence of kinds each thread repeats; by default
    :func:`request_cycle`, the whole mix.
    """
    cycle = request_cycle() if cycle is None else list(cycle)
    unknown = sorted(set(cycle) - set(KINDS))
    if unknown or not cycle:
        raise ValueError(f"a cycle needs kinds from KINDS; unknown: {unknown}")
    command = [
        wrk_binary(),
        "-t",
        str(connections),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{REQUEST_TIMEOUT:.0f}s",
        "-s",
        str(script),
        base,
    ]
    env = {
        **os.environ,
        **credentials.environment(),
        "SOAK_CYCLE": ",".join(cycle),
        "SOAK_CONNECTIONS": str(connections),
    }
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise SoakError(f"wrk did not finish within {seconds + 60} s") from e
    if done.returncode != 0:
        raise SoakError(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk_output(done.stdout)


# --------------------------------------------------------------------------
# The soak


@dataclasses.dataclass
class WorkerFigures:
    """One worker's resident size and open file descriptors over the run."""

    pid: int
    rss_kib: list[int]
    fds_start: int | None
    fds_end: int | None

    @property
    def rss_growth_pct(self) -> float | None:
        """Growth from the first third's mean RSS to the last third's."""
        return growth_pct(self.rss_kib)

    @property
    def rss_floor_growth_pct(self) -> float | None:
        """Growth from the first third's lowest RSS to the last third's.

        What the check uses: each login computes a scrypt hash (Werkzeug's
        default), which takes 32 MiB for a moment, so a sample that lands on
        one is that much higher and the thirds' means move by chance. Memory
        that leaks raises the level the worker comes back down to.
        """
        return growth_pct(self.rss_kib, min)

    @property
    def fd_growth(self) -> int | None:
        """Open file descriptors at the end minus at the start."""
        if self.fds_start is None or self.fds_end is None:
            return None
        return self.fds_end - self.fds_start


@dataclasses.dataclass
class SoakResult:
    """The figures of one server's soak."""

    server: str
    seconds: int
    warmup_seconds: int
    connections: int
    run: WrkRun
    workers: list[WorkerFigures]
    workers_after: list[int]
    log_errors: list[str]

    @property
    def requests_per_second(self) -> float:
        """Requests completed per second of the measured run."""
        return self.run.requests / self.run.seconds if self.run.seconds else 0.0

    def problems(self) -> list[str]:
        """What failed the checks; empty when everything is as expected."""
        found = []
        if self.run.unexpected_count:
            found.append(
                f"{self.run.unexpected_count} unexpected responses {self.run.unexpected()}"
            )
        socket_errors = sum(self.run.socket_errors.values())
        if socket_errors:
            found.append(f"{socket_errors} socket errors {self.run.socket_errors}")
        if self.run.timeouts:
            found.append(f"{self.run.timeouts} timeouts")
        if self.run.responses == 0:
            found.append("no response at all")
        if sorted(w.pid for w in self.workers) != sorted(self.workers_after):
            found.append(
                f"workers changed: {[w.pid for w in self.workers]} -> {self.workers_after}"
            )
        for worker in self.workers:
            growth = worker.rss_floor_growth_pct
            if growth is not None and growth >= RSS_GROWTH_LIMIT_PCT:
                found.append(f"worker {worker.pid}: RSS (lowest per third) grew {growth:.1f} %")
            if worker.fd_growth is not None and worker.fd_growth > 0:
                found.append(
                    f"worker {worker.pid}: file descriptors {worker.fds_start} -> {worker.fds_end}"
                )
        if self.log_errors:
            found.append(f"{len(self.log_errors)} error lines in the server log")
        return found


def measure(
    server: Server,
    seconds: int,
    *,
    warmup: int = 5,
    connections: int = 8,
    credentials: Credentials | None = None,
) -> SoakResult:
    """Warm ``server`` up, then soak it for ``seconds`` while sampling its workers."""
    credentials = credentials or prepare(server.base)
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        script = Path(scratch) / "soak.lua"
        script.write_text(WRK_SCRIPT)
        # Counted after a pause both times, when the server has seen wrk's
        # connections closed.
        settle = min(1.0, max(0.3, seconds / 60))
        if warmup > 0:
            run_wrk(server.base, warmup, connections, credentials, script)
            time.sleep(settle)
        pids = worker_pids(server.proc.pid)
        fds_start = {pid: fd_count(pid) for pid in pids}
        interval = max(0.1, min(1.0, seconds / 30))
        with RssSampler(pids, interval) as sampler:
            run = run_wrk(server.base, seconds, connections, credentials, script)
        time.sleep(settle)
        workers = [
            WorkerFigures(pid, sampler.samples[pid], fds_start[pid], fd_count(pid)) for pid in pids
        ]
    return SoakResult(
        server=server.name,
        seconds=seconds,
        warmup_seconds=warmup,
        connections=connections,
        run=run,
        workers=workers,
        workers_after=worker_pids(server.proc.pid),
        log_errors=server.log_errors(),
    )


def soak(server: str, seconds: int, *, warmup: int = 5, connections: int = 8) -> SoakResult:
    """Serve the demo with ``server`` from a fresh instance folder and soak it."""
    with (
        tempfile.TemporaryDirectory(prefix=f"soak-{server}-") as workdir,
        serving(server, Path(workdir)) as running,
    ):
        return measure(running, seconds, warmup=warmup, connections=connections)


# --------------------------------------------------------------------------
# The other engineers' scripts (optional)


@dataclasses.dataclass
class External:
    """The JSON figures of an optional script, or why there are none."""

    script: str
    command: list[str]
    data: dict[str, t.Any] | None
    note: str


def run_external(
    script: Path, args: t.Sequence[str], timeout: float, check: t.Callable[[t.Any], None]
) -> External:
    """Run ``script ARGS --json PATH`` if it exists; its figures or what went wrong.

    ``check`` raises ``KeyError``, ``TypeError`` or ``ValueError`` when the JSON
    does not have the agreed shape.
    """
    shown = str(script.relative_to(REPO)) if script.is_relative_to(REPO) else str(script)
    if not script.exists():
        return External(shown, [], None, f"not run: {shown} is not in the repository")
    with tempfile.TemporaryDirectory(prefix="reliability-") as scratch:
        out = Path(scratch) / "figures.json"
        command = [sys.executable, str(script), *args, "--json", str(out)]
        display = ["python", shown, *args, "--json", "PATH"]
        try:
            done = subprocess.run(
                command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return External(shown, display, None, f"{shown} did not finish within {timeout:.0f} s")
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-10:])
            return External(shown, display, None, f"{shown} exited with {done.returncode}: {tail}")
        try:
            data = json.loads(out.read_text())
            check(data)
        except (OSError, ValueError, KeyError, TypeError) as e:
            return External(shown, display, None, f"{shown} wrote no usable JSON: {e!r}")
    return External(shown, display, data, "")


def check_fuzz(data: t.Any) -> None:
    """``{"targets": {name: {"executions", "corpus_size", "crashes", "seconds"}}}``."""
    targets = data["targets"]
    if not isinstance(targets, dict) or not targets:
        raise ValueError("'targets' must be a non-empty object")
    for figures in targets.values():
        for key in ("executions", "corpus_size", "crashes", "seconds"):
            float(figures[key])


def check_leaks(data: t.Any) -> None:
    """``{"apps", "rss_start_kib", "rss_end_kib", "growth_pct_last_vs_first_third", "seconds"}``."""
    for key in (
        "apps",
        "rss_start_kib",
        "rss_end_kib",
        "growth_pct_last_vs_first_third",
        "seconds",
    ):
        float(data[key])


# --------------------------------------------------------------------------
# The report


def machine_facts(load: tuple[float, float, float] | None = None) -> dict[str, str]:
    """The facts the report's header gives about this machine and its tools.

    ``load`` is the load average when the run started (default: now).
    """
    one, five, fifteen = os.getloadavg() if load is None else load
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = "not installed"
    if shutil.which("wrk"):
        done = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        wrk = (done.stdout + done.stderr).splitlines()[0].split(" Copyright")[0]
    versions = {}
    for name in ("gunicorn", "uvicorn", "werkzeug", "sqlalchemy"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": f"{one:.2f}, {five:.2f}, {fifteen:.2f}",
        "nproc": str(os.cpu_count()),
        "cpu": cpu or platform.processor() or "unknown",
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk,
        **versions,
    }


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


def render(
    results: t.Sequence[SoakResult],
    fuzz: External | None,
    leaks: External | None,
    facts: dict[str, str],
    command: str,
) -> str:
    """``RELIABILITY.md``: the header, the soak per server, then fuzz and leaks."""
    out: list[str] = []
    add = out.append
    add("# Reliability figures")
    add("")
    add(f"Generated by `{command}` on {facts['date']}.")
    add("")
    add(
        f"Machine: `nproc` = {facts['nproc']} ({facts['cpu']}), Python {facts['python']}, "
        f"Linux {facts['kernel']}; {facts['wrk']}, gunicorn {facts['gunicorn']}, "
        f"uvicorn {facts['uvicorn']}, Werkzeug {facts['werkzeug']}, "
        f"SQLAlchemy {facts['sqlalchemy']}. Load average (1, 5, 15 min) when the run "
        f"started: {facts['load']}."
    )
    add("")
    add(
        "**The machine is shared** with other engineers running test suites while this ran, "
        "and the load generator shares its cores with the server: latencies and request "
        "rates are noisy, and only the error counts, the RSS growth and the file-descriptor "
        "counts are meant to be compared between runs."
    )
    add("")
    add("## Load soak of the demo app (`examples/taskboard`)")
    add("")
    add(
        "Each server serves the demo from a fresh SQLite instance on 127.0.0.1 and is driven "
        "by `wrk` with the Lua script in `bench/reliability.py`: one connection per wrk "
        "thread, each cycling through the mix below (logins through the login form with "
        "its CSRF token, tasks created and deleted through the HTML forms and through the "
        "JSON API, pages, static files, and requests whose 401/404 is the expected answer). "
        "A warm-up run comes first; RSS is sampled during the measured run only."
    )
    add("")
    cycle = request_cycle()
    add("| kind | request | per cycle | expected |")
    add("|---|---|---:|---|")
    for name, kind in KINDS.items():
        expected = ", ".join(map(str, sorted(kind.expected)))
        add(f"| `{name}` | {kind.what} | {cycle.count(name)}/{len(cycle)} | {expected} |")
    add("")
    add(
        "A delete with no task of the thread's own left to act on is sent as "
        "`api_index` instead, so per-kind counts differ a little from the weights."
    )
    add("")
    if results:
        add(
            "| server | setup | run | requests | req/s | errors | p50 | p99 | max "
            "| RSS growth per worker, first → last third (mean / lowest) "
            "| fds per worker, start → end | check |"
        )
        add("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|")
        for r in results:
            growth = "; ".join(
                f"{_pct(w.rss_growth_pct)} / {_pct(w.rss_floor_growth_pct)}" for w in r.workers
            )
            fds = "; ".join(f"{w.fds_start} → {w.fds_end}" for w in r.workers)
            add(
                f"| {r.server} | {SERVER_SETUP[r.server]} | {r.seconds} s "
                f"(+{r.warmup_seconds} s warm-up), {r.connections} connections "
                f"| {r.run.requests} | {r.requests_per_second:.0f} | {r.run.error_count} "
                f"| {_ms(r.run.p50_ms)} | {_ms(r.run.p99_ms)} | {_ms(r.run.max_ms)} "
                f"| {growth} | {fds} | {'passed' if not r.problems() else 'FAILED'} |"
            )
        add("")
        add(
            "Errors are responses whose status the kind does not expect, plus wrk's socket "
            "errors (connect, read, write) and timeouts (10 s). RSS is `VmRSS` of each "
            "worker, sampled through the run (every second in runs of 30 s or more); growth "
            "compares the first third of the samples with the last, by their mean and by "
            "their lowest value. Each login computes a "
            "scrypt password hash, which holds 32 MiB for a moment, so samples that land on "
            "one are that much higher and the means move by chance; the check (below 10 %) "
            "is on the lowest values, the level a worker comes back down to, which is what a "
            "leak raises. File descriptors are counted after the warm-up and after the run, "
            "each time once wrk's connections are closed."
        )
        for r in results:
            add("")
            add(f"### {r.server}")
            add("")
            add(
                f"- requests: {r.run.requests} in {r.run.seconds:.1f} s; responses counted "
                f"per kind: {r.run.responses}"
            )
            add(
                f"- unexpected statuses: {r.run.unexpected_count} {r.run.unexpected() or ''}; "
                f"socket errors: {r.run.socket_errors}; timeouts: {r.run.timeouts}"
            )
            add(f"- error lines in the server's log: {len(r.log_errors)}")
            for line in r.log_errors[:5]:
                add(f"  - `{line.strip()[:160]}`")
            for w in r.workers:
                samples = w.rss_kib
                span = f"{min(samples)} to {max(samples)} KiB" if samples else "no samples"
                add(
                    f"- worker {w.pid}: RSS {span} over {len(samples)} samples, growth "
                    f"{_pct(w.rss_growth_pct)} by the thirds' means, "
                    f"{_pct(w.rss_floor_growth_pct)} by their lowest; file descriptors "
                    f"{w.fds_start} → {w.fds_end}"
                )
            problems = r.problems()
            add(f"- check: {'passed' if not problems else 'FAILED: ' + '; '.join(problems)}")
            add("")
            add("| kind | responses by status |")
            add("|---|---|")
            for name in KINDS:
                counts = r.run.tally.get(name, {})
                shown = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())) or "none"
                add(f"| `{name}` | {shown} |")
    add("")
    add("## Fuzzing (`fuzz/run.py`)")
    add("")
    if fuzz is None:
        add("Not run (`--fuzz-seconds 0`).")
    elif fuzz.data is None:
        add(fuzz.note + ".")
    else:
        add(f"`{' '.join(fuzz.command)}`")
        add("")
        add("| target | executions | corpus size | crashes | seconds |")
        add("|---|---:|---:|---:|---:|")
        for name, f in fuzz.data["targets"].items():
            add(
                f"| {name} | {f['executions']} | {f['corpus_size']} | {f['crashes']} "
                f"| {f['seconds']} |"
            )
    add("")
    add("## Leaks across many apps (`bench/leaks.py`)")
    add("")
    if leaks is None:
        add("Not run (`--leak-apps 0`).")
    elif leaks.data is None:
        add(leaks.note + ".")
    else:
        d = leaks.data
        add(f"`{' '.join(leaks.command)}`")
        add("")
        add("| apps | RSS start | RSS end | growth, last vs first third | seconds |")
        add("|---:|---:|---:|---:|---:|")
        add(
            f"| {d['apps']} | {d['rss_start_kib']} KiB | {d['rss_end_kib']} KiB "
            f"| {float(d['growth_pct_last_vs_first_third']):+.1f} % | {d['seconds']} |"
        )
    add("")
    return "\n".join(out)


def to_json(results: t.Sequence[SoakResult]) -> list[dict[str, t.Any]]:
    """The soak figures as plain data (``--json``)."""
    rows = []
    for r in results:
        rows.append(
            {
                "server": r.server,
                "seconds": r.seconds,
                "requests": r.run.requests,
                "requests_per_second": r.requests_per_second,
                "errors": r.run.error_count,
                "unexpected": {
                    k: {str(s): n for s, n in v.items()} for k, v in r.run.unexpected().items()
                },
                "socket_errors": r.run.socket_errors,
                "timeouts": r.run.timeouts,
                "p50_ms": r.run.p50_ms,
                "p99_ms": r.run.p99_ms,
                "workers": [
                    {
                        "pid": w.pid,
                        "rss_kib": w.rss_kib,
                        "rss_growth_pct": w.rss_growth_pct,
                        "rss_floor_growth_pct": w.rss_floor_growth_pct,
                        "fds_start": w.fds_start,
                        "fds_end": w.fds_end,
                    }
                    for w in r.workers
                ],
                "problems": r.problems(),
            }
        )
    return rows


def shown_command(args: t.Sequence[str]) -> str:
    """The command line for the report's header, without this machine's file paths."""
    shown = ["python", "bench/reliability.py"]
    hide_next = False
    for arg in args:
        if hide_next:
            shown.append("PATH")
            hide_next = False
        elif arg in ("--json", "--output"):
            shown.append(arg)
            hide_next = True
        elif arg.startswith(("--json=", "--output=")):
            shown.append(arg.split("=", 1)[0] + "=PATH")
        else:
            shown.append(arg)
    return " ".join(shown)


def main(argv: t.Sequence[str] | None = None) -> int:
    """Run the soaks and the optional scripts, write the report; 1 if a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=60, help="measured soak per server")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up run per server (s)")
    parser.add_argument("--connections", type=int, default=8, help="wrk threads = connections")
    parser.add_argument("--servers", default=",".join(SERVERS), help="gunicorn,uvicorn")
    parser.add_argument("--fuzz-seconds", type=int, default=60, help="0: skip fuzz/run.py")
    parser.add_argument("--leak-apps", type=int, default=200, help="0: skip bench/leaks.py")
    parser.add_argument("--output", default=str(OUTPUT), help="the report; '-' for stdout")
    parser.add_argument("--json", dest="json_path", help="also write the soak figures as JSON")
    args = parser.parse_args(argv)
    servers = [s for s in args.servers.split(",") if s]
    for server in servers:
        if server not in SERVERS:
            parser.error(f"unknown server {server!r}; choose from {', '.join(SERVERS)}")
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")

    load_at_start = os.getloadavg()
    results = []
    for server in servers:
        print(f"==> {server}: {args.warmup} s warm-up, {args.seconds} s soak", file=sys.stderr)
        result = soak(server, args.seconds, warmup=args.warmup, connections=args.connections)
        print(
            f"    {result.run.requests} requests, {result.run.error_count} errors, "
            f"p50 {_ms(result.run.p50_ms)}, p99 {_ms(result.run.p99_ms)}",
            file=sys.stderr,
        )
        results.append(result)
    fuzz = leaks = None
    if args.fuzz_seconds > 0:
        print(f"==> fuzz/run.py --seconds {args.fuzz_seconds}", file=sys.stderr)
        fuzz = run_external(
            FUZZ_SCRIPT,
            ["--seconds", str(args.fuzz_seconds)],
            args.fuzz_seconds * 3 + 300,
            check_fuzz,
        )
    if args.leak_apps > 0:
        print(f"==> bench/leaks.py --apps {args.leak_apps}", file=sys.stderr)
        leaks = run_external(LEAKS_SCRIPT, ["--apps", str(args.leak_apps)], 1800, check_leaks)

    command = shown_command(sys.argv[1:] if argv is None else list(argv))
    report = render(results, fuzz, leaks, machine_facts(load_at_start), command)
    if args.output == "-":
        print(report)
    else:
        Path(args.output).write_text(report)
        print(f"wrote {args.output}", file=sys.stderr)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(to_json(results), indent=2) + "\n")
    failed = [f"{r.server}: {p}" for r in results for p in r.problems()]
    for line in failed:
        print(f"check failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
