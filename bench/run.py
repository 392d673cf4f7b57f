"""Side-by-side benchmark: demijohn against Flask 3.1, Bottle, Falcon, Starlette and Quart.

Run it with the project venv's python::

    .venv/bin/python bench/run.py            # every mode, Markdown tables on stdout
    .venv/bin/python bench/run.py --write    # ... and write bench/RESULTS.md
    .venv/bin/python bench/run.py --smoke    # one short round of both in-process modes

Four modes (``--mode``, all of them by default):

``inprocess`` (``inprocess.py``)
    Each WSGI app called directly with a prepared WSGI environ, in its own
    subprocess; thread CPU µs per request, median of interleaved rounds. Also
    the return forms (``RETURN_FORMS``), on demijohn and Flask.
``http`` (``overhttp.py``)
    Each WSGI app behind gunicorn (2 sync workers) on 127.0.0.1, loaded by
    ``wrk``; requests/s, p99 latency, the server's CPU µs per request from
    /proc, and the idle workers' resident size.
``asgi-inprocess`` (``asgi_inprocess.py``)
    Each ASGI app (bare ASGI, demijohn with ``async def`` and with ``def``
    views, Starlette, Quart) awaited directly with a prepared scope on one
    event loop, in its own subprocess; process CPU µs per request, median of
    interleaved rounds. Also the return forms through demijohn's ASGI door.
``asgi-http`` (``asgi_http.py``)
    The same ASGI apps, each under uvicorn (1 worker, httptools) on
    127.0.0.1, loaded by ``wrk -c32``; requests/s, p99 latency and the
    server's CPU µs per request from /proc.

The HTTP modes need ``wrk`` (Debian package ``wrk``) and are not run by the
test suite. ``--frameworks`` and ``--scenarios`` apply to every mode that
knows the names given (a mode left with nothing to run is skipped).

demijohn and the floors run on this venv's python; Flask, Bottle, Falcon,
Starlette and Quart on ``.bench-venv``'s, which this script creates and keeps
up to date (``frameworks.py``; Flask is never installed in ``.venv``). Every
response is checked.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import typing as t
from pathlib import Path

import asgi_http
import asgi_inprocess
import frameworks as fw
import inprocess
import overhttp
import report
import scenarios as sc

#: What ``--mode all`` runs, in this order; ``--smoke`` runs the in-process ones.
ALL_MODES = ("inprocess", "http", "asgi-inprocess", "asgi-http")
SMOKE_MODES = ("inprocess", "asgi-inprocess")
MODES = ("all", *ALL_MODES)

_WSGI_KNOWN = (*sc.SCENARIOS, *sc.RETURN_FORMS)
_ASGI = tuple(sc.BY_NAME[name] for name in sc.ASGI_SCENARIOS)


@dataclasses.dataclass(frozen=True)
class ModeSpec:
    """What one mode can run, and what it runs by default."""

    heading: str
    frameworks: tuple[fw.Framework, ...]
    scenarios: tuple[sc.Scenario, ...]
    default_scenarios: tuple[sc.Scenario, ...]


SPECS: dict[str, ModeSpec] = {
    "inprocess": ModeSpec(
        "## In-process (CPU µs per request)", fw.FRAMEWORKS, _WSGI_KNOWN, _WSGI_KNOWN
    ),
    "http": ModeSpec(
        "## Over HTTP (gunicorn + wrk)",
        fw.FRAMEWORKS,
        _WSGI_KNOWN,
        tuple(sc.BY_NAME[name] for name in sc.HTTP_SCENARIOS),
    ),
    "asgi-inprocess": ModeSpec(
        "## ASGI in-process (process CPU µs per request)",
        fw.ASGI_FRAMEWORKS,
        (*_ASGI, *sc.RETURN_FORMS),
        (*_ASGI, *sc.RETURN_FORMS),
    ),
    "asgi-http": ModeSpec("## ASGI over HTTP (uvicorn + wrk)", fw.ASGI_FRAMEWORKS, _ASGI, _ASGI),
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """One mode to run, on the frameworks and scenarios chosen for it."""

    mode: str
    frameworks: list[fw.Framework]
    scenarios: list[sc.Scenario]


def _pick(option: str | None, known: t.Sequence[t.Any], default: t.Sequence[t.Any]) -> list[t.Any]:
    # The items named in ``option`` (comma-separated) that this mode knows, in
    # the mode's order; all of ``default`` when there is no option.
    if option is None:
        return list(default)
    names = set(option.split(","))
    return [item for item in known if item.name in names]


def plan(args: argparse.Namespace) -> list[Plan]:
    """The modes to run, in order, with what each runs; names no mode knows are an error."""
    if args.mode in (None, "all"):
        modes = SMOKE_MODES if args.smoke else ALL_MODES
    else:
        modes = (args.mode,)
    for option, pool in (
        (args.frameworks, [*fw.BY_NAME, *fw.ASGI_BY_NAME]),
        (args.scenarios, list(sc.BY_NAME)),
    ):
        unknown = sorted(set((option or "").split(",")) - set(pool) - {""})
        if unknown:
            raise SystemExit(f"unknown name(s) {', '.join(unknown)}; choose from {', '.join(pool)}")
    found = []
    for mode in modes:
        spec = SPECS[mode]
        frameworks = _pick(args.frameworks, spec.frameworks, spec.frameworks)
        scenarios = _pick(args.scenarios, spec.scenarios, spec.default_scenarios)
        if frameworks and scenarios:
            found.append(Plan(mode, frameworks, scenarios))
    if not found:
        raise SystemExit("no mode has anything to run with these --frameworks and --scenarios")
    return found


def _use_project_venv() -> None:
    # demijohn and the floors run on this interpreter: make it the project's.
    python = fw.REPO / ".venv" / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != python.parent.parent.resolve():
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--smoke`` means the in-process modes only."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="which measurements to run (default: all; both in-process modes if --smoke)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="one short round of the in-process modes (seconds)"
    )
    parser.add_argument("--write", action="store_true", help=f"also write {report.RESULTS.name}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument(
        "--frameworks",
        help=f"comma-separated subset of {','.join(fw.BY_NAME)} (WSGI)"
        f" and {','.join(fw.ASGI_BY_NAME)} (ASGI)",
    )
    parser.add_argument(
        "--scenarios",
        help=f"comma-separated subset of {','.join(sc.BY_NAME)}"
        f" (HTTP default: {','.join(sc.HTTP_SCENARIOS)}; ASGI: {','.join(sc.ASGI_SCENARIOS)})",
    )
    parser.add_argument("--rounds", type=int, help="rounds, in every mode (median is reported)")
    parser.add_argument("--requests", type=int, help="in-process: requests per round and scenario")
    parser.add_argument("--seconds", type=int, help="HTTP: seconds of each measured wrk run")
    parser.add_argument(
        "--no-pin", action="store_true", help="in-process: do not pin workers to one CPU"
    )
    args = parser.parse_args(argv)
    if args.smoke and args.mode not in (None, *SMOKE_MODES):
        parser.error(
            "--smoke is in-process only; for a quick HTTP check use"
            " --mode http (or asgi-http) --rounds 1 --seconds 1 --scenarios hello"
        )
    if args.write and (args.smoke or args.mode not in (None, "all")):
        parser.error("--write records a full run of every mode; drop --smoke and --mode")
    return args


def _in_process_mode(args: argparse.Namespace) -> inprocess.Mode:
    base = inprocess.SMOKE if args.smoke else inprocess.FULL
    return inprocess.Mode(
        rounds=args.rounds or base.rounds, requests=args.requests or base.requests
    )


def _http_mode(args: argparse.Namespace, full: overhttp.Mode) -> overhttp.Mode:
    return dataclasses.replace(
        full, rounds=args.rounds or full.rounds, seconds=args.seconds or full.seconds
    )


def run(args: argparse.Namespace, step: Plan) -> tuple[t.Any, str]:
    """Run one mode; return its results and their Markdown tables."""
    cpu = None if args.no_pin else max(os.sched_getaffinity(0))
    if step.mode == "inprocess":
        wsgi = inprocess.measure(step.frameworks, step.scenarios, _in_process_mode(args), cpu)
        return wsgi, report.inprocess_tables(wsgi)
    if step.mode == "http":
        mode = _http_mode(args, overhttp.FULL)
        over_http = overhttp.measure(step.frameworks, step.scenarios, mode)
        return over_http, report.http_tables(over_http)
    if step.mode == "asgi-inprocess":
        mode = _in_process_mode(args)
        asgi = asgi_inprocess.measure(step.frameworks, step.scenarios, mode, cpu)
        return asgi, asgi.tables()
    mode = _http_mode(args, asgi_http.FULL)
    asgi_over_http = asgi_http.measure(step.frameworks, step.scenarios, mode)
    return asgi_over_http, asgi_over_http.table()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = parse_args(argv)
    steps = plan(args)
    if args.write and [step.mode for step in steps] != list(ALL_MODES):
        raise SystemExit("--write records every mode: choose frameworks and scenarios of each")
    machine = report.Machine.read()
    results: dict[str, t.Any] = {}
    try:
        if any(step.mode.endswith("http") for step in steps):
            overhttp.find_wrk()  # before minutes of in-process work, not after
        for step in steps:
            results[step.mode], tables = run(args, step)
            if not args.json:
                heading = SPECS[step.mode].heading + "\n\n" if len(steps) > 1 else ""
                print(heading + tables + "\n", flush=True)
    except fw.BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    signals: dict[str, float] = {}
    profile: dict[str, dict[str, float]] = {}
    if args.write:
        import breakdown  # demijohn only, like signals_cost; their lines go to stderr
        import signals_cost

        with contextlib.redirect_stdout(sys.stderr):
            signals = signals_cost.main()
            profile = breakdown.main()
    machine.finish()
    if args.json:
        document = {mode.replace("-", "_"): found.as_json() for mode, found in results.items()}
        print(json.dumps(document, indent=2))
    if args.write:
        text = report.document(
            results["inprocess"],
            results["http"],
            signals,
            profile,
            machine,
            asgi_in_process=results["asgi-inprocess"],
            asgi_over_http=results["asgi-http"],
        )
        report.RESULTS.write_text(text)
        print(f"wrote {report.RESULTS.relative_to(fw.REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    _use_project_venv()
    sys.exit(main())
