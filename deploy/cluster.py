"""Run the taskboard demo as a small cluster on this machine: ``scripts/cluster up|down|status``.

Each app host gets its own Linux network namespace and address, as separate
machines would have; the shared services run in the root namespace:

    127.0.0.1:8080   nginx: static files itself, the rest to the hosts (upstream
                     with passive health checks, idempotent requests retried)
    <id>-br          a bridge with 10.213.N.1/24, N the first free third octet
    10.213.N.1       redis-server (sessions, cache, rate limits, Celery broker and
                     results) and PostgreSQL (the shared database)
    10.213.N.11..    namespaces <id>-app1.., the demo under gunicorn (2 workers);
                     app3 under uvicorn (2 workers), through the ASGI door
    10.213.N.5       namespace <id>-worker: the Celery worker

Every process is started here with its own process group and recorded in
``<state>/state.json`` (its PID and kernel start time, so a recycled PID is
never mistaken for it); ``down`` stops each by that PID, deletes the
namespaces and the bridge, and removes the state folder and PostgreSQL's data.
A failed ``up`` does the same before it reports the error.

Needs root (``ip netns``), ``nginx``, ``redis-server`` and PostgreSQL's server
binaries (Debian's ``postgresql``; scripts/_system.sh installs them), and
gunicorn, uvicorn and celery beside this Python (the project's .venv).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "taskboard"
STATIC = EXAMPLE / "taskboard" / "static"
BIN = Path(sys.executable).parent
DEFAULT_STATE = REPO / ".cluster"
SUBNET_PREFIX = "10.213"
APP_PORT = 8000
FIRST_HOST = 11  # app1 is .11, app2 .12, ...
WORKER_HOST = 5
#: When ``down`` stops each process: nginx, then the hosts and the worker
#: together (phase 1, the default), then the shared services.
STOP_PHASES = {"nginx": 0, "postgres": 2, "redis": 2}

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


class ClusterError(Exception):
    """Something the operator must hear about; ``main`` prints it and exits 1."""


# -- processes -----------------------------------------------------------------------


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (None if it is gone or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def is_running(record: dict[str, t.Any] | None) -> bool:
    """Whether the process ``record`` describes still runs (not another one with its PID)."""
    if not record or not record.get("pid"):
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(record["pid"], os.WNOHANG)  # reap it if it was our child
    return start_time(record["pid"]) == record["start"]


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # fields[0] is the state, fields[2] the process group.
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def stop_process(record: dict[str, t.Any], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop the process group led by ``record``'s PID: ``sig``, then SIGKILL after ``timeout``."""
    pid = record.get("pid")
    if not pid or not is_running(record):
        return
    group = os.getpgid(pid) == pid
    with contextlib.suppress(ProcessLookupError):
        if group and record.get("signal_group", True):
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while (is_running(record) or (group and group_members(pid))) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_running(record) or (group and group_members(pid)):
        # The leader is gone but not all of its group, or it did not stop.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while (is_running(record) or group_members(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
    if is_running(record):
        raise ClusterError(f"process {pid} ({record['argv'][0]}) did not stop")


def run(*argv: str, timeout: float = 60, **kwargs: t.Any) -> subprocess.CompletedProcess[str]:
    """Run a short command; a failure raises ClusterError with its output."""
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired as e:
        raise ClusterError(f"{' '.join(argv)} took more than {timeout} s") from e
    if result.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    return result


def _quiet(*argv: str) -> None:
    # For teardown: what is already gone is fine.
    subprocess.run(argv, capture_output=True, check=False, timeout=30)


def http_status(url: str, timeout: float = 2) -> int | None:
    """The status code ``url`` answers with, or None if nothing answers."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, urllib.error.URLError):
        return None


def redis_ping(host: str, port: int, password: str, timeout: float = 1) -> bool:
    """Whether Redis answers PING (after AUTH) on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = s.recv(256)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return False
    return answer == b"+OK\r\n+PONG\r\n"


def free_port(host: str) -> int:
    """A TCP port nothing listens on at ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def postgres_bindir() -> Path:
    """The newest PostgreSQL server's binaries from Debian's packages."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)],
    )
    if not found:
        raise ClusterError(
            "PostgreSQL's server is missing: apt-get install postgresql (scripts/_system.sh does)."
        )
    return found[-1].parent


# -- the cluster ---------------------------------------------------------------------


class Cluster:
    """The cluster recorded in one state folder (``.cluster/`` by default)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir.resolve()
        self.file = self.dir / "state.json"
        self.state: dict[str, t.Any] = {}
        self._children: list[subprocess.Popen[bytes]] = []

    # state ----------------------------------------------------------------------------

    def load(self) -> bool:
        """Read the state file; False if there is no cluster here."""
        try:
            self.state = json.loads(self.file.read_text())
        except FileNotFoundError:
            return False
        return True

    def save(self) -> None:
        """Write the state file (atomically, 0600: it holds the services' passwords)."""
        partial = self.file.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.state, f, indent=2)
        os.replace(partial, self.file)

    @property
    def processes(self) -> dict[str, dict[str, t.Any]]:
        """Name -> record (pid, start time, how to start it again)."""
        return t.cast(dict[str, dict[str, t.Any]], self.state.setdefault("processes", {}))

    def host(self, name: str) -> dict[str, t.Any]:
        """One app host's description (name, address, namespace, server)."""
        for host in self.state["hosts"]:
            if host["name"] == name:
                return t.cast(dict[str, t.Any], host)
        raise ClusterError(f"no host {name!r}: the hosts are {self.host_names()}")

    def host_names(self) -> list[str]:
        """The app hosts' names, app1 first."""
        return [host["name"] for host in self.state.get("hosts", [])]

    # starting -------------------------------------------------------------------------

    def spawn(self, name: str, spec: dict[str, t.Any]) -> dict[str, t.Any]:
        """Start a recorded process from its ``spec`` (argv, env, netns, cwd, user, ready)."""
        command = list(spec["argv"])
        if spec.get("netns"):
            command = ["ip", "netns", "exec", spec["netns"], *command]
        log = self.dir / "logs" / f"{name}.log"
        user = spec.get("user")
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=spec.get("cwd"),
                env=spec.get("env"),
                start_new_session=True,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        self._children.append(proc)
        record = {
            **spec,
            "pid": proc.pid,
            "start": start_time(proc.pid),
            "log": str(log),
            "started_at": time.time(),
        }
        self.processes[name] = record
        self.save()
        return record

    def wait_ready(self, names: t.Sequence[str], timeout: float = 60) -> None:
        """Wait until every named process answers (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        waiting = list(names)
        while waiting:
            for name in list(waiting):
                record = self.processes[name]
                if not is_running(record):
                    raise ClusterError(f"{name} exited while starting:\n{self.log_tail(name)}")
                if self._answers(record):
                    waiting.remove(name)
            if not waiting:
                break
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}:\n{self.log_tail(n)}" for n in waiting)
                raise ClusterError(f"not ready within {timeout} s: {', '.join(waiting)}\n{tails}")
            time.sleep(0.1)

    def _answers(self, record: dict[str, t.Any]) -> bool:
        ready = record["ready"]
        if "http" in ready:
            return http_status(ready["http"], timeout=1) == 200
        if "redis" in ready:
            host, port, password = ready["redis"]
            return redis_ping(host, port, password)
        if "postgres" in ready:
            socket_dir, port = ready["postgres"]
            check = [str(Path(ready["bindir"]) / "pg_isready"), "-q", "-U", "taskboard"]
            check += ["-d", "postgres", "-h", socket_dir]
            return subprocess.run([*check, "-p", str(port)], check=False).returncode == 0
        if "log" in ready:
            text = Path(record["log"]).read_text(errors="replace")
            return ready["log"] in text[record.get("log_offset", 0) :]
        raise ClusterError(f"unknown readiness check {ready}")

    def log_tail(self, name: str, lines: int = 25) -> str:
        """The end of a process's log, for error messages."""
        record = self.processes.get(name, {})
        try:
            text = Path(record["log"]).read_text(errors="replace")
        except (KeyError, FileNotFoundError):
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, name: str, timeout: float = 60) -> None:
        """Start a stopped process again (a host, the worker, Redis...) and wait for it."""
        record = self.processes.get(name)
        if record is None:
            raise ClusterError(f"no process {name!r}: there are {sorted(self.processes)}")
        if is_running(record):
            raise ClusterError(f"{name} is already running (pid {record['pid']})")
        spec = {k: v for k, v in record.items() if k not in ("pid", "start", "started_at")}
        log = Path(record["log"])
        spec["log_offset"] = log.stat().st_size if log.exists() else 0
        self.spawn(name, spec)
        self.wait_ready([name], timeout)

    def stop(self, name: str, *, kill: bool = False) -> None:
        """Stop one process gracefully, or SIGKILL its whole group (a crash) with ``kill``."""
        record = self.processes.get(name)
        if record is None:
            raise ClusterError(f"no process {name!r}: there are {sorted(self.processes)}")
        if kill:
            stop_process({**record, "signal_group": True}, signal.SIGKILL, timeout=5)
        else:
            stop_process(record, getattr(signal, record.get("stop_signal", "SIGTERM")))

    # up -------------------------------------------------------------------------------

    def up(self, options: argparse.Namespace) -> None:
        """Create the network, start every service, check each answers."""
        if self.file.exists():
            raise ClusterError(f"a cluster is already up in {self.dir}: run `down` first")
        if os.geteuid() != 0:
            raise ClusterError("the cluster needs root: `ip netns` and bridges need CAP_NET_ADMIN")
        binaries = self._binaries()
        if options.port:
            # Checked first, to fail before anything is made (nginx binds it last).
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", options.port))
                except OSError:
                    raise ClusterError(
                        f"127.0.0.1:{options.port} is taken: choose another with --port"
                    ) from None
        if self.dir.exists():
            shutil.rmtree(self.dir)  # leftovers of a run without state: nothing runs there
        for folder in ("logs", "hosts", "exports", "redis", "nginx"):
            (self.dir / folder).mkdir(parents=True, exist_ok=True)
        third = self._claim_subnet(options.subnet)
        prefix = f"{SUBNET_PREFIX}.{third}"
        cluster_id = f"tb{third}"
        _say(f"cluster {cluster_id}: {prefix}.0/24, state in {self.dir}")
        hosts = [
            {
                "name": f"app{i}",
                "address": f"{prefix}.{FIRST_HOST + i - 1}",
                "namespace": f"{cluster_id}-app{i}",
                "server": "uvicorn" if f"app{i}" in options.uvicorn.split(",") else "gunicorn",
            }
            for i in range(1, options.hosts + 1)
        ]
        self.state = {
            "id": cluster_id,
            "subnet": f"{prefix}.0/24",
            "gateway": f"{prefix}.1",
            "bridge": f"{cluster_id}-br",
            "hosts": hosts,
            "worker": {"address": f"{prefix}.{WORKER_HOST}", "namespace": f"{cluster_id}-worker"},
            "namespaces": [],
            "links": [f"{cluster_id}-br"],
            "secret_key": secrets.token_hex(32),
            "sessions": options.sessions,
            "processes": {},
        }
        self.save()
        _say(f"network: bridge {self.state['bridge']}, {len(hosts) + 1} namespaces")
        self._network()
        _say(f"redis-server on {self.state['gateway']} (persistence: {options.redis_persistence})")
        self._redis(binaries["redis-server"], persistent=options.redis_persistence == "aof")
        self._postgres()
        _say("release: the schema from the migrations, the demo data")
        self._release()
        _say(f"app hosts {', '.join(h['name'] for h in hosts)} and the Celery worker")
        for host in hosts:
            self._app_host(host)
        self._worker()
        self.wait_ready([h["name"] for h in hosts] + ["worker"], timeout=90)
        _say("nginx")
        self._nginx(binaries["nginx"], options.port)
        self.wait_ready(["nginx"])
        self.state["ready_at"] = time.time()
        self.save()

    def _binaries(self) -> dict[str, str]:
        found = {}
        for name in ("ip", "nginx", "redis-server"):
            path = shutil.which(name) or next(
                (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.path.exists(p)), None
            )
            if path is None:
                raise ClusterError(
                    f"{name} is missing: scripts/_system.sh installs it (as root on Debian)"
                )
            found[name] = path
        for name in ("gunicorn", "uvicorn", "celery", "demijohn"):
            if not (BIN / name).exists():
                raise ClusterError(f"{BIN / name} is missing: build .venv with scripts/test")
        postgres_bindir()
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterError("no 'postgres' user: install Debian's postgresql package") from None
        return found

    def _free_subnet(self) -> int:
        # A /24 that no interface, route or other cluster uses yet.
        taken = run("ip", "-4", "addr").stdout + run("ip", "-4", "route").stdout
        namespaces = run("ip", "netns", "list").stdout
        links = run("ip", "-o", "link").stdout
        for third in range(256):
            prefix = f"{SUBNET_PREFIX}.{third}."
            if (
                prefix not in taken
                and not re.search(rf"^tb{third}-", namespaces, re.M)
                and f" tb{third}-" not in links
            ):
                return third
        raise ClusterError(f"no free /24 left in {SUBNET_PREFIX}.0.0/16")

    def _claim_subnet(self, wanted: int | None) -> int:
        # Creating the bridge claims the subnet: if another `up` (another state
        # folder) made it first between our look and our claim, take the next.
        for _attempt in range(5):
            third = wanted if wanted is not None else self._free_subnet()
            made = subprocess.run(
                ["ip", "link", "add", f"tb{third}-br", "type", "bridge"],
                capture_output=True,
                text=True,
                check=False,
            )
            if made.returncode == 0:
                return third
            if wanted is not None or "exists" not in made.stderr:
                raise ClusterError(f"cannot create the bridge tb{third}-br: {made.stderr}")
        raise ClusterError("could not claim a subnet: other clusters keep taking them")

    def _network(self) -> None:
        state = self.state
        bridge = state["bridge"]
        run("ip", "addr", "add", f"{state['gateway']}/24", "dev", bridge)
        run("ip", "link", "set", bridge, "up")
        machines = [(h["namespace"], h["address"], h["name"]) for h in state["hosts"]]
        machines.append((state["worker"]["namespace"], state["worker"]["address"], "worker"))
        for namespace, address, role in machines:
            veth = f"{state['id']}-{role}"
            # Recorded once made (only ours may be deleted by down), and saved
            # at once, so a failure half-way is undone.
            run("ip", "netns", "add", namespace)
            state["namespaces"].append(namespace)
            self.save()
            run("ip", "link", "add", veth, "type", "veth", "peer", "name", f"{veth}p")
            state["links"].append(veth)
            self.save()
            run("ip", "link", "set", f"{veth}p", "netns", namespace)
            run("ip", "-n", namespace, "link", "set", f"{veth}p", "name", "eth0")
            run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "-n", namespace, "link", "set", "eth0", "up")
            run("ip", "-n", namespace, "link", "set", "lo", "up")
            run("ip", "link", "set", veth, "master", bridge)
            run("ip", "link", "set", veth, "up")

    def _redis(self, binary: str, *, persistent: bool) -> None:
        gateway = self.state["gateway"]
        port = free_port(gateway)
        password = secrets.token_hex(16)
        folder = self.dir / "redis"
        # Reachable from the namespaces on the bridge address and from this
        # machine on 127.0.0.1; nowhere else. A password all the same.
        config = [
            f"port {port}",
            f"bind 127.0.0.1 {gateway}",
            "protected-mode yes",
            f"requirepass {password}",
            "daemonize no",
            'logfile ""',
            f"dir {folder}",
            'save ""',
            # The append-only file keeps sessions, limits and queued jobs across
            # a restart (fsync every second); "none" keeps nothing.
            f"appendonly {'yes' if persistent else 'no'}",
            "appendfsync everysec",
        ]
        (folder / "redis.conf").write_text("\n".join(config) + "\n")
        self.state["redis"] = {
            "host": gateway,
            "port": port,
            "password": password,
            "persistent": persistent,
            "url": f"redis://:{password}@{gateway}:{port}/0",
        }
        spec = {
            "argv": [binary, str(folder / "redis.conf")],
            "ready": {"redis": ["127.0.0.1", port, password]},
        }
        self.spawn("redis", spec)
        self.wait_ready(["redis"], timeout=20)

    def _postgres(self) -> None:
        bindir = postgres_bindir()
        gateway = self.state["gateway"]
        port = free_port(gateway)
        password = secrets.token_hex(16)
        account = pwd.getpwnam("postgres")
        # PostgreSQL refuses to run as root, and the postgres user may not be
        # able to enter the repository (under /root, say): its data lives in a
        # private folder under /tmp, owned by postgres, removed by down.
        root = Path(tempfile.mkdtemp(prefix="taskboard-pg-"))
        _say(f"PostgreSQL {bindir.parent.name}: initdb in {root}, start, createdb")
        self.state["postgres"] = {"root": str(root), "port": port, "host": gateway}
        self.save()
        (root / "sock").mkdir()
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        for path in (root, root / "sock", pwfile):
            os.chown(path, account.pw_uid, account.pw_gid)
        as_postgres = {
            "user": "postgres",
            "group": "postgres",
            "extra_groups": [],
            "env": {"PATH": "/usr/bin:/bin", "HOME": str(root), "LC_ALL": "C.UTF-8"},
            "cwd": root,
        }
        run(
            str(bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "taskboard",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
            # Nothing to lose if the machine crashes before the first start.
            "--no-sync",
            **as_postgres,
        )
        pwfile.unlink()
        with open(root / "data" / "pg_hba.conf", "a") as hba:
            hba.write(f"host all taskboard {self.state['subnet']} scram-sha-256\n")
        spec = {
            "argv": [
                str(bindir / "postgres"),
                "-D",
                str(root / "data"),
                "-c",
                f"listen_addresses={gateway}",
                "-c",
                f"port={port}",
                "-c",
                f"unix_socket_directories={root / 'sock'}",
                "-c",
                "max_connections=100",
            ],
            "env": as_postgres["env"],
            "cwd": str(root),
            "user": "postgres",
            # Fast shutdown: the postmaster ends its sessions itself.
            "stop_signal": "SIGINT",
            "signal_group": False,
            "ready": {"postgres": [str(root / "sock"), port], "bindir": str(bindir)},
        }
        self.spawn("postgres", spec)
        self.wait_ready(["postgres"], timeout=30)
        run(
            str(bindir / "createdb"),
            "-h",
            str(root / "sock"),
            "-p",
            str(port),
            "-U",
            "taskboard",
            "taskboard",
            **as_postgres,
        )
        self.state["postgres"]["url"] = (
            f"postgresql+psycopg://taskboard:{password}@{gateway}:{port}/taskboard"
        )
        self.save()

    def app_env(self, node: str) -> dict[str, str]:
        """The environment of one app host (or the worker): every service configured."""
        state = self.state
        redis_url = state["redis"]["url"]
        instance = self.dir / "hosts" / node / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.dir / "hosts" / node),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "TASKBOARD_INSTANCE_PATH": str(instance),
            "FLASK_SECRET_KEY": state["secret_key"],
            "FLASK_SQLALCHEMY_DATABASE_URI": state["postgres"]["url"],
            "FLASK_PROXY_FIX": "1",
            "FLASK_NODE_NAME": node,
            "FLASK_REDIS_URL": redis_url,
            "FLASK_CACHE_TYPE": "RedisCache",
            "FLASK_LOGIN_RATE_LIMIT": "5 per minute",
            "FLASK_CELERY": json.dumps({"broker_url": redis_url, "result_backend": redis_url}),
            "FLASK_EXPORT_FOLDER": str(self.dir / "exports"),
        }
        if state["sessions"] == "redis":
            env["FLASK_SESSION_TYPE"] = "redis"
        return env

    def _release(self) -> None:
        # The deployment's release step, run once before the hosts start (as the
        # Procfile's `release:` line): create the schema from the migrations and
        # seed the demo data. Every host then finds the database ready.
        run(
            str(BIN / "demijohn"),
            "--app",
            "taskboard",
            "db",
            "upgrade",
            cwd=EXAMPLE,
            env=self.app_env("release"),
            timeout=120,
        )

    def _app_host(self, host: dict[str, t.Any]) -> None:
        address = host["address"]
        if host["server"] == "uvicorn":
            argv = [
                str(BIN / "uvicorn"),
                "--app-dir",
                str(EXAMPLE),
                "--host",
                address,
                "--port",
                str(APP_PORT),
                "--workers",
                "2",
                # ProxyFix in the app reads X-Forwarded-*; uvicorn must not as well.
                "--no-proxy-headers",
                "--timeout-graceful-shutdown",
                "5",
                "asgi:app",
            ]
        else:
            argv = [
                str(BIN / "gunicorn"),
                "--chdir",
                str(EXAMPLE),
                "--bind",
                f"{address}:{APP_PORT}",
                "--workers",
                "2",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
                "wsgi:app",
            ]
        spec = {
            "argv": argv,
            "env": self.app_env(host["name"]),
            "netns": host["namespace"],
            "cwd": str(EXAMPLE),
            "ready": {"http": f"http://{address}:{APP_PORT}/static/logo.svg"},
        }
        self.spawn(host["name"], spec)

    def _worker(self) -> None:
        spec = {
            "argv": [
                str(BIN / "celery"),
                "-A",
                "celery_worker",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--hostname",
                f"worker1@{self.state['id']}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            "env": self.app_env("worker"),
            "netns": self.state["worker"]["namespace"],
            "cwd": str(EXAMPLE),
            # Celery's "celery@host ready." once it consumes from the broker.
            "ready": {"log": " ready."},
            # Warm shutdown: finish the running tasks first.
            "stop_signal": "SIGTERM",
        }
        self.spawn("worker", spec)

    def nginx_config(self, port: int) -> str:
        """nginx.conf: the static files, and the hosts as one upstream."""
        folder = self.dir / "nginx"
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        temp_paths = "\n    ".join(
            f"{kind}_temp_path {folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        servers = "\n        ".join(
            f"server {h['address']}:{APP_PORT} max_fails=1 fail_timeout=2s;"
            for h in self.state["hosts"]
        )
        return f"""# Written by scripts/cluster (deploy/cluster.py).
{user}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{
        text/html html;
        text/css css;
        image/svg+xml svg;
        text/csv csv;
    }}
    default_type application/octet-stream;
    log_format cluster '$msec $remote_addr "$request" $status '
                       'upstream=$upstream_addr upstream_status=$upstream_status '
                       'time=$request_time';
    access_log {folder}/access.log cluster;
    {temp_paths}

    upstream taskboard {{
        # Passive health checks: a host that fails once (refused, reset, timed
        # out) gets no requests for 2 s, then is tried again.
        {servers}
    }}

    server {{
        listen 127.0.0.1:{port};

        location /static/ {{
            alias {STATIC}/;
            expires 1h;
            add_header X-Served-By nginx-static;
        }}

        location / {{
            proxy_pass http://taskboard;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
            # Another host gets the request when this one fails. nginx never
            # resends a POST (or PATCH) that reached a host, only idempotent
            # methods (GET, HEAD, PUT, DELETE, OPTIONS).
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            # Which host(s) answered: "a:8000, b:8000" when nginx retried.
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""

    def _nginx(self, binary: str, port: int) -> None:
        if port == 0:
            port = free_port("127.0.0.1")
        folder = self.dir / "nginx"
        (folder / "nginx.conf").write_text(self.nginx_config(port))
        self.state["url"] = f"http://127.0.0.1:{port}"
        config, errors = str(folder / "nginx.conf"), str(folder / "error.log")
        spec = {
            "argv": [binary, "-e", errors, "-p", str(folder), "-c", config],
            "ready": {"http": f"{self.state['url']}/static/logo.svg"},
            "stop_signal": "SIGQUIT",  # graceful: finish the requests in flight
        }
        self.spawn("nginx", spec)

    # down -----------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop everything by PID, delete the network, remove every file; returns problems."""
        problems = []
        # The front first, the shared services last; the hosts and worker at once.
        phases: dict[int, list[str]] = {}
        for name in self.processes:
            phases.setdefault(STOP_PHASES.get(name, 1), []).append(name)
        for phase in sorted(phases):
            with concurrent.futures.ThreadPoolExecutor() as pool:
                futures = [
                    pool.submit(
                        stop_process,
                        self.processes[name],
                        getattr(signal, self.processes[name].get("stop_signal", "SIGTERM")),
                    )
                    for name in phases[phase]
                ]
            problems += [str(f.exception()) for f in futures if f.exception() is not None]
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1)
        for namespace in reversed(self.state.get("namespaces", [])):
            _quiet("ip", "netns", "delete", namespace)
        for link in reversed(self.state.get("links", [])):
            _quiet("ip", "link", "delete", link)
        postgres = self.state.get("postgres", {}).get("root")
        if postgres:
            shutil.rmtree(postgres, ignore_errors=True)
        if problems:
            self.save()
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    # status ---------------------------------------------------------------------------

    def status(self) -> dict[str, t.Any]:
        """What runs and answers, as a JSON-able document."""
        report: dict[str, t.Any] = {
            "state": str(self.dir),
            "id": self.state["id"],
            "subnet": self.state["subnet"],
            "url": self.state.get("url"),
            "processes": {},
        }
        for name, record in self.processes.items():
            entry: dict[str, t.Any] = {"pid": record["pid"], "running": is_running(record)}
            if name.startswith("app"):
                host = self.host(name)
                url = f"http://{host['address']}:{APP_PORT}"
                entry.update(server=host["server"], url=url, namespace=host["namespace"])
                entry["answers"] = http_status(f"{url}/static/logo.svg", timeout=1)
            report["processes"][name] = entry
        return report


# -- command line --------------------------------------------------------------------


def _print_status(report: dict[str, t.Any]) -> None:
    print(f"cluster {report['id']} ({report['subnet']}), state in {report['state']}")
    print(f"site: {report['url']}")
    for name, entry in report["processes"].items():
        running = "running" if entry["running"] else "STOPPED"
        extra = ""
        if "url" in entry:
            extra = f"  {entry['server']} {entry['url']} -> {entry['answers'] or 'no answer'}"
        print(f"  {name:<9} pid {entry['pid']:<8} {running}{extra}")


def main(argv: t.Sequence[str] | None = None) -> int:
    """``up``, ``down``, ``status``; ``kill``/``stop``/``start``/``restart`` one process."""
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(os.environ.get("TASKBOARD_CLUSTER_STATE", DEFAULT_STATE)),
        help="the state folder (default: .cluster in the repository)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the cluster")
    up.add_argument("--hosts", type=int, default=3, help="app hosts (default 3)")
    up.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1 (0: any)")
    up.add_argument("--subnet", type=int, help="N in 10.213.N.0/24 (default: the first free)")
    up.add_argument(
        "--uvicorn", default="app3", help="hosts served by uvicorn (comma-separated; default app3)"
    )
    up.add_argument("--sessions", choices=["redis", "cookie"], default="redis")
    up.add_argument("--redis-persistence", choices=["aof", "none"], default="aof")
    commands.add_parser("down", help="stop everything and remove the network and files")
    status = commands.add_parser("status", help="what runs, and whether each host answers")
    status.add_argument("--json", action="store_true")
    for name, text in [
        ("kill", "SIGKILL a process group, as a crash would (e.g. app2)"),
        ("stop", "stop a process gracefully (e.g. app2, redis)"),
        ("start", "start a stopped process again and wait until it answers"),
        ("restart", "stop, then start (e.g. redis)"),
    ]:
        commands.add_parser(name, help=text).add_argument("name")
    options = parser.parse_args(argv)
    cluster = Cluster(options.state)

    if options.command == "up":
        # A signal mid-way must still tear down what was made.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            cluster.up(options)
        except BaseException as e:
            if cluster.state:
                problems = cluster.down()
                for problem in problems:
                    print(f"cleanup: {problem}", file=sys.stderr)
            if isinstance(e, ClusterError):
                print(f"error: {e}", file=sys.stderr)
                return 1
            raise
        _print_status(cluster.status())
        return 0

    if not cluster.load():
        if options.command == "down":
            print(f"no cluster in {cluster.dir}")
            return 0
        print(f"error: no cluster in {cluster.dir} (scripts/cluster up)", file=sys.stderr)
        return 1
    try:
        if options.command == "down":
            problems = cluster.down()
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            if not problems:
                print(f"cluster {cluster.state['id']} is down; nothing left in {cluster.dir}")
            return 1 if problems else 0
        if options.command == "status":
            report = cluster.status()
            if options.json:
                print(json.dumps(report, indent=2))
            else:
                _print_status(report)
            return 0
        if options.command in ("kill", "stop"):
            cluster.stop(options.name, kill=options.command == "kill")
        if options.command == "restart":
            cluster.stop(options.name)
        if options.command in ("start", "restart"):
            cluster.start(options.name)
        cluster.save()
    except ClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
