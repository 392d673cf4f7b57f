"""Side-by-side, in-process benchmark: demijohn against real Flask 3.1.

Run it with the project venv's python::

    .venv/bin/python bench/run.py            # full run, Markdown table on stdout
    .venv/bin/python bench/run.py --write    # ... and write bench/RESULTS.md
    .venv/bin/python bench/run.py --smoke    # one short round, seconds

Every framework runs in its own subprocess (``worker.py``): demijohn and the
bare WSGI ceiling with this venv's python, Flask with ``.bench-venv``'s, which
this script creates and keeps up to date (Flask is never installed in
``.venv``). The worker calls the app directly with a prepared WSGI environ, so
the figures are the framework's own CPU cost per request (thread CPU time),
without a server or a socket. Rounds interleave the frameworks and the
reported figure is the median over rounds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import typing as t
from pathlib import Path

from scenarios import BY_NAME, SCENARIOS, Scenario

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BENCH_VENV = REPO / ".bench-venv"
FLASK_REQUIREMENTS = BENCH / "requirements-flask.txt"
RESULTS = BENCH / "RESULTS.md"

# Flask's own dependencies are pinned to the versions in the project venv, so
# both sides run on the very same Werkzeug, Jinja2, ... and only the framework
# layer differs.
SHARED_DEPENDENCIES = ("werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")


@dataclasses.dataclass(frozen=True)
class Framework:
    """One column of the results table: an app file run by some venv's python."""

    #: Key used on the command line (``--frameworks demijohn,flask``).
    name: str
    #: Column header.
    label: str
    #: The app, relative to ``bench/``.
    app: str
    #: Needs ``.bench-venv`` (real Flask) rather than the project venv.
    bench_venv: bool = False


FRAMEWORKS: tuple[Framework, ...] = (
    Framework("wsgi", "bare WSGI (ceiling)", "apps/wsgi_app.py"),
    Framework("demijohn", "demijohn", "apps/demijohn_app.py"),
    Framework("flask", "Flask 3.1", "apps/flask_app.py", bench_venv=True),
)

#: The ratio column: how many times longer the first takes than the second.
RATIO = ("flask", "demijohn")


@dataclasses.dataclass(frozen=True)
class Mode:
    """How long to measure."""

    rounds: int
    requests: int


FULL = Mode(rounds=9, requests=5000)
SMOKE = Mode(rounds=1, requests=200)


class BenchError(Exception):
    """The benchmark could not run or a response was wrong."""


def _run_quiet(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"{what} failed:\n{result.stdout}{result.stderr}")


def ensure_bench_venv() -> Path:
    """Create or update ``.bench-venv`` with the pinned Flask; return its python."""
    python = BENCH_VENV / "bin" / "python"
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in SHARED_DEPENDENCIES]
    wanted = hashlib.sha256(
        "\n".join([FLASK_REQUIREMENTS.read_text(), *pins, sys.version]).encode()
    ).hexdigest()
    stamp = BENCH_VENV / ".bench-install"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    if not python.exists():
        print(f"==> creating {BENCH_VENV.name} for real Flask", file=sys.stderr)
        _run_quiet([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], "creating the venv")
    print(f"==> installing {FLASK_REQUIREMENTS.name} into {BENCH_VENV.name}", file=sys.stderr)
    _run_quiet(
        [
            str(python),
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("-r", str(FLASK_REQUIREMENTS)),
            *pins,
        ],
        "installing Flask",
    )
    stamp.write_text(wanted + "\n")
    return python


class Worker:
    """A running ``worker.py`` subprocess serving one framework's app."""

    def __init__(self, framework: Framework, python: Path, cpu: int | None) -> None:
        self.framework = framework
        command = [str(python), str(BENCH / "worker.py"), str(BENCH / framework.app)]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=REPO,
        )
        self.info = self._receive()

    def _receive(self) -> dict[str, t.Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise BenchError(f"{self.framework.name} worker exited ({code}); see stderr above")
        message: dict[str, t.Any] = json.loads(line)
        if not message["ok"] and not message.get("na"):
            raise BenchError(f"{self.framework.name} worker: {message['error']}")
        return message

    def request(self, **command: t.Any) -> dict[str, t.Any]:
        """Send one command and wait for its answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._receive()

    def close(self) -> None:
        """Let the worker exit (EOF on its stdin)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclasses.dataclass
class Results:
    """Per scenario and framework: µs per request of each round (None: n/a)."""

    frameworks: list[Framework]
    scenarios: list[Scenario]
    mode: Mode
    samples: dict[str, dict[str, list[float] | None]]
    info: dict[str, dict[str, t.Any]]

    def median(self, scenario: str, framework: str) -> float | None:
        """The reported figure: the median over rounds, in µs per request."""
        samples = self.samples[scenario].get(framework)
        return statistics.median(samples) if samples else None

    def ratio(self, scenario: str) -> float | None:
        """``RATIO[0]``'s time over ``RATIO[1]``'s (above 1: demijohn is faster)."""
        slow, fast = (self.median(scenario, name) for name in RATIO)
        return slow / fast if slow is not None and fast else None

    def as_json(self) -> dict[str, t.Any]:
        """Machine-readable results (``--json``)."""
        return {
            "mode": dataclasses.asdict(self.mode),
            "frameworks": [framework.name for framework in self.frameworks],
            "info": self.info,
            "scenarios": {
                scenario.name: {
                    "us_per_request": {
                        framework.name: self.median(scenario.name, framework.name)
                        for framework in self.frameworks
                    },
                    "samples": self.samples[scenario.name],
                    "ratio": self.ratio(scenario.name),
                }
                for scenario in self.scenarios
            },
        }

    def table(self) -> str:
        """The Markdown results table."""
        names = [framework.name for framework in self.frameworks]
        with_ratio = all(name in names for name in RATIO)
        header = ["Scenario", *(f"{framework.label} µs/req" for framework in self.frameworks)]
        if with_ratio:
            header.append("Flask / demijohn")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for scenario in self.scenarios:
            row = [scenario.title]
            for framework in self.frameworks:
                value = self.median(scenario.name, framework.name)
                row.append("n/a" if value is None else f"{value:.2f}")
            if with_ratio:
                ratio = self.ratio(scenario.name)
                row.append("n/a" if ratio is None else f"**{ratio:.2f}x**")
            lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)


def measure(
    frameworks: list[Framework],
    scenarios: list[Scenario],
    mode: Mode,
    cpu: int | None,
) -> Results:
    """Run every scenario on every framework, rounds interleaved."""
    pythons = {
        framework.name: ensure_bench_venv() if framework.bench_venv else Path(sys.executable)
        for framework in frameworks
    }
    workers: list[Worker] = []
    try:
        for framework in frameworks:
            workers.append(Worker(framework, pythons[framework.name], cpu))
        samples: dict[str, dict[str, list[float] | None]] = {}
        for scenario in scenarios:
            samples[scenario.name] = {}
            for worker in workers:
                answer = worker.request(cmd="setup", scenario=scenario.name)
                samples[scenario.name][worker.framework.name] = None if answer.get("na") else []
        for round_number in range(mode.rounds):
            # Alternate the order too, so no framework always runs first.
            order = workers if round_number % 2 == 0 else workers[::-1]
            for scenario in scenarios:
                for worker in order:
                    collected = samples[scenario.name][worker.framework.name]
                    if collected is None:
                        continue
                    answer = worker.request(cmd="run", scenario=scenario.name, n=mode.requests)
                    collected.append(answer["ns"] / mode.requests / 1000)
        info = {worker.framework.name: worker.info for worker in workers}
    finally:
        for worker in workers:
            worker.close()
    return Results(frameworks, scenarios, mode, samples, info)


def cpu_model() -> str:
    """The CPU's model name, as the kernel reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(results: Results) -> str:
    """The body of ``bench/RESULTS.md``."""
    info = results.info
    versions: list[str] = []
    for name, package in (("demijohn", "demijohn"), ("flask", "flask")):
        if name in info and info[name]["versions"].get(package):
            versions.append(f"{package} {info[name]['versions'][package]}")
    any_info = next(iter(info.values()))
    shared = ", ".join(
        f"{package} {version}"
        for package, version in any_info["versions"].items()
        if package not in ("demijohn", "flask") and version
    )
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return f"""# Benchmark results

Per-request CPU cost of the framework, measured in-process by `bench/run.py`
(no server, no socket): each framework's app is called directly as a WSGI
application with a prepared environ, in its own subprocess; the figure is the
thread CPU time per request (`time.thread_time_ns`), median of
{results.mode.rounds} interleaved rounds of {results.mode.requests} requests.
Every response is checked. Lower is better; the last column is how many times
longer Flask takes than demijohn. The bare WSGI column is the ceiling: the
same responses with no framework at all.

{results.table()}

- Date: {today}
- CPU: {cpu_model()} ({os.cpu_count()} logical CPUs; workers pinned to one core)
- Python: {any_info["implementation"]} {any_info["python"]} on {platform.system()}
- Versions: {", ".join(versions)}; both on {shared}

Reproduce with `.venv/bin/python bench/run.py --write`.
"""


def _choose(option: str | None, known: dict[str, t.Any], default: t.Sequence[t.Any]) -> list[t.Any]:
    if option is None:
        return list(default)
    chosen = []
    for name in option.split(","):
        if name not in known:
            raise SystemExit(f"unknown name {name!r}; choose from {', '.join(known)}")
        chosen.append(known[name])
    return chosen


def _use_project_venv() -> None:
    # demijohn and the ceiling run on this interpreter: make it the project's.
    python = REPO / ".venv" / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != python.parent.parent.resolve():
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one short round (seconds)")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS.name}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument(
        "--frameworks", help=f"comma-separated subset of {','.join(f.name for f in FRAMEWORKS)}"
    )
    parser.add_argument("--scenarios", help=f"comma-separated subset of {','.join(BY_NAME)}")
    parser.add_argument("--rounds", type=int, help="rounds (median is reported)")
    parser.add_argument("--requests", type=int, help="requests per round and scenario")
    parser.add_argument("--no-pin", action="store_true", help="do not pin workers to one CPU")
    args = parser.parse_args(argv)
    if args.write and args.smoke:
        parser.error("--write records a full run; drop --smoke")

    frameworks: list[Framework] = _choose(
        args.frameworks, {f.name: f for f in FRAMEWORKS}, FRAMEWORKS
    )
    scenarios: list[Scenario] = _choose(args.scenarios, BY_NAME, SCENARIOS)
    base = SMOKE if args.smoke else FULL
    mode = Mode(rounds=args.rounds or base.rounds, requests=args.requests or base.requests)
    cpu = None if args.no_pin else max(os.sched_getaffinity(0))

    try:
        results = measure(frameworks, scenarios, mode, cpu)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results.as_json(), indent=2))
    else:
        print(results.table())
    if args.write:
        RESULTS.write_text(report(results))
        print(f"wrote {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    _use_project_venv()
    sys.exit(main())
