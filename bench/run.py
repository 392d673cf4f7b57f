"""Side-by-side benchmark: demijohn against Flask 3.1, Bottle, Falcon and bare WSGI.

Run it with the project venv's python::

    .venv/bin/python bench/run.py            # both modes, Markdown tables on stdout
    .venv/bin/python bench/run.py --write    # ... and write bench/RESULTS.md
    .venv/bin/python bench/run.py --smoke    # one short in-process round, seconds

Two modes (``--mode``, both by default):

``inprocess`` (``inprocess.py``)
    Each app called directly with a prepared WSGI environ, in its own
    subprocess; thread CPU µs per request, median of interleaved rounds.
``http`` (``overhttp.py``)
    Each app behind gunicorn (2 sync workers) on 127.0.0.1, loaded by
    ``wrk``; requests/s, p99 latency, the server's CPU µs per request from
    /proc, and the idle workers' resident size. Needs ``wrk`` (Debian package
    ``wrk``); not run by the test suite.

demijohn and the ceiling run on this venv's python; Flask, Bottle and Falcon
on ``.bench-venv``'s, which this script creates and keeps up to date
(``frameworks.py``; Flask is never installed in ``.venv``). Every response is
checked.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import typing as t
from pathlib import Path

import frameworks as fw
import inprocess
import overhttp
import report
import scenarios as sc

MODES = ("all", "inprocess", "http")


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
    python = fw.REPO / ".venv" / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != python.parent.parent.resolve():
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--smoke`` means in-process only."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="which measurements to run (default: all; inprocess if --smoke)",
    )
    parser.add_argument("--smoke", action="store_true", help="one short in-process round (seconds)")
    parser.add_argument("--write", action="store_true", help=f"also write {report.RESULTS.name}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--frameworks", help=f"comma-separated subset of {','.join(fw.BY_NAME)}")
    parser.add_argument(
        "--scenarios",
        help=f"comma-separated subset of {','.join(sc.BY_NAME)}"
        f" (HTTP default: {','.join(sc.HTTP_SCENARIOS)})",
    )
    parser.add_argument("--rounds", type=int, help="rounds, in both modes (median is reported)")
    parser.add_argument("--requests", type=int, help="in-process: requests per round and scenario")
    parser.add_argument("--seconds", type=int, help="HTTP: seconds of each measured wrk run")
    parser.add_argument(
        "--no-pin", action="store_true", help="in-process: do not pin workers to one CPU"
    )
    args = parser.parse_args(argv)
    if args.mode is None:
        args.mode = "inprocess" if args.smoke else "all"
    if args.smoke and args.mode != "inprocess":
        parser.error(
            "--smoke is in-process only; for a quick HTTP check use"
            " --mode http --rounds 1 --seconds 1 --scenarios hello"
        )
    if args.write and (args.smoke or args.mode != "all"):
        parser.error("--write records a full run of both modes; drop --smoke and --mode")
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = parse_args(argv)
    frameworks: list[fw.Framework] = _choose(args.frameworks, fw.BY_NAME, fw.FRAMEWORKS)
    chosen: list[sc.Scenario] | None = (
        _choose(args.scenarios, sc.BY_NAME, ()) if args.scenarios else None
    )
    machine = report.Machine.read()
    in_process: inprocess.Results | None = None
    over_http: overhttp.Results | None = None
    try:
        if args.mode in ("all", "http"):
            overhttp.find_wrk()  # before minutes of in-process work, not after
        if args.mode in ("all", "inprocess"):
            base = inprocess.SMOKE if args.smoke else inprocess.FULL
            mode = inprocess.Mode(
                rounds=args.rounds or base.rounds, requests=args.requests or base.requests
            )
            cpu = None if args.no_pin else max(os.sched_getaffinity(0))
            scenarios = chosen or list(sc.SCENARIOS)
            in_process = inprocess.measure(frameworks, scenarios, mode, cpu)
            if not args.json:
                heading = "## In-process (CPU µs per request)\n\n" if args.mode == "all" else ""
                print(heading + report.inprocess_tables(in_process) + "\n", flush=True)
        if args.mode in ("all", "http"):
            http_mode = overhttp.Mode(
                rounds=args.rounds or overhttp.FULL.rounds,
                seconds=args.seconds or overhttp.FULL.seconds,
            )
            scenarios = chosen or [sc.BY_NAME[name] for name in sc.HTTP_SCENARIOS]
            over_http = overhttp.measure(frameworks, scenarios, http_mode)
            if not args.json:
                heading = "## Over HTTP (gunicorn + wrk)\n\n" if args.mode == "all" else ""
                print(heading + report.http_tables(over_http) + "\n", flush=True)
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
        document: dict[str, t.Any] = {}
        if in_process is not None:
            document["inprocess"] = in_process.as_json()
        if over_http is not None:
            document["http"] = over_http.as_json()
        print(json.dumps(document, indent=2))
    if args.write:
        assert in_process is not None and over_http is not None
        report.RESULTS.write_text(report.document(in_process, over_http, signals, profile, machine))
        print(f"wrote {report.RESULTS.relative_to(fw.REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    _use_project_venv()
    sys.exit(main())
