"""HTTP mode: each framework behind gunicorn on 127.0.0.1, driven by ``wrk``.

Every framework's app runs in its own gunicorn (sync workers, the settings of
``gunicorn_conf.py``, the same for all), started by this script with the
framework's venv on a free loopback port and stopped by it, by PID. All the
servers are up at once, idle but for the one under load, so the runs can be
interleaved finely: per round, per scenario, each framework in turn (the order
alternates between rounds). Each run is a short ``wrk`` warm-up and then the
measured ``wrk`` run; around the measured run the script reads the CPU time
(utime + stime) of the server's master and workers from ``/proc/<pid>/stat``,
so besides requests/s and p99 latency it reports the server's CPU time per
request, which is what the framework changes and what another process on
the machine does not inflate. The resident size (``VmRSS``) of the idle
workers is read after boot and again after all the runs.

Only loopback is ever contacted, every wait has a deadline, and every
subprocess has a timeout. This mode needs Debian's ``wrk`` and is not part of
the test suite.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import tempfile
import time
import typing as t
from pathlib import Path

from frameworks import BENCH, CEILING, REFERENCE, BenchError, Framework, python_for
from gunicorn_conf import TIMER_FORMAT
from scenarios import Scenario

GUNICORN_CONFIG = BENCH / "gunicorn_conf.py"
#: The metric measured inside the workers (``gunicorn_conf.AppTimer``).
APP_CPU = "app_cpu_us_per_request"
WRK_SCRIPT = BENCH / "wrk_report.lua"
#: gunicorn's ``workers`` setting, checked against what actually started.
WORKERS = 2
HOST = "127.0.0.1"

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

WRK_MISSING = """\
wrk is not installed, and the HTTP mode needs it (it generates the load).
Install it with your package manager, e.g. on Debian or Ubuntu:

    sudo apt-get install wrk        (as root: apt-get update && apt-get install -y wrk)

or on macOS `brew install wrk`. Or run the in-process mode only: --mode inprocess"""


@dataclasses.dataclass(frozen=True)
class Mode:
    """How long to measure over HTTP (whole seconds: what ``wrk -d`` takes)."""

    rounds: int
    seconds: int
    warmup_seconds: int = 1
    connections: int = 4
    threads: int = 1


FULL = Mode(rounds=7, seconds=3)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One measured ``wrk`` run against one server."""

    requests: int
    seconds: float
    p99_ms: float
    cpu_seconds: float
    #: CPU time inside the framework's WSGI call, body and close, summed over
    #: the workers (``gunicorn_conf.AppTimer``), and the requests it counted.
    app_cpu_seconds: float
    app_requests: int

    @property
    def requests_per_second(self) -> float:
        """Completed requests per wall-clock second."""
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU time (master + workers, user + system) per request, µs."""
        return self.cpu_seconds / self.requests * 1e6

    @property
    def app_cpu_us_per_request(self) -> float:
        """CPU time in the framework (its WSGI call, body and close) per request, µs."""
        return self.app_cpu_seconds / self.app_requests * 1e6


def find_wrk() -> str:
    """The ``wrk`` executable, or a :class:`BenchError` that says how to install it."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(WRK_MISSING)
    return wrk


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) is in parentheses and may hold spaces.
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (``/proc/<pid>/stat`` fields 14, 15)."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])


def resident_kib(pid: int) -> int:
    """The process's resident set size (``VmRSS`` of ``/proc/<pid>/status``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


def children(pid: int) -> set[int]:
    """The PIDs of the live processes whose parent is ``pid``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat_fields(int(entry.name))[1]) == pid:
                found.add(int(entry.name))
        except (OSError, ValueError):
            continue  # exited while we looked
    return found


def check_response(name: str, port: int, scenario: Scenario) -> None:
    """Send the scenario's request to ``name``'s server once; check it like the worker does."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    headers = dict(scenario.headers)
    if scenario.content_type:
        headers["Content-Type"] = scenario.content_type
    try:
        connection.request(
            scenario.method, scenario.target, body=scenario.body or None, headers=headers
        )
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        raise BenchError(f"{name}: {scenario.name}: {error}") from error
    finally:
        connection.close()
    problems = scenario.problems(response.status, response.getheaders(), body)
    if problems:
        raise BenchError(f"{name} over HTTP: {scenario.name}: " + "; ".join(problems))


class Server:
    """One framework's app behind its own gunicorn, started and stopped by PID."""

    def __init__(self, framework: Framework, python: Path, workdir: Path) -> None:
        self.framework = framework
        self.port = free_port()
        self.ready_dir = workdir / f"{framework.name}-ready"
        self.ready_dir.mkdir()
        self.log_path = workdir / f"{framework.name}-gunicorn.log"
        command = [
            str(python),
            *("-m", "gunicorn"),
            *("--config", str(GUNICORN_CONFIG)),
            *("--bind", f"{HOST}:{self.port}"),
            # The apps import ``scenarios`` from bench/.
            *("--pythonpath", str(BENCH)),
            f"{framework.module}:app",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BENCH / "apps",
                env={**os.environ, "BENCH_READY_DIR": str(self.ready_dir)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so a stuck server can be killed whole.
                start_new_session=True,
            )
        self.pid = self.process.pid
        self.workers: set[int] = set()
        self.unsupported: frozenset[str] = frozenset()

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def wait_ready(self, deadline: float) -> None:
        """Wait until every worker has loaded the app (``gunicorn_conf.post_worker_init``)."""
        while True:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.framework.name}: gunicorn exited ({self.process.returncode}):\n"
                    + self._log_tail()
                )
            live = children(self.pid)
            # A worker that died during boot left a file; only live ones count.
            announced = [path for path in self.ready_dir.glob("*.json") if int(path.stem) in live]
            if len(announced) >= WORKERS:
                self.workers = live
                info = json.loads(announced[0].read_text())
                self.unsupported = frozenset(info["unsupported"])
                return
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.framework.name}: gunicorn workers not ready after"
                    f" {BOOT_TIMEOUT:.0f}s:\n" + self._log_tail()
                )
            time.sleep(0.05)

    def cpu_ticks(self) -> int:
        """CPU ticks of the master and its workers; fails if a worker was replaced."""
        live = children(self.pid)
        if live != self.workers:
            raise BenchError(
                f"{self.framework.name}: gunicorn's workers changed ({sorted(self.workers)} ->"
                f" {sorted(live)}); a worker died or timed out:\n" + self._log_tail()
            )
        return sum(cpu_ticks(pid) for pid in (self.pid, *sorted(self.workers)))

    def app_counters(self) -> tuple[int, int]:
        """The workers' ``AppTimer`` totals: CPU nanoseconds in the app, requests."""
        nanoseconds = requests = 0
        for pid in sorted(self.workers):
            data = (self.ready_dir / f"{pid}.timer").read_bytes()
            spent, count = struct.unpack(TIMER_FORMAT, data)
            nanoseconds += spent
            requests += count
        return nanoseconds, requests

    def worker_resident_kib(self) -> int:
        """The resident size of the largest worker, in KiB."""
        return max(resident_kib(pid) for pid in self.workers)

    def url(self, scenario: Scenario) -> str:
        """The scenario's URL on this server."""
        return f"http://{HOST}:{self.port}{scenario.target}"

    def check(self, scenario: Scenario) -> None:
        """Send the scenario's request once and check the response like the worker does."""
        check_response(self.framework.name, self.port, scenario)

    def stop(self) -> None:
        """SIGTERM the master (graceful), then SIGKILL its process group if it lingers."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        # A worker the master left behind is still in the server's process group.
        for pid in self.workers:
            try:
                if int(_stat_fields(pid)[2]) == self.pid:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass  # gone, as it should be


def run_wrk(wrk: str, url: str, scenario: Scenario, seconds: int, mode: Mode) -> dict[str, t.Any]:
    """One ``wrk`` run against ``url``; returns ``wrk_report.lua``'s summary."""
    command = [
        wrk,
        *("--threads", str(mode.threads)),
        *("--connections", str(mode.connections)),
        *("--duration", f"{seconds}s"),
        *("--timeout", "5s"),
        *("--script", str(WRK_SCRIPT)),
        *(argument for name, value in scenario.headers for argument in ("-H", f"{name}: {value}")),
        url,
    ]
    environment = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_BODY": scenario.body.decode("ascii"),
        "BENCH_CONTENT_TYPE": scenario.content_type or "",
    }
    try:
        result = subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk did not finish: {' '.join(command)}") from error
    summaries = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not summaries:
        raise BenchError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    summary: dict[str, t.Any] = json.loads(summaries[-1])
    return summary


def check_summary(name: str, scenario: Scenario, summary: dict[str, t.Any]) -> None:
    """Fail on a socket error, or on a response outside the scenario's status class."""
    errors = summary["errors"]
    requests = summary["requests"]
    # wrk counts every response outside 2xx/3xx as a status error.
    expected_status_errors = requests if scenario.status >= 400 else 0
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    if not requests or socket_errors or errors["status"] != expected_status_errors:
        raise BenchError(f"{name}: {scenario.name} over HTTP: wrk saw {summary}")


def measure_once(wrk: str, server: Server, scenario: Scenario, mode: Mode) -> Sample:
    """Warm up, then one measured run with the server's CPU time read around it."""
    url = server.url(scenario)
    if mode.warmup_seconds:
        run_wrk(wrk, url, scenario, mode.warmup_seconds, mode)
    before = server.cpu_ticks()
    app_before = server.app_counters()
    summary = run_wrk(wrk, url, scenario, mode.seconds, mode)
    app_after = server.app_counters()
    after = server.cpu_ticks()
    check_summary(server.framework.name, scenario, summary)
    return Sample(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p99_ms=summary["p99_us"] / 1000,
        cpu_seconds=(after - before) / CLOCK_TICKS,
        app_cpu_seconds=(app_after[0] - app_before[0]) / 1e9,
        app_requests=app_after[1] - app_before[1],
    )


def _cell(value: float | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)


METRICS: dict[str, t.Callable[[Sample], float]] = {
    "requests_per_second": lambda sample: sample.requests_per_second,
    "p99_ms": lambda sample: sample.p99_ms,
    "cpu_us_per_request": lambda sample: sample.cpu_us_per_request,
    "app_cpu_us_per_request": lambda sample: sample.app_cpu_us_per_request,
}


@dataclasses.dataclass
class Results:
    """Per scenario and framework: the samples of each round (None: n/a)."""

    frameworks: list[Framework]
    scenarios: list[Scenario]
    mode: Mode
    samples: dict[str, dict[str, list[Sample] | None]]
    #: Per framework: largest worker's VmRSS in KiB, ``after_boot`` and ``after_runs``.
    memory: dict[str, dict[str, int]]
    wrk_version: str

    @property
    def names(self) -> list[str]:
        """The frameworks' keys, in table order."""
        return [framework.name for framework in self.frameworks]

    def median(self, scenario: str, framework: str, metric: str) -> float | None:
        """The median over rounds of one of :data:`METRICS`."""
        samples = self.samples.get(scenario, {}).get(framework)
        return statistics.median(map(METRICS[metric], samples)) if samples else None

    def above_floor(self, scenario: str, framework: str) -> float | None:
        """Server CPU µs per request above the bare WSGI callable's (the server's own)."""
        cpu = self.median(scenario, framework, "cpu_us_per_request")
        floor = self.median(scenario, CEILING, "cpu_us_per_request")
        return cpu - floor if cpu is not None and floor is not None else None

    def _rounds(self, scenario: str, *frameworks: str) -> list[tuple[Sample, ...]] | None:
        found = [self.samples.get(scenario, {}).get(name) for name in frameworks]
        if any(not samples for samples in found):
            return None
        return list(zip(*found, strict=True))  # type: ignore[arg-type]

    def paired_ratio(self, scenario: str, framework: str, other: str, metric: str) -> float | None:
        """The median over rounds of ``framework``'s metric ÷ ``other``'s in the same round.

        Within a round the frameworks run back to back, so each pair shares
        the machine's state of the moment; a ratio of medians taken over the
        whole run would mix moments.
        """
        rounds = self._rounds(scenario, framework, other)
        if rounds is None:
            return None
        value = METRICS[metric]
        return statistics.median(value(mine) / value(theirs) for mine, theirs in rounds)

    def paired_above_floor_ratio(
        self, scenario: str, framework: str, metric: str = "cpu_us_per_request"
    ) -> float | None:
        """The median over rounds of ``framework``'s CPU above the floor ÷ Flask's.

        Each round's figures are taken against that round's bare-WSGI floor;
        rounds where Flask is not above the floor give no ratio.
        """
        rounds = self._rounds(scenario, framework, REFERENCE, CEILING)
        if rounds is None:
            return None
        value = METRICS[metric]
        ratios = [
            (value(mine) - value(floor)) / (value(flask) - value(floor))
            for mine, flask, floor in rounds
            if value(flask) > value(floor)
        ]
        return statistics.median(ratios) if ratios else None

    def as_json(self) -> dict[str, t.Any]:
        """Machine-readable results (``--json``)."""
        return {
            "mode": dataclasses.asdict(self.mode),
            "frameworks": self.names,
            "wrk": self.wrk_version,
            "memory_kib": self.memory,
            "scenarios": {
                scenario.name: {
                    name: None
                    if self.samples[scenario.name][name] is None
                    else {
                        **{metric: self.median(scenario.name, name, metric) for metric in METRICS},
                        "cpu_us_above_ceiling": self.above_floor(scenario.name, name),
                        "cpu_above_ceiling_vs_reference": self.paired_above_floor_ratio(
                            scenario.name, name
                        ),
                        "app_cpu_above_ceiling_vs_reference": self.paired_above_floor_ratio(
                            scenario.name, name, APP_CPU
                        ),
                        "rps_vs_reference": self.paired_ratio(
                            scenario.name, name, REFERENCE, "requests_per_second"
                        ),
                        "samples": [
                            dataclasses.asdict(sample)
                            for sample in self.samples[scenario.name][name] or ()
                        ],
                    }
                    for name in self.names
                }
                for scenario in self.scenarios
            },
        }

    def table(self) -> str:
        """The Markdown table: a row per scenario and framework, ratios to Flask and the ceiling."""
        labels = {framework.name: framework.label for framework in self.frameworks}
        header = [
            "Scenario",
            "Framework",
            "req/s",
            "p99 ms",
            "server CPU µs/req",
            "CPU above bare WSGI µs/req",
            "app CPU in the worker µs/req",
            "req/s ÷ Flask's",
            "CPU above bare WSGI ÷ Flask's",
            "app CPU above bare WSGI ÷ Flask's",
            "req/s ÷ bare WSGI's",
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for scenario in self.scenarios:
            for name in self.names:
                if self.samples[scenario.name][name] is None:
                    continue
                rps = self.median(scenario.name, name, "requests_per_second")
                row = [
                    scenario.title,
                    labels[name],
                    _cell(rps, "{:.0f}"),
                    _cell(self.median(scenario.name, name, "p99_ms"), "{:.2f}"),
                    _cell(self.median(scenario.name, name, "cpu_us_per_request"), "{:.0f}"),
                    _cell(self.above_floor(scenario.name, name), "{:.0f}"),
                    _cell(self.median(scenario.name, name, APP_CPU), "{:.1f}"),
                    _cell(
                        self.paired_ratio(scenario.name, name, REFERENCE, "requests_per_second"),
                        "{:.2f}x",
                    ),
                    _cell(self.paired_above_floor_ratio(scenario.name, name), "{:.2f}")
                    if name != CEILING
                    else "",
                    _cell(self.paired_above_floor_ratio(scenario.name, name, APP_CPU), "{:.2f}")
                    if name != CEILING
                    else "",
                    _cell(
                        self.paired_ratio(scenario.name, name, CEILING, "requests_per_second"),
                        "{:.2f}x",
                    ),
                ]
                lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)

    def memory_table(self) -> str:
        """The Markdown table of idle workers' resident size, with ratios to Flask."""
        labels = {framework.name: framework.label for framework in self.frameworks}
        header = ["Framework", "idle after boot MiB", "idle after the runs MiB"]
        if REFERENCE in self.memory:
            header += ["after boot ÷ Flask's", "after the runs ÷ Flask's"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in self.names:
            sizes = self.memory[name]
            row = [labels[name]]
            row += [f"{sizes[when] / 1024:.1f}" for when in ("after_boot", "after_runs")]
            if REFERENCE in self.memory:
                reference = self.memory[REFERENCE]
                row += [
                    f"{sizes[when] / reference[when]:.2f}x" for when in ("after_boot", "after_runs")
                ]
            lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)


def wrk_version(wrk: str) -> str:
    """The first line ``wrk --version`` prints (it exits 1 after printing its usage)."""
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def start_servers(frameworks: list[Framework], workdir: Path) -> list[Server]:
    """Start one gunicorn per framework (all booting at once), wait until all are ready."""
    pythons = {framework.name: python_for(framework) for framework in frameworks}
    servers: list[Server] = []
    try:
        for framework in frameworks:
            servers.append(Server(framework, pythons[framework.name], workdir))
        deadline = time.monotonic() + BOOT_TIMEOUT
        for server in servers:
            server.wait_ready(deadline)
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: list[Server]) -> None:
    """Stop every server, even if stopping one of them fails."""
    errors: list[BaseException] = []
    for server in servers:
        try:
            server.stop()
        except Exception as error:
            errors.append(error)
    if errors:
        raise BenchError(f"could not stop every server: {errors}")


def measure(frameworks: list[Framework], scenarios: list[Scenario], mode: Mode) -> Results:
    """Run every scenario on every framework's server, rounds interleaved."""
    wrk = find_wrk()
    version = wrk_version(wrk)
    with tempfile.TemporaryDirectory(prefix="demijohn-bench-") as workdir:
        servers = start_servers(frameworks, Path(workdir))
        try:
            memory = {s.framework.name: {"after_boot": s.worker_resident_kib()} for s in servers}
            samples: dict[str, dict[str, list[Sample] | None]] = {}
            for scenario in scenarios:
                samples[scenario.name] = {}
                for server in servers:
                    supported = scenario.name not in server.unsupported
                    if supported:
                        server.check(scenario)
                    samples[scenario.name][server.framework.name] = [] if supported else None
            for round_number in range(mode.rounds):
                order = servers if round_number % 2 == 0 else servers[::-1]
                for scenario in scenarios:
                    for server in order:
                        collected = samples[scenario.name][server.framework.name]
                        if collected is not None:
                            collected.append(measure_once(wrk, server, scenario, mode))
            for server in servers:
                memory[server.framework.name]["after_runs"] = server.worker_resident_kib()
        finally:
            stop_servers(servers)
    return Results(frameworks, scenarios, mode, samples, memory, version)
