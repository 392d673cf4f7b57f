"""``bench/RESULTS.md``: the tables of every mode, the targets, the machine notes.

The ASGI modes' sections and targets are ``asgi_report.py``'s.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import os
import platform
import textwrap
import typing as t
from pathlib import Path

import asgi_http
import asgi_inprocess
import asgi_report
import breakdown
import inprocess
import overhttp
from frameworks import BENCH, REFERENCE, SHARED_DEPENDENCIES
from scenarios import BY_NAME, RETURN_FORM_NAMES
from targets import Target, target, targets_table

RESULTS = BENCH / "RESULTS.md"
#: The scale-out figures have their own file, written by bench/scaleout.py (it
#: needs root and starts a whole cluster), so that this one can be rewritten.
SCALEOUT_LINK = (
    "Several app hosts behind nginx, with Redis and Celery (`scripts/cluster`): "
    "[SCALEOUT.md](SCALEOUT.md), written by `bench/scaleout.py --write`."
)

#: Issue 9's in-process targets: Flask's time ÷ demijohn's, at least.
SPEEDUP_TARGETS: dict[str, float] = {
    "hello": 3.0,
    "json": 3.0,
    "routing": 3.0,
    "notfound": 3.0,
    "hooks": 3.0,
    "template": 1.5,
    "form": 1.5,
    "session": 1.5,
}
#: ``async def`` ÷ the same sync view, in-process, at most.
ASYNC_TARGET = 1.5
#: Over HTTP: demijohn's server CPU above the bare-WSGI floor ÷ Flask's, at most,
#: and demijohn's requests/s ÷ Flask's, at least.
HTTP_CPU_TARGET = 1 / 3
HTTP_RPS_TARGET = 1.3
#: Idle worker's resident size ÷ Flask's, at most.
MEMORY_TARGET = 1.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclasses.dataclass
class Machine:
    """What the run ran on, and how busy the machine was around it."""

    date: str
    cpu: str
    cpus: int
    memory: str
    system: str
    load_before: str
    load_after: str = ""

    @classmethod
    def read(cls) -> Machine:
        """Read the machine's description, and its load average now."""
        return cls(
            date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            cpu=_cpu_model(),
            cpus=os.cpu_count() or 0,
            memory=_memory_total(),
            system=f"{platform.system()} {platform.release()}",
            load_before=_load(),
        )

    def finish(self) -> None:
        """Record the load average at the end of the run."""
        self.load_after = _load()


def inprocess_tables(results: inprocess.Results) -> str:
    """The in-process tables: µs per request, ratios (if several frameworks ran), return forms.

    The return forms' table has the frameworks that serve them (demijohn, Flask) only.
    """
    main = [s for s in results.scenarios if s.name not in RETURN_FORM_NAMES]
    returns = [s for s in results.scenarios if s.name in RETURN_FORM_NAMES]
    tables = []
    if main:
        core = dataclasses.replace(results, scenarios=main)
        tables += [core.table(), core.ratio_table()]
    served = [
        framework
        for framework in results.frameworks
        if any(results.median(s.name, framework.name) is not None for s in returns)
    ]
    if served:
        forms = dataclasses.replace(results, scenarios=returns, frameworks=served)
        tables += ["What each return form of a view costs:", forms.table()]
    return "\n\n".join(table for table in tables if table)


def http_tables(results: overhttp.Results) -> str:
    """The HTTP-mode tables: throughput and CPU, then the idle workers' memory."""
    return f"{results.table()}\n\nIdle workers' resident size:\n\n{results.memory_table()}"


def signals_text(cost: dict[str, float]) -> str:
    """The signals paragraph, from ``signals_cost.main()``'s medians."""
    quiet, observed = cost["no receivers"], cost["a receiver on each"]
    return _prose(f"""`bench/signals_cost.py` (same run) measures demijohn's `GET /hello` with no
signal receivers and with a receiver connected to each of the six signals sent
per request: {quiet:.2f} µs/request without receivers, {observed:.2f} µs with them.
Without receivers nothing is sent at all: every send is guarded by a check of
the signal's `receivers` mapping, so an app that uses no signals pays for none.""")


def _share(found: dict[str, dict[str, float]], scenario: str, *labels: str) -> str:
    value = sum(found.get(scenario, {}).get(label, 0.0) for label in labels)
    return f"{value * 100:.0f}%"


def breakdown_text(found: dict[str, dict[str, float]]) -> str:
    """The profile section: where demijohn's time goes, and what that means for the targets."""
    werkzeug_objects = "Werkzeug: request, response, headers"
    largest = max(
        (result.get(breakdown.LARGEST_OWN, 0.0) for result in found.values()), default=0.0
    )
    prose = _prose(f"""`bench/breakdown.py` (same run) profiles demijohn's benchmark app on
        each scenario and sums the profile's own time per function by the code that
        owns it. Profiling inflates every Python call alike, so read the shares, not
        times. What demijohn does not own sets the floor of several scenarios, as it
        uses those libraries as they are (docs/design.md): the form post spends
        {_share(found, "form", "Werkzeug + urllib: form parsing", werkzeug_objects)}
        in Werkzeug's and urllib's form parsing and Werkzeug's objects; the session
        scenario {_share(found, "session", "ItsDangerous + hmac/hashlib")} signing and
        verifying the cookie with ItsDangerous; the template scenario
        {_share(found, "template", "Jinja2 + MarkupSafe")} in Jinja2 and MarkupSafe;
        an `async def` view under WSGI {_share(found, "async", "asyncio")} in asyncio
        itself, and more that the profile books to demijohn's `EagerLoop.run`, as it
        is asyncio's C code called there: the real Task each call creates and
        registers (so that `current_task()`, `asyncio.timeout` and task groups work
        in the view), and the two `_set_running_loop` calls around its first step,
        each a `getpid` system call on Python 3.11 (the loop itself turns only when
        the coroutine waits).
        demijohn's own share is its pipeline (contexts, session, hooks, its routing
        indexes, the response), spread thin: its most expensive single function is
        at most {largest * 100:.0f}% of any scenario, so there is no single hot spot
        left, only small cuts per step.""")
    return f"{breakdown.table(found)}\n\n{prose}"


def targets(in_process: inprocess.Results, over_http: overhttp.Results) -> list[Target]:
    """Issue 9's targets, measured on this run."""
    found = [
        target(
            f"in-process {BY_NAME[name].title}: Flask ÷ demijohn",
            in_process.ratio(name, REFERENCE, "demijohn"),
            minimum,
            at_least=True,
        )
        for name, minimum in SPEEDUP_TARGETS.items()
        if name in in_process.samples
    ]
    for scenario in in_process.scenarios:
        if scenario.sync_twin in in_process.samples:
            found.append(
                target(
                    f"in-process {scenario.title}: demijohn's ÷ its sync twin's",
                    in_process.twin_ratio(scenario, "demijohn"),
                    ASYNC_TARGET,
                    at_least=False,
                )
            )
    for scenario in over_http.scenarios:
        found.append(
            target(
                f"HTTP {scenario.title}: demijohn's CPU above bare WSGI ÷ Flask's",
                over_http.paired_above_floor_ratio(scenario.name, "demijohn"),
                HTTP_CPU_TARGET,
                at_least=False,
            )
        )
        found.append(
            target(
                f"HTTP {scenario.title}: demijohn's app CPU in the worker above bare WSGI"
                " ÷ Flask's",
                over_http.paired_above_floor_ratio(scenario.name, "demijohn", overhttp.APP_CPU),
                HTTP_CPU_TARGET,
                at_least=False,
            )
        )
        found.append(
            target(
                f"HTTP {scenario.title}: demijohn's req/s ÷ Flask's",
                over_http.paired_ratio(scenario.name, "demijohn", REFERENCE, "requests_per_second"),
                HTTP_RPS_TARGET,
                at_least=True,
            )
        )
    memory = over_http.memory
    if "demijohn" in memory and REFERENCE in memory:
        for when, label in (("after_boot", "after boot"), ("after_runs", "after the runs")):
            found.append(
                target(
                    f"idle worker's resident size {label}: demijohn's ÷ Flask's",
                    memory["demijohn"][when] / memory[REFERENCE][when],
                    MEMORY_TARGET,
                    at_least=False,
                )
            )
    return found


def _versions(*infos: dict[str, dict[str, t.Any]]) -> str:
    seen: dict[str, str] = {}
    for info in (one for found in infos for one in found.values()):
        for package, version in info["versions"].items():
            if version and package not in ("werkzeug", "jinja2"):
                seen.setdefault(package, version)
    shared = [f"{name} {importlib.metadata.version(name)}" for name in SHARED_DEPENDENCIES]
    return ", ".join(f"{package} {version}" for package, version in seen.items()) + (
        f"; all on {', '.join(shared)}"
    )


def _prose(text: str) -> str:
    """One Markdown paragraph, reflowed (the f-strings below break lines anywhere)."""
    return textwrap.fill(" ".join(text.split()), width=79, break_on_hyphens=False)


def document(
    in_process: inprocess.Results,
    over_http: overhttp.Results,
    signals: dict[str, float],
    profile: dict[str, dict[str, float]],
    machine: Machine,
    *,
    asgi_in_process: asgi_inprocess.Results | None = None,
    asgi_over_http: asgi_http.Results | None = None,
) -> str:
    """The whole of ``bench/RESULTS.md`` (the ASGI sections if those modes ran)."""
    python = next(iter(in_process.info.values()))
    versions = [in_process.info, *([asgi_in_process.measured.info] if asgi_in_process else [])]
    mode, http_mode = in_process.mode, over_http.mode
    pinned = "pinned to one core" if in_process.cpu is not None else "not pinned"
    sections = [
        "# Benchmark results",
        _prose(f"""Written by `.venv/bin/python bench/run.py --write` (every mode, one
            run) on {machine.date}. Every response of every run is checked. Each
            framework serves the same small app (`bench/apps/`); bare WSGI is the
            ceiling: the same responses with no framework at all (dispatch, JSON, form
            parsing and Jinja2 by hand, in pure Python: Falcon's compiled parts can
            come in under it), and bare ASGI is its ASGI counterpart. "n/a": the app
            cannot serve the scenario (no sessions, no `async def` views under WSGI, or
            no Flask-style return values)."""),
        SCALEOUT_LINK,
        "## In-process: the framework's own CPU time",
        _prose(f"""Each app is called directly as a WSGI application with a prepared
            environ, in its own subprocess ({pinned}; no server, no socket). The figure
            is the thread CPU time per request (`time.thread_time_ns`, so another
            process taking the core does not inflate it), median of {mode.rounds}
            interleaved rounds of {mode.requests} requests. Lower is better; the
            second table gives the ratios to Flask and to the bare WSGI ceiling. An
            `async def` view runs right after its sync twin in each round, and its
            cost over the twin is the median of the per-round ratios. The last table
            times each form a view may return (`/return/<form>`: a string, a dict, a
            list, the tuples, a response, a redirect, `jsonify`) on demijohn and
            Flask."""),
        inprocess_tables(in_process),
        "## Over HTTP: gunicorn, 2 sync workers, driven by wrk",
        _prose(f"""Each app runs in its own gunicorn (`bench/gunicorn_conf.py`: 2 sync
            workers, no access log, the same for every framework) on a free port of
            127.0.0.1, started and stopped by the script. `wrk` ({over_http.wrk_version})
            runs on the same machine with {http_mode.threads} thread and
            {http_mode.connections} connections. Per round, for each scenario, each
            framework in turn (the order alternates between rounds): a
            {http_mode.warmup_seconds} s warm-up, then a {http_mode.seconds} s measured
            run; medians of {http_mode.rounds} rounds, and each ratio is the median of
            the per-round ratios (the frameworks of a round run back to back, so a pair
            shares the machine's state of the moment). Server CPU is utime + stime of
            the gunicorn master and its workers, read from `/proc/<pid>/stat` before and
            after the measured run, per completed request; "above bare WSGI" subtracts
            the bare callable's figure, which is gunicorn's own cost (HTTP parsing,
            sockets, the kernel's share of them), measured in the same round. That
            floor is large and moves by several percent from run to run, so a framework
            that adds only a few µs (Falcon, Bottle) can land a little below it: read
            such figures as zero. The same quantity is also measured directly: each
            worker wraps its app in a timer (`gunicorn_conf.AppTimer`, the same for
            every framework) that adds up the thread CPU time of the WSGI call, the
            iteration of the body and its `close()`; "app CPU in the worker" is that
            per request, gunicorn's own work left out. It runs between gunicorn's
            socket and parsing work, so it is higher than the in-process figure (colder
            caches), but it does not carry the floor's noise. `--json` has every
            sample."""),
        over_http.table(),
        _prose("""Idle workers' resident size: `VmRSS` (from `/proc/<pid>/status`) of the
            larger of each server's two workers, after boot (the app imported, no
            request yet) and again after all the runs, with each framework's benchmark
            app."""),
        over_http.memory_table(),
        *(asgi_report.in_process_section(asgi_in_process) if asgi_in_process else ()),
        *(asgi_report.http_section(asgi_over_http) if asgi_over_http else ()),
        "## Signals with nobody connected",
        signals_text(signals),
        "## Targets (issue 9)",
        targets_table(targets(in_process, over_http)),
        *(
            [
                "## Targets (ASGI and return forms)",
                targets_table(asgi_report.targets(in_process, asgi_in_process, asgi_over_http)),
            ]
            if asgi_in_process and asgi_over_http
            else ()
        ),
        "## Where demijohn's time goes",
        breakdown_text(profile),
        "## Machine",
        "\n".join(
            [
                f"- Date: {machine.date}",
                f"- CPU: {machine.cpu}, {machine.cpus} logical CPUs, {machine.memory} of memory",
                f"- System: {machine.system}; Python: {python['implementation']}"
                f" {python['python']}",
                f"- Load average (1/5/15 min) before the run: {machine.load_before};"
                f" after: {machine.load_after}",
                f"- Versions: {_versions(*versions)}",
                "- Shared machine: wall-clock figures (requests/s, p99) move with whatever"
                " else runs; CPU-time figures much less. Compare ratios within one run.",
            ]
        ),
        "Reproduce (every mode; the HTTP modes need `wrk`: `apt-get install wrk`):",
        "```sh\n.venv/bin/python bench/run.py --write\n```",
        _prose("""`--mode inprocess`, `--mode http`, `--mode asgi-inprocess` or `--mode
            asgi-http` runs one mode (tables on stdout), `--scenarios` and
            `--frameworks` pick a subset, `--json` prints every sample."""),
    ]
    return "\n\n".join(sections) + "\n"
