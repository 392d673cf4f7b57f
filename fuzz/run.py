#!/usr/bin/env python3
"""Fuzz the demo app's WSGI and ASGI doors with atheris (coverage-guided, libFuzzer).

    .venv/bin/python fuzz/run.py --seconds 300                  # both doors, 5 min each
    .venv/bin/python fuzz/run.py --seconds 60 --target asgi --json out.json
    .venv/bin/python fuzz/run.py --reproduce fuzz/.work/crashes/wsgi-0123abcd.bin

Each target runs in its own process for ``--seconds`` (libFuzzer's
``-max_total_time``), starting from the seed corpus in ``fuzz/corpus/`` and
keeping what it finds in ``fuzz/.work/corpus-<target>/`` (not committed). A
crash (see ``targets.py``) is reported once per kind, its input saved in
``fuzz/.work/crashes/`` next to a text report, and fuzzing goes on. An input
libFuzzer itself stops on (a timeout, running out of memory) is saved there
too, and the target is restarted for the time left.

``--json PATH`` writes ``{"targets": {"wsgi": {"executions", "corpus_size",
"crashes", "seconds"}, "asgi": {...}}}`` (bench/reliability.py reads it).
The exit status is 0 once the figures are out, crashes or not (they are in
the figures); with ``--fail-on-crash`` it is 1 if any target crashed.

atheris is in the ``dev`` extra on x86-64 Linux (a binary wheel); by hand,
``.venv/bin/pip install atheris``. Run as ``fuzz/run.py`` by another Python
without it, the script starts again with the project's ``.venv``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import typing as t
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "corpus"
WORK = HERE / ".work"
TARGETS = ("wsgi", "asgi")
#: The packages whose code is instrumented for coverage: the framework, the
#: request parsing it builds on, and the demo with its extensions.
INSTRUMENTED = ["demijohn", "werkzeug", "taskboard", "flask_wtf", "flask_login", "wtforms"]
#: libFuzzer's options: a request taking this long counts as hung...
TIMEOUT_SECONDS = 10
#: ...and a process past this much memory as leaking or unbounded.
RSS_LIMIT_MB = 2048
#: The longest input the mutations make (the decoder amplifies some parts).
MAX_LEN = 8192
#: Restarts after libFuzzer stopped on an input, per target and run.
MAX_RESTARTS = 20


def _worker(door: str, libfuzzer_args: list[str], workdir: Path) -> None:
    """Run inside the fuzzing process: instrument, build the target, hand over to libFuzzer."""
    import atheris

    sys.path.insert(0, str(HERE))
    with atheris.instrument_imports(include=INSTRUMENTED):
        import targets

        target = targets.Target(door, workdir)

    # A resource a request leaves unclosed (an upload's temporary file) warns
    # when collected: made an error, it reaches the hook, and the input crashes.
    warnings.simplefilter("error", ResourceWarning)
    sys.unraisablehook = lambda unraisable: target.unraisable.append(
        f"{type(unraisable.exc_value).__name__}: {unraisable.exc_value}"
    )

    # libFuzzer ends the process without Python's exit handlers: the status
    # counts go out every few seconds, and the parent keeps the last line.
    next_report = time.monotonic()

    def test_one_input(data: bytes) -> None:
        nonlocal next_report
        target.run(data)
        now = time.monotonic()
        if now >= next_report:
            next_report = now + 2
            counts = dict(sorted(target.statuses.items()))
            print(f"\nstatuses: {json.dumps(counts)}", flush=True)

    atheris.Setup([sys.argv[0], *libfuzzer_args], test_one_input)
    atheris.Fuzz()


def _fuzz_once(
    door: str, seconds: float, corpus: Path, workdir: Path, runs: int | None
) -> tuple[int, str, int]:
    """One fuzzing process: (its exit status, its output, the executions it reported)."""
    args = [
        str(corpus),
        str(SEEDS),
        f"-max_total_time={max(1, int(seconds))}",
        f"-timeout={TIMEOUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-max_len={MAX_LEN}",
        f"-artifact_prefix={workdir / 'crashes'}/{door}-libfuzzer-",
        "-print_final_stats=1",
    ]
    if runs is not None:
        args.append(f"-runs={runs}")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", door, "--", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The worker stops itself after ``seconds``; the margin covers its start-up
    # and libFuzzer's per-input timeout, so a wedged process is still ended.
    limit = seconds + TIMEOUT_SECONDS + 120
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        try:
            output, _ = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            output += f"\n[run.py] killed after {limit:.0f} s\n"
    match = re.search(r"stat::number_of_executed_units:\s*(\d+)", output)
    executions = int(match.group(1)) if match else 0
    if not match:
        # Cut short (a crash libFuzzer stopped on): the last status line's count.
        counts = re.findall(r"^#(\d+)\s", output, re.MULTILINE)
        executions = int(counts[-1]) if counts else 0
    return process.returncode, output, executions


def fuzz_target(
    door: str, seconds: float, *, runs: int | None = None, verbose: bool = False
) -> dict[str, t.Any]:
    """Fuzz one door for ``seconds`` (or ``runs`` inputs); its figures for the report."""
    workdir = WORK
    corpus = workdir / f"corpus-{door}"
    crash_dir = workdir / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crash_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    executions = 0
    signatures: set[str] = set()
    known: set[str] = set()
    statuses: dict[str, int] = {}
    stopped_on: list[str] = []
    restarts = 0
    while True:
        left = seconds - (time.monotonic() - started)
        status, output, count = _fuzz_once(door, left, corpus, workdir, runs)
        executions += count
        reports = re.findall(r"^statuses: (\{.*\})$", output, re.MULTILINE)
        if reports:  # cumulative in each process: its last report
            for code, number in json.loads(reports[-1]).items():
                statuses[code] = statuses.get(code, 0) + number
        signatures.update(re.findall(rf"=== new crash \({door}\): (\S+)", output))
        known.update(re.findall(rf"=== known issue \({door}\): (\S+)", output))
        if verbose:
            print(output, file=sys.stderr)
        if status == 0:
            break
        # libFuzzer stopped on an input (timeout, out of memory, a crash in
        # native code): note it and go on for the time left.
        reason = re.search(r"==\d+== ERROR: libFuzzer: ([^\n]+)", output)
        stopped_on.append(reason.group(1) if reason else f"exit status {status}")
        print(f"[{door}] libFuzzer stopped: {stopped_on[-1]}", file=sys.stderr)
        print(output[-4000:], file=sys.stderr)
        restarts += 1
        if (
            runs is not None
            or restarts > MAX_RESTARTS
            or seconds - (time.monotonic() - started) < 5
        ):
            break
    elapsed = time.monotonic() - started
    return {
        "executions": executions,
        "corpus_size": sum(1 for p in corpus.iterdir() if p.is_file()),
        "crashes": len(signatures) + len(stopped_on),
        "seconds": round(elapsed, 1),
        "crash_kinds": sorted(signatures) + stopped_on,
        # Failures in the demo's extensions, not demijohn's (targets.KNOWN).
        "known_issues": sorted(known),
        "statuses": dict(sorted(statuses.items())),
    }


def reproduce(path: Path) -> int:
    """Run one saved input through both doors and print what each answered."""
    sys.path.insert(0, str(HERE))
    import targets

    data = path.read_bytes()
    failed = 0
    for door in TARGETS:
        target = targets.Target(door)
        try:
            print(f"--- {door}: {targets.decode(data, target.auth)!r}")
            crash = target.run(data)
            if crash is None:
                answer = target.serve(targets.decode(data, target.auth))
                print(f"{answer.status} {answer.headers}\n{answer.body[:500]!r}")
            else:
                failed = 1
        finally:
            target.close()
    return failed


def write_seeds() -> int:
    """Replace the seed corpus with :func:`targets.seed_inputs` (deterministic)."""
    sys.path.insert(0, str(HERE))
    import targets

    SEEDS.mkdir(exist_ok=True)
    for old in SEEDS.glob("seed-*"):
        old.unlink()
    seeds = targets.seed_inputs()
    for number, data in enumerate(seeds):
        (SEEDS / f"seed-{number:02d}").write_bytes(data)
    print(f"wrote {len(seeds)} seeds ({sum(map(len, seeds))} bytes) to {SEEDS}")
    return 0


def _use_project_venv() -> None:
    """Run again with ``.venv/bin/python`` when this Python has no atheris and that one may."""
    venv_python = HERE.parent / ".venv" / "bin" / "python"
    if (
        importlib.util.find_spec("atheris") is None
        and venv_python.exists()
        and Path(sys.executable) != venv_python
    ):
        os.execv(venv_python, [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per target (default 60)")
    parser.add_argument("--target", choices=[*TARGETS, "both"], default="both")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--runs", type=int, help="stop each target after this many inputs")
    parser.add_argument("--verbose", action="store_true", help="show libFuzzer's output")
    parser.add_argument(
        "--fail-on-crash", action="store_true", help="exit with status 1 if a target crashed"
    )
    parser.add_argument("--reproduce", type=Path, help="run one saved input through both doors")
    parser.add_argument(
        "--write-seeds", action="store_true", help="regenerate the seed corpus in fuzz/corpus/"
    )
    parser.add_argument("--worker", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("libfuzzer_args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        _worker(options.worker, options.libfuzzer_args, WORK)
        return 0
    if options.reproduce:
        return reproduce(options.reproduce)
    if options.write_seeds:
        return write_seeds()
    doors = TARGETS if options.target == "both" else (options.target,)
    report: dict[str, t.Any] = {"targets": {}}
    for door in doors:
        figures = fuzz_target(door, options.seconds, runs=options.runs, verbose=options.verbose)
        report["targets"][door] = figures
        print(
            f"{door}: {figures['executions']} executions in {figures['seconds']} s,"
            f" corpus {figures['corpus_size']}, crashes {figures['crashes']}"
            + (f" ({', '.join(figures['crash_kinds'])})" if figures["crash_kinds"] else "")
            + (
                f"; known issues: {', '.join(figures['known_issues'])}"
                if figures["known_issues"]
                else ""
            )
        )
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    crashed = any(f["crashes"] for f in report["targets"].values())
    return 1 if crashed and options.fail_on_crash else 0


if __name__ == "__main__":
    _use_project_venv()
    sys.exit(main())
