"""ASGI over HTTP: each ASGI app under uvicorn (one worker) on 127.0.0.1, driven by ``wrk``.

Every app runs in its own uvicorn, a single process, with the same flags
(:data:`UVICORN_FLAGS`: asyncio loop, httptools parser, lifespan on, no access
log) and the same uvicorn and httptools versions: ``.bench-venv`` pins them to
the project venv's, and the run checks each venv before starting. The script
starts each server with its app's venv on a free loopback port and stops it by
PID. As in ``overhttp.py``, all servers are up at once and the runs
interleave: per round, per scenario, each app in turn (the order alternates
between rounds), a short ``wrk`` warm-up, then the measured run, with 32
connections (one event loop serves them all at once). Around the measured run
the script reads the server process's CPU time (utime + stime of all its
threads, demijohn's worker threads for ``def`` views included) from
``/proc/<pid>/stat``, so besides requests/s and p99 latency it reports the
server's CPU time per request.

Only loopback is ever contacted, every wait has a deadline, and every
subprocess has a timeout. This mode needs Debian's ``wrk`` and is not part of
the test suite.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import typing as t
from pathlib import Path

from frameworks import ASGI_FLOOR, ASGI_REFERENCE, BENCH, BenchError, Framework, python_for
from overhttp import (
    CLOCK_TICKS,
    HOST,
    Mode,
    check_response,
    check_summary,
    cpu_ticks,
    find_wrk,
    free_port,
    run_wrk,
    wrk_version,
)
from scenarios import Scenario

#: The same for every app. One worker: uvicorn serves from a single process.
UVICORN_FLAGS = (
    *("--workers", "1"),
    *("--loop", "asyncio"),
    *("--http", "httptools"),
    *("--lifespan", "on"),
    "--no-access-log",
    *("--log-level", "warning"),
)
#: The packages whose versions must be the same in every app's venv.
SERVER_PACKAGES = ("uvicorn", "httptools")

FULL = Mode(rounds=7, seconds=3, connections=32)

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
#: The other apps the table gives each app's requests/s as a ratio to.
RPS_REFERENCES = (ASGI_REFERENCE, "quart", ASGI_FLOOR)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One measured ``wrk`` run against one server."""

    requests: int
    seconds: float
    p99_ms: float
    cpu_seconds: float

    @property
    def requests_per_second(self) -> float:
        """Completed requests per wall-clock second."""
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU time (all threads, user + system) per request, µs."""
        return self.cpu_seconds / self.requests * 1e6


METRICS: dict[str, t.Callable[[Sample], float]] = {
    "requests_per_second": lambda sample: sample.requests_per_second,
    "p99_ms": lambda sample: sample.p99_ms,
    "cpu_us_per_request": lambda sample: sample.cpu_us_per_request,
}


def server_versions(python: Path) -> str:
    """``uvicorn X, httptools Y`` as installed for ``python``."""
    code = (
        "import importlib.metadata as m;"
        f" print(', '.join(f'{{n}} {{m.version(n)}}' for n in {SERVER_PACKAGES!r}))"
    )
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise BenchError(f"{python} has no uvicorn or httptools:\n{result.stderr}")
    return result.stdout.strip()


def same_server(pythons: t.Iterable[Path]) -> str:
    """The server's versions, which every venv must share."""
    found = {str(python): server_versions(python) for python in pythons}
    if len(set(found.values())) != 1:
        raise BenchError(f"the apps' venvs run different servers: {found}")
    return next(iter(found.values()))


class Server:
    """One app behind its own uvicorn, started and stopped by PID."""

    def __init__(self, framework: Framework, python: Path, workdir: Path) -> None:
        self.framework = framework
        self.port = free_port()
        self.log_path = workdir / f"{framework.name}-uvicorn.log"
        command = [
            str(python),
            *("-m", "uvicorn"),
            *UVICORN_FLAGS,
            *("--host", HOST),
            *("--port", str(self.port)),
            f"{framework.module}:app",
        ]
        # The apps import ``scenarios`` from bench/; uvicorn imports them from the cwd.
        path = os.pathsep.join(filter(None, (str(BENCH), os.environ.get("PYTHONPATH"))))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BENCH / "apps",
                env={**os.environ, "PYTHONPATH": path},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so a stuck server can be killed whole.
                start_new_session=True,
            )
        self.pid = self.process.pid

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def wait_ready(self, deadline: float) -> None:
        """Wait until the port accepts connections (uvicorn listens after lifespan startup)."""
        while True:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.framework.name}: uvicorn exited ({self.process.returncode}):\n"
                    + self._log_tail()
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.framework.name}: uvicorn not listening after {BOOT_TIMEOUT:.0f}s:\n"
                    + self._log_tail()
                )
            time.sleep(0.05)

    def cpu_ticks(self) -> int:
        """CPU ticks of the server process; fails if it has exited."""
        if self.process.poll() is not None:
            raise BenchError(f"{self.framework.name}: uvicorn exited:\n" + self._log_tail())
        return cpu_ticks(self.pid)

    def url(self, scenario: Scenario) -> str:
        """The scenario's URL on this server."""
        return f"http://{HOST}:{self.port}{scenario.target}"

    def check(self, scenario: Scenario) -> None:
        """Send the scenario's request once and check the response like the worker does."""
        check_response(self.framework.name, self.port, scenario)

    def stop(self) -> None:
        """SIGTERM (graceful, runs the lifespan shutdown), then SIGKILL its group if it lingers."""
        if self.process.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)


def measure_once(wrk: str, server: Server, scenario: Scenario, mode: Mode) -> Sample:
    """Warm up, then one measured run with the server's CPU time read around it."""
    url = server.url(scenario)
    if mode.warmup_seconds:
        run_wrk(wrk, url, scenario, mode.warmup_seconds, mode)
    before = server.cpu_ticks()
    summary = run_wrk(wrk, url, scenario, mode.seconds, mode)
    after = server.cpu_ticks()
    check_summary(server.framework.name, scenario, summary)
    return Sample(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p99_ms=summary["p99_us"] / 1000,
        cpu_seconds=(after - before) / CLOCK_TICKS,
    )


def _cell(value: float | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)


@dataclasses.dataclass
class Results:
    """Per scenario and app: the samples of each round."""

    frameworks: list[Framework]
    scenarios: list[Scenario]
    mode: Mode
    samples: dict[str, dict[str, list[Sample]]]
    wrk_version: str
    #: ``uvicorn X, httptools Y``: what every app ran on.
    server: str

    @property
    def names(self) -> list[str]:
        """The apps' keys, in table order."""
        return [framework.name for framework in self.frameworks]

    def median(self, scenario: str, framework: str, metric: str) -> float | None:
        """The median over rounds of one of :data:`METRICS` (None: not measured)."""
        samples = self.samples.get(scenario, {}).get(framework)
        return statistics.median(map(METRICS[metric], samples)) if samples else None

    def paired_ratio(
        self, scenario: str, framework: str, other: str, metric: str = "requests_per_second"
    ) -> float | None:
        """The median over rounds of ``framework``'s metric ÷ ``other``'s in the same round.

        The apps of a round run back to back, so each pair shares the
        machine's state of the moment (as in ``overhttp.Results``).
        """
        mine = self.samples.get(scenario, {}).get(framework)
        theirs = self.samples.get(scenario, {}).get(other)
        if not mine or not theirs:
            return None
        value = METRICS[metric]
        return statistics.median(value(a) / value(b) for a, b in zip(mine, theirs, strict=True))

    def above_floor(self, scenario: str, framework: str) -> float | None:
        """Server CPU µs per request above the bare ASGI app's (uvicorn's own)."""
        cpu = self.median(scenario, framework, "cpu_us_per_request")
        floor = self.median(scenario, ASGI_FLOOR, "cpu_us_per_request")
        return cpu - floor if cpu is not None and floor is not None else None

    def table(self) -> str:
        """The Markdown table: a row per scenario and app, requests/s ratios to the others."""
        labels = {framework.name: framework.label for framework in self.frameworks}
        references = [name for name in RPS_REFERENCES if name in labels]
        header = [
            "Scenario",
            "App",
            "req/s",
            "p99 ms",
            "server CPU µs/req",
            f"CPU above {labels.get(ASGI_FLOOR, 'bare ASGI')} µs/req",
            *(f"req/s ÷ {labels[name]}'s" for name in references),
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for scenario in self.scenarios:
            for name in self.names:
                row = [
                    scenario.title,
                    labels[name],
                    _cell(self.median(scenario.name, name, "requests_per_second"), "{:.0f}"),
                    _cell(self.median(scenario.name, name, "p99_ms"), "{:.2f}"),
                    _cell(self.median(scenario.name, name, "cpu_us_per_request"), "{:.0f}"),
                    _cell(self.above_floor(scenario.name, name), "{:.0f}"),
                    *(
                        _cell(self.paired_ratio(scenario.name, name, other), "{:.2f}x")
                        for other in references
                    ),
                ]
                lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)

    def as_json(self) -> dict[str, t.Any]:
        """Machine-readable results (``--json``)."""
        return {
            "mode": dataclasses.asdict(self.mode),
            "frameworks": self.names,
            "wrk": self.wrk_version,
            "server": self.server,
            "uvicorn_flags": list(UVICORN_FLAGS),
            "scenarios": {
                scenario.name: {
                    name: {
                        **{metric: self.median(scenario.name, name, metric) for metric in METRICS},
                        "cpu_us_above_floor": self.above_floor(scenario.name, name),
                        **{
                            f"rps_vs_{other}": self.paired_ratio(scenario.name, name, other)
                            for other in RPS_REFERENCES
                            if other != name
                        },
                        "samples": [
                            dataclasses.asdict(sample)
                            for sample in self.samples[scenario.name][name]
                        ],
                    }
                    for name in self.names
                }
                for scenario in self.scenarios
            },
        }


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


def start_servers(frameworks: list[Framework], workdir: Path) -> list[Server]:
    """Start one uvicorn per app (all booting at once), wait until all listen."""
    servers: list[Server] = []
    try:
        for framework in frameworks:
            servers.append(Server(framework, python_for(framework), workdir))
        deadline = time.monotonic() + BOOT_TIMEOUT
        for server in servers:
            server.wait_ready(deadline)
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def measure(frameworks: list[Framework], scenarios: list[Scenario], mode: Mode) -> Results:
    """Run every scenario on every app's server, rounds interleaved."""
    wrk = find_wrk()
    version = wrk_version(wrk)
    server_version = same_server(python_for(framework) for framework in frameworks)
    with tempfile.TemporaryDirectory(prefix="demijohn-bench-asgi-") as workdir:
        servers = start_servers(frameworks, Path(workdir))
        try:
            for scenario in scenarios:
                for server in servers:
                    server.check(scenario)
            samples: dict[str, dict[str, list[Sample]]] = {
                scenario.name: {name: [] for name in (f.name for f in frameworks)}
                for scenario in scenarios
            }
            for round_number in range(mode.rounds):
                order = servers if round_number % 2 == 0 else servers[::-1]
                for scenario in scenarios:
                    for server in order:
                        sample = measure_once(wrk, server, scenario, mode)
                        samples[scenario.name][server.framework.name].append(sample)
        finally:
            stop_servers(servers)
    return Results(frameworks, scenarios, mode, samples, version, server_version)
