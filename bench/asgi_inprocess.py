"""ASGI in-process mode: each ASGI app awaited directly, CPU time per request.

The rounds of ``inprocess.py`` (a subprocess per app, rounds interleaved, the
order alternating, the median reported), with ``asgi_worker.py`` as the
worker: each app is called as ``await app(scope, receive, send)`` with a
prepared scope on one asyncio event loop, after its lifespan startup. The
clock is the process's CPU time, for every app alike: demijohn runs ``def``
views in a worker thread, which a thread clock would miss.

Besides the ASGI scenarios on every app, demijohn's ``def``-view app serves
the return forms through its ASGI door (informational: there is nothing to
compare them with under ASGI).
"""

from __future__ import annotations

import dataclasses
import typing as t

import inprocess
from frameworks import ASGI_FLOOR, ASGI_REFERENCE, BENCH, Framework
from scenarios import RETURN_FORM_NAMES, Scenario

ASGI_WORKER = BENCH / "asgi_worker.py"
#: The headline column: demijohn with ``async def`` views ÷ the reference.
DEMIJOHN = "demijohn-async"


def _cell(value: float | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclasses.dataclass
class Results:
    """The in-process rounds' figures (``inprocess.Results``), read the ASGI way."""

    measured: inprocess.Results

    @property
    def frameworks(self) -> list[Framework]:
        """The apps, in column order."""
        return self.measured.frameworks

    @property
    def mode(self) -> inprocess.Mode:
        """Rounds and requests per round."""
        return self.measured.mode

    def median(self, scenario: str, framework: str) -> float | None:
        """µs of process CPU per request, median over rounds (None: n/a)."""
        return self.measured.median(scenario, framework)

    def ratio(self, scenario: str, framework: str, other: str) -> float | None:
        """``framework``'s time over ``other``'s (below 1: ``framework`` is faster)."""
        return self.measured.ratio(scenario, framework, other)

    def _served(self, scenarios: t.Iterable[Scenario]) -> list[Framework]:
        # The apps that served at least one of ``scenarios``.
        return [
            framework
            for framework in self.frameworks
            if any(self.median(scenario.name, framework.name) is not None for scenario in scenarios)
        ]

    def _split(self) -> tuple[list[Scenario], list[Scenario]]:
        scenarios = self.measured.scenarios
        returns = [scenario for scenario in scenarios if scenario.name in RETURN_FORM_NAMES]
        return [scenario for scenario in scenarios if scenario not in returns], returns

    def _names(self) -> list[str]:
        return [framework.name for framework in self.frameworks]

    def _label(self, name: str) -> str:
        return next(framework.label for framework in self.frameworks if framework.name == name)

    def table(self) -> str | None:
        """µs per request per app, with demijohn async ÷ Starlette when both ran."""
        scenarios, _ = self._split()
        if not scenarios:
            return None
        names = self._names()
        headline = DEMIJOHN in names and ASGI_REFERENCE in names
        header = ["Scenario", *(f"{framework.label} µs/req" for framework in self.frameworks)]
        if headline:
            header.append(f"{self._label(DEMIJOHN)} ÷ {self._label(ASGI_REFERENCE)}")
        rows = []
        for scenario in scenarios:
            row = [scenario.title]
            row += [_cell(self.median(scenario.name, name), "{:.2f}") for name in names]
            if headline:
                ratio = self.ratio(scenario.name, DEMIJOHN, ASGI_REFERENCE)
                row.append(_cell(ratio, "**{:.2f}x**"))
            rows.append(row)
        return _markdown(header, rows)

    def ratio_pairs(self) -> list[tuple[str, str]]:
        """``(app, other)`` pairs of the ratio table: each app ÷ Starlette, then ÷ the floor."""
        names = self._names()
        pairs: list[tuple[str, str]] = []
        for other in (ASGI_REFERENCE, ASGI_FLOOR):
            if other in names:
                pairs += [(name, other) for name in names if name not in (other, ASGI_FLOOR)]
        return pairs

    def ratio_table(self) -> str | None:
        """Each app's time ÷ Starlette's and ÷ the bare ASGI floor's (None: nothing to compare)."""
        scenarios, _ = self._split()
        pairs = self.ratio_pairs()
        if not scenarios or not pairs:
            return None
        header = ["Scenario", *(f"{self._label(a)} ÷ {self._label(b)}" for a, b in pairs)]
        rows = [
            [scenario.title, *(_cell(self.ratio(scenario.name, a, b), "{:.2f}x") for a, b in pairs)]
            for scenario in scenarios
        ]
        return _markdown(header, rows)

    def return_forms_table(self) -> str | None:
        """µs per request of the return forms, on the apps that serve them (None: none ran)."""
        _, returns = self._split()
        served = self._served(returns)
        if not returns or not served:
            return None
        header = ["Return form", *(f"{framework.label} µs/req" for framework in served)]
        rows = [
            [scenario.title, *(_cell(self.median(scenario.name, f.name), "{:.2f}") for f in served)]
            for scenario in returns
        ]
        return _markdown(header, rows)

    def tables(self) -> str:
        """Every table this run has, blank-line separated."""
        returns = self.return_forms_table()
        caption = "What each return form of a view costs through demijohn's ASGI door:"
        found = (self.table(), self.ratio_table(), *((caption, returns) if returns else ()))
        return "\n\n".join(table for table in found if table)

    def as_json(self) -> dict[str, t.Any]:
        """Machine-readable results (``--json``)."""
        names = self._names()
        return {
            "mode": dataclasses.asdict(self.mode),
            "clock": "process CPU time",
            "pinned_cpu": self.measured.cpu,
            "frameworks": names,
            "info": self.measured.info,
            "scenarios": {
                scenario.name: {
                    "us_per_request": {name: self.median(scenario.name, name) for name in names},
                    "samples": self.measured.samples[scenario.name],
                    **{
                        f"ratio_to_{other}": {
                            name: self.ratio(scenario.name, name, other)
                            for name in names
                            if name != other
                        }
                        for other in (ASGI_REFERENCE, ASGI_FLOOR)
                    },
                }
                for scenario in self.measured.scenarios
            },
        }


def measure(
    frameworks: list[Framework], scenarios: list[Scenario], mode: inprocess.Mode, cpu: int | None
) -> Results:
    """Run every scenario on every ASGI app, rounds interleaved."""
    return Results(inprocess.measure(frameworks, scenarios, mode, cpu, script=ASGI_WORKER))
