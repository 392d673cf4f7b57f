"""The ASGI sections of ``bench/RESULTS.md``, and the targets of the ASGI issue.

Those targets are the ASGI ratios (demijohn against Starlette and Quart, over
HTTP and in process) and the return forms' (Flask ÷ demijohn, WSGI in process),
which came with them.
"""

from __future__ import annotations

import textwrap

import asgi_http
import asgi_inprocess
import inprocess
from frameworks import ASGI_REFERENCE, REFERENCE
from scenarios import ASGI_SCENARIOS, BY_NAME, RETURN_FORMS
from targets import Target, target

#: Over HTTP, ``(app, other, goal, required)``: the app's requests/s ÷ the
#: other's, at least, on each of :data:`RPS_TARGET_SCENARIOS`.
RPS_TARGETS: tuple[tuple[str, str, float, bool], ...] = (
    ("demijohn-async", ASGI_REFERENCE, 0.8, True),
    ("demijohn-async", ASGI_REFERENCE, 1.5, False),
    ("demijohn-async", "quart", 2.5, True),
    ("demijohn-def", "quart", 1.5, True),
)
RPS_TARGET_SCENARIOS = ("hello", "json", "routing")
#: In process: demijohn async's CPU per request ÷ Starlette's, at most, on every ASGI scenario.
CPU_TARGET = 2.0
#: In process (WSGI): Flask's time ÷ demijohn's on each return form, at least.
RETURN_FORM_TARGET = 3.0


def _prose(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=79, break_on_hyphens=False)


def _label(results: asgi_http.Results | asgi_inprocess.Results, name: str) -> str:
    return next(f.label for f in results.frameworks if f.name == name)


def targets(
    in_process: inprocess.Results,
    asgi_in_process: asgi_inprocess.Results,
    asgi_over_http: asgi_http.Results,
) -> list[Target]:
    """The ASGI issue's targets, measured on this run."""
    found = []
    for name in RPS_TARGET_SCENARIOS:
        for app, other, goal, required in RPS_TARGETS:
            found.append(
                target(
                    f"ASGI HTTP {BY_NAME[name].title}: {_label(asgi_over_http, app)} req/s"
                    f" ÷ {_label(asgi_over_http, other)}'s",
                    asgi_over_http.paired_ratio(name, app, other),
                    goal,
                    at_least=True,
                    required=required,
                )
            )
    for name in ASGI_SCENARIOS:
        found.append(
            target(
                f"ASGI in-process {BY_NAME[name].title}: demijohn async's CPU ÷ Starlette's",
                asgi_in_process.ratio(name, asgi_inprocess.DEMIJOHN, ASGI_REFERENCE),
                CPU_TARGET,
                at_least=False,
            )
        )
    for scenario in RETURN_FORMS:
        found.append(
            target(
                f"in-process {scenario.title}: Flask ÷ demijohn",
                in_process.ratio(scenario.name, REFERENCE, "demijohn"),
                RETURN_FORM_TARGET,
                at_least=True,
            )
        )
    return found


def in_process_section(results: asgi_inprocess.Results) -> list[str]:
    """The ASGI in-process heading, its prose and its tables."""
    mode = results.mode
    pinned = "pinned to one core" if results.measured.cpu is not None else "not pinned"
    return [
        "## ASGI in-process: the framework's own CPU time",
        _prose(f"""Each ASGI app is awaited directly, `await app(scope, receive, send)`,
            with a prepared scope (`bench/asgi_worker.py`), on one asyncio event loop
            in its own subprocess ({pinned}; no server, no socket), after its lifespan
            startup. `receive` hands over the body in one message, `send` collects the
            response, and every response is checked. The figure is the process CPU time
            per request (`time.process_time_ns`), not the thread's: demijohn runs a
            `def` view in a worker thread, which a thread clock would not see; every
            app is measured with the same clock. Median of {mode.rounds} interleaved
            rounds of {mode.requests} requests; lower is better. "demijohn async" is
            `bench/apps/demijohn_async_app.py` (`async def` views); "demijohn def" is
            the WSGI modes' `bench/apps/demijohn_app.py` (`def` views, which the ASGI
            door runs in a worker thread). The second table gives each app's time over
            Starlette's and over the bare ASGI floor's; the last one runs the return
            forms through demijohn's ASGI door (for information: no peer serves
            them)."""),
        results.tables(),
    ]


def http_section(results: asgi_http.Results) -> list[str]:
    """The ASGI over-HTTP heading, its prose and its table."""
    mode = results.mode
    return [
        "## ASGI over HTTP: uvicorn, 1 worker, driven by wrk",
        _prose(f"""Each app runs in its own uvicorn ({results.server}; `uvicorn
            {" ".join(asgi_http.UVICORN_FLAGS)}`, the same for every app) on a free port
            of 127.0.0.1, started and stopped by the script. `wrk`
            ({results.wrk_version}) runs on the same machine with {mode.threads} thread
            and {mode.connections} connections. Per round, for each scenario, each app
            in turn (the order alternates between rounds): a {mode.warmup_seconds} s
            warm-up, then a {mode.seconds} s measured run; medians of {mode.rounds}
            rounds, and each ratio is the median of the per-round ratios. Server CPU is
            utime + stime of the uvicorn process (all its threads), read from
            `/proc/<pid>/stat` before and after the measured run, per completed request;
            "above bare ASGI" subtracts the bare ASGI app's figure, which is uvicorn's
            own cost."""),
        results.table(),
    ]
