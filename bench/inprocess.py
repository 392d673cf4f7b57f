"""In-process mode: each framework's app called directly, CPU time per request.

Every framework runs in its own subprocess (``worker.py``) started with the
python of the venv that holds it. The worker calls the app with a prepared
WSGI environ and reports thread CPU time, so the figures are the framework's
own cost per request, without a server or a socket, and do not grow when
another process takes the core. Rounds interleave the frameworks (and
alternate their order); the reported figure is the median over rounds.

The ASGI in-process mode (``asgi_inprocess.py``) runs the same rounds with
``asgi_worker.py`` as the worker script.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import typing as t
from pathlib import Path

from frameworks import BENCH, CEILING, REFERENCE, REPO, BenchError, Framework, python_for
from scenarios import BY_NAME, Scenario


@dataclasses.dataclass(frozen=True)
class Mode:
    """How long to measure in-process."""

    rounds: int
    requests: int


FULL = Mode(rounds=9, requests=5000)
SMOKE = Mode(rounds=1, requests=200)

WORKER = BENCH / "worker.py"


class Worker:
    """A running ``worker.py`` subprocess serving one framework's app."""

    def __init__(
        self, framework: Framework, python: Path, cpu: int | None, script: Path = WORKER
    ) -> None:
        self.framework = framework
        command = [str(python), str(script), str(BENCH / framework.app)]
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
        """Let the worker exit (EOF on its stdin); kill it if it does not."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return slow / fast if slow is not None and fast else None


def _cell(value: float | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)


@dataclasses.dataclass
class Results:
    """Per scenario and framework: µs per request of each round (None: n/a)."""

    frameworks: list[Framework]
    scenarios: list[Scenario]
    mode: Mode
    samples: dict[str, dict[str, list[float] | None]]
    info: dict[str, dict[str, t.Any]]
    #: The core the workers were pinned to (None: not pinned).
    cpu: int | None = None

    @property
    def names(self) -> list[str]:
        """The frameworks' keys, in column order."""
        return [framework.name for framework in self.frameworks]

    def median(self, scenario: str, framework: str) -> float | None:
        """The reported figure: the median over rounds, in µs per request."""
        samples = self.samples.get(scenario, {}).get(framework)
        return statistics.median(samples) if samples else None

    def ratio(self, scenario: str, slow: str, fast: str) -> float | None:
        """``slow``'s time over ``fast``'s (above 1: ``fast`` is faster)."""
        return _ratio(self.median(scenario, slow), self.median(scenario, fast))

    def twin_ratio(self, scenario: Scenario, framework: str) -> float | None:
        """The scenario's time over its synchronous twin's, e.g. ``async def`` ÷ sync.

        The median of the per-round ratios: :func:`run_order` runs the two back
        to back in each round, so a pair shares the machine's state of the
        moment, as the HTTP mode's paired ratios do.
        """
        if scenario.sync_twin is None:
            return None
        own = self.samples.get(scenario.name, {}).get(framework)
        twin = self.samples.get(scenario.sync_twin, {}).get(framework)
        if not own or not twin:
            return None
        return statistics.median(a / b for a, b in zip(own, twin, strict=True))

    def ratio_columns(self) -> list[tuple[str, str]]:
        """``(slow, fast)`` pairs of the ratio table: vs. Flask, then vs. the ceiling."""
        names = self.names
        pairs: list[tuple[str, str]] = []
        if REFERENCE in names:
            pairs += [(REFERENCE, name) for name in names if name not in (REFERENCE, CEILING)]
        if CEILING in names:
            pairs += [(name, CEILING) for name in names if name != CEILING]
        return pairs

    def as_json(self) -> dict[str, t.Any]:
        """Machine-readable results (``--json``)."""
        return {
            "mode": dataclasses.asdict(self.mode),
            "pinned_cpu": self.cpu,
            "frameworks": self.names,
            "info": self.info,
            "scenarios": {
                scenario.name: {
                    "us_per_request": {
                        name: self.median(scenario.name, name) for name in self.names
                    },
                    "samples": self.samples[scenario.name],
                    "ratio_to_flask": {
                        name: self.ratio(scenario.name, REFERENCE, name)
                        for name in self.names
                        if name != REFERENCE
                    },
                    "ratio_to_ceiling": {
                        name: self.ratio(scenario.name, name, CEILING)
                        for name in self.names
                        if name != CEILING
                    },
                    **(
                        {
                            "ratio_to_sync_twin": {
                                name: self.twin_ratio(scenario, name) for name in self.names
                            }
                        }
                        if scenario.sync_twin
                        else {}
                    ),
                }
                for scenario in self.scenarios
            },
        }

    def _label(self, name: str) -> str:
        return next(framework.label for framework in self.frameworks if framework.name == name)

    def table(self) -> str:
        """The Markdown table of µs per request, with Flask ÷ demijohn when both ran.

        A scenario with a synchronous twin (``async def``) adds a row: its time
        over the twin's, per framework.
        """
        headline = (REFERENCE, "demijohn")
        with_headline = all(name in self.names for name in headline)
        header = ["Scenario", *(f"{framework.label} µs/req" for framework in self.frameworks)]
        if with_headline:
            header.append("Flask ÷ demijohn")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        scenario_names = {scenario.name for scenario in self.scenarios}
        for scenario in self.scenarios:
            row = [scenario.title]
            row += [_cell(self.median(scenario.name, name), "{:.2f}") for name in self.names]
            if with_headline:
                row.append(_cell(self.ratio(scenario.name, *headline), "**{:.2f}x**"))
            lines.append("| " + " | ".join(row) + " |")
        for scenario in self.scenarios:
            if scenario.sync_twin not in scenario_names:
                continue
            twin = BY_NAME[scenario.sync_twin]
            row = [f"`{scenario.path}` ÷ `{twin.path}`: the same view, `async def` ÷ `def`"]
            row += [_cell(self.twin_ratio(scenario, name), "{:.2f}x") for name in self.names]
            if with_headline:
                row.append("")
            lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)

    def ratio_table(self) -> str | None:
        """The Markdown table of ratios to Flask and to the ceiling (None: nothing to compare)."""
        pairs = self.ratio_columns()
        if not pairs:
            return None
        header = [
            "Scenario",
            *(f"{self._label(slow)} ÷ {self._label(fast)}" for slow, fast in pairs),
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for scenario in self.scenarios:
            row = [scenario.title]
            row += [_cell(self.ratio(scenario.name, *pair), "{:.2f}x") for pair in pairs]
            lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)


def run_order(scenarios: list[Scenario]) -> list[Scenario]:
    """``scenarios`` in the order a round runs them: each right after its sync twin."""
    names = {scenario.name for scenario in scenarios}
    order: list[Scenario] = []
    for scenario in scenarios:
        if scenario.sync_twin not in names:
            order.append(scenario)
            order += [s for s in scenarios if s.sync_twin == scenario.name]
    return order


def measure(
    frameworks: list[Framework],
    scenarios: list[Scenario],
    mode: Mode,
    cpu: int | None,
    script: Path = WORKER,
) -> Results:
    """Run every scenario on every framework, rounds interleaved.

    ``script`` is the worker each framework's app runs in (``worker.py``: WSGI).
    """
    pythons = {framework.name: python_for(framework) for framework in frameworks}
    workers: list[Worker] = []
    try:
        for framework in frameworks:
            workers.append(Worker(framework, pythons[framework.name], cpu, script))
        samples: dict[str, dict[str, list[float] | None]] = {}
        for scenario in scenarios:
            samples[scenario.name] = {}
            for worker in workers:
                answer = worker.request(cmd="setup", scenario=scenario.name)
                samples[scenario.name][worker.framework.name] = None if answer.get("na") else []
        scenario_order = run_order(scenarios)
        for round_number in range(mode.rounds):
            # Alternate the order too, so no framework always runs first.
            order = workers if round_number % 2 == 0 else workers[::-1]
            for scenario in scenario_order:
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
    return Results(frameworks, scenarios, mode, samples, info, cpu)
