"""The benchmark harness runs and checks every scenario on every framework.

The in-process smoke run covers all five apps: demijohn and the bare WSGI
ceiling from the project venv, Flask, Bottle and Falcon from ``.bench-venv``,
which ``bench/run.py`` builds from the pinned requirements on first use (that
needs the package index). The HTTP mode (gunicorn + wrk, tens of seconds) is
not run here; its pure parts (``/proc`` readers, the report) are. These tests
check that the harness works, not how fast anything is.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import types
import typing as t
from importlib.metadata import version
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
ALL_FRAMEWORKS = ["wsgi", "demijohn", "flask", "bottle", "falcon"]

#: What each app declares it cannot serve (its ``UNSUPPORTED`` set).
NOT_APPLICABLE = {
    ("session", "wsgi"),
    ("async", "wsgi"),
    ("session", "bottle"),
    ("async", "bottle"),
    ("session", "falcon"),
    ("async", "falcon"),
}


def run_bench(
    *args: str, timeout: float = 120, **kwargs: t.Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


@pytest.fixture(scope="module")
def bench() -> t.Iterator[types.SimpleNamespace]:
    """The bench modules, imported from bench/ without leaving their names behind."""
    names = ("scenarios", "frameworks", "inprocess", "overhttp", "report")
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(BENCH))
    try:
        modules = {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(str(BENCH))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    yield types.SimpleNamespace(**modules)


@pytest.fixture(scope="module")
def smoke() -> dict[str, t.Any]:
    # The first run builds .bench-venv (Flask, Bottle, Falcon): allow for it.
    result = run_bench("--smoke", "--json", timeout=540)
    assert result.returncode == 0, result.stderr
    document: dict[str, t.Any] = json.loads(result.stdout)
    assert list(document) == ["inprocess"]
    return document["inprocess"]


@pytest.mark.timeout(600)
def test_smoke_measures_every_scenario_on_every_framework(
    smoke: dict[str, t.Any], bench: types.SimpleNamespace
) -> None:
    assert smoke["frameworks"] == ALL_FRAMEWORKS
    assert smoke["mode"] == {"rounds": 1, "requests": 200}
    assert sorted(smoke["scenarios"]) == sorted(s.name for s in bench.scenarios.SCENARIOS)
    assert {"form", "async"} <= set(smoke["scenarios"])
    for name, result in smoke["scenarios"].items():
        for framework in ALL_FRAMEWORKS:
            value = result["us_per_request"][framework]
            if (name, framework) in NOT_APPLICABLE:
                assert value is None and result["samples"][framework] is None
                continue
            assert isinstance(value, float) and value > 0, (name, framework, value)
            assert len(result["samples"][framework]) == 1
        ratio = result["ratio_to_flask"]["demijohn"]
        assert isinstance(ratio, float) and ratio > 0


@pytest.mark.timeout(600)
def test_smoke_reports_async_over_sync_and_the_versions(smoke: dict[str, t.Any]) -> None:
    twin = smoke["scenarios"]["async"]["ratio_to_sync_twin"]
    for framework in ("demijohn", "flask"):
        assert isinstance(twin[framework], float) and twin[framework] > 0
    assert twin["bottle"] is None and twin["falcon"] is None
    info = smoke["info"]
    assert info["demijohn"]["versions"]["demijohn"] == version("demijohn")
    assert info["demijohn"]["versions"]["werkzeug"] == version("werkzeug")
    assert info["demijohn"]["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    # Each peer runs from .bench-venv, pinned, on the project venv's Werkzeug.
    pins = {}
    for requirements in ("requirements-flask.txt", "requirements-peers.txt"):
        for line in (BENCH / requirements).read_text().splitlines():
            if line and not line.startswith("#"):
                package, _, pinned = line.partition("==")
                pins[package.lower()] = pinned
    for framework in ("flask", "bottle", "falcon"):
        versions = info[framework]["versions"]
        assert versions[framework] == pins[framework]
        assert versions["werkzeug"] == version("werkzeug")
        assert versions["demijohn"] is None
    assert info["flask"]["versions"]["asgiref"] == pins["asgiref"]


def test_markdown_table_has_a_row_per_scenario() -> None:
    result = run_bench(
        "--smoke", "--frameworks", "demijohn", "--scenarios", "hello,async", "--requests", "20"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "| Scenario | demijohn µs/req |"
    assert len(lines) == 5
    assert lines[2].startswith("| `GET /hello` (plain text) | ")
    assert lines[3].startswith("| `async def` view under WSGI (`GET /async`) | ")
    assert lines[4].startswith("| `/async` ÷ `/hello`: the same view, `async def` ÷ `def` | ")
    assert lines[4].endswith("x |")


def test_smoke_is_in_process_only() -> None:
    result = run_bench("--smoke", "--mode", "http")
    assert result.returncode == 2
    assert "--smoke is in-process only" in result.stderr


def test_http_mode_says_how_to_install_wrk(tmp_path: Path) -> None:
    # No wrk on PATH: the run stops before measuring anything, and says what to do.
    result = run_bench("--mode", "http", env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "wrk is not installed" in result.stderr
    assert "apt-get install wrk" in result.stderr


def test_proc_readers(bench: types.SimpleNamespace) -> None:
    overhttp = bench.overhttp
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        assert child.pid in overhttp.children(os.getpid())
        assert overhttp.cpu_ticks(os.getpid()) >= 0
        assert overhttp.resident_kib(child.pid) > 1024
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    assert child.pid not in overhttp.children(os.getpid())
    assert 1024 < overhttp.free_port() < 65536


def fake_results(bench: types.SimpleNamespace) -> tuple[t.Any, t.Any]:
    """In-process and HTTP results with made-up numbers, for the report."""
    frameworks = list(bench.frameworks.FRAMEWORKS)
    scenarios = list(bench.scenarios.SCENARIOS)
    cost = {"wsgi": 1.0, "demijohn": 10.0, "flask": 40.0, "bottle": 8.0, "falcon": 5.0}
    samples = {
        scenario.name: {
            name: None if (scenario.name, name) in NOT_APPLICABLE else [cost[name]] for name in cost
        }
        for scenario in scenarios
    }
    versions = {"demijohn": "0.1.0", "flask": "3.1.3", "werkzeug": "3.1.9", "jinja2": "3.1.6"}
    info = {
        name: {"python": "3.11.7", "implementation": "CPython", "versions": versions}
        for name in cost
    }
    in_process = bench.inprocess.Results(
        frameworks, scenarios, bench.inprocess.SMOKE, samples, info
    )
    http_scenarios = [bench.scenarios.BY_NAME[name] for name in ("hello", "template")]
    server_cpu = {"wsgi": 0.5, "demijohn": 0.6, "flask": 0.8, "bottle": 0.55, "falcon": 0.55}
    # In the workers: 5, 10 and 25 µs per request for bare WSGI, demijohn, Flask.
    app_cpu = {"wsgi": 0.02, "demijohn": 0.04, "flask": 0.1, "bottle": 0.03, "falcon": 0.03}
    http_samples = {
        scenario.name: {
            name: None
            if (scenario.name, name) in NOT_APPLICABLE
            else [bench.overhttp.Sample(4000, 1.0, 5.0, server_cpu[name], app_cpu[name], 4000)]
            for name in server_cpu
        }
        for scenario in http_scenarios
    }
    memory = {name: {"after_boot": 30 * 1024, "after_runs": 31 * 1024} for name in server_cpu}
    over_http = bench.overhttp.Results(
        frameworks, http_scenarios, bench.overhttp.FULL, http_samples, memory, "wrk 4.1.0"
    )
    return in_process, over_http


def test_async_runs_after_its_twin_and_is_paired_per_round(
    bench: types.SimpleNamespace,
) -> None:
    by_name = bench.scenarios.BY_NAME
    scenarios = [by_name[name] for name in ("async", "json", "hello", "form")]
    order = [scenario.name for scenario in bench.inprocess.run_order(scenarios)]
    assert order == ["json", "hello", "async", "form"]
    # Without its twin, a scenario keeps its place.
    alone = [by_name["async"], by_name["json"]]
    assert bench.inprocess.run_order(alone) == alone
    # Rounds of 10/15, 20/22 and 30/45 µs: the per-round ratios are 1.5, 1.1 and
    # 1.5, so the median is 1.5 (the ratio of the medians, 22/20, would be 1.1).
    samples = {"hello": {"demijohn": [10.0, 20.0, 30.0]}, "async": {"demijohn": [15.0, 22.0, 45.0]}}
    results = bench.inprocess.Results(
        list(bench.frameworks.FRAMEWORKS), scenarios, bench.inprocess.SMOKE, samples, {}
    )
    assert results.twin_ratio(by_name["async"], "demijohn") == pytest.approx(1.5)
    assert results.twin_ratio(by_name["async"], "flask") is None


def test_report_has_a_table_per_mode_and_the_targets(bench: types.SimpleNamespace) -> None:
    in_process, over_http = fake_results(bench)
    machine = bench.report.Machine.read()
    machine.finish()
    signals = {"no receivers": 10.0, "a receiver on each": 12.0}
    profile = {
        "routing": {
            "demijohn": 0.5,
            "Werkzeug: URL matching": 0.25,
            "largest demijohn function": 0.04,
        },
        "async": {"demijohn": 0.4, "asyncio": 0.3, "largest demijohn function": 0.03},
    }
    text = bench.report.document(in_process, over_http, signals, profile, machine)
    lines = text.splitlines()
    assert "| `GET /hello` (plain text) | 1.00 | 10.00 | 40.00 | 8.00 | 5.00 | **4.00x** |" in lines
    assert any(line.startswith("| `/async` ÷ `/hello`: ") for line in lines)
    # HTTP: 0.6 s of CPU for 4000 requests is 150 µs, 25 above the floor; Flask 75.
    # In the worker: 10 µs, 5 above bare WSGI's; Flask 20 above.
    for name in ("hello", "template"):
        title = bench.scenarios.BY_NAME[name].title
        row = f"| {title} | demijohn | 4000 | 5.00 | 150 | 25 | 10.0 | 1.00x | 0.33 | 0.25 |"
        row += " 1.00x |"
        assert row in lines
    assert (
        "| HTTP `GET /hello` (plain text): demijohn's app CPU in the worker above bare WSGI"
        " ÷ Flask's | ≤ 0.33 | 0.25 | yes |"
    ) in lines
    assert "| demijohn | 30.0 | 31.0 | 1.00x | 1.00x |" in lines
    assert (
        "| in-process `GET /hello` (plain text): Flask ÷ demijohn | ≥ 3.00 | 4.00 | yes |" in lines
    )
    assert "| HTTP `GET /template` (20-item loop, autoescaped): demijohn's req/s ÷ Flask's" in text
    assert "10.00 µs/request without receivers, 12.00 µs with them" in text
    assert "an `async def` view under WSGI 30% in asyncio" in " ".join(lines)
    assert "| `GET /user/<int:id>/post/<slug>` among 50 routes | 50% | 25% |" in text
    for heading in ("## In-process", "## Over HTTP", "## Targets (issue 9)", "## Machine"):
        assert heading in lines or any(line.startswith(heading) for line in lines)
    assert "## Where demijohn's time goes" in lines


def test_breakdown_profiles_a_scenario() -> None:
    # The real profile of two scenarios, a few requests each (in its own
    # process: it imports the benchmark app): the owners' shares add up to the
    # whole, and form parsing shows up only where a form is posted.
    code = (
        f"import json, sys; sys.path.insert(0, {str(BENCH)!r}); import breakdown;"
        " found = {n: breakdown.shares(n, requests=200) for n in ('hello', 'form')};"
        " print(json.dumps([found, breakdown.LARGEST_OWN, breakdown.owner('~'),"
        " breakdown.BUILTINS, breakdown.owner('/x/site-packages/jinja2/runtime.py')]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    found, largest_own, tilde, builtins, jinja = json.loads(result.stdout)
    for shares in found.values():
        total = sum(v for k, v in shares.items() if k != largest_own)
        assert abs(total - 1.0) < 1e-9
        assert 0 < shares[largest_own] < shares["demijohn"]
    assert "Werkzeug + urllib: form parsing" not in found["hello"]
    assert found["form"]["Werkzeug + urllib: form parsing"] > 0.05
    assert (tilde, jinja) == (builtins, "Jinja2 + MarkupSafe")


def run_worker(app_source: str, tmp_path: Path, *commands: dict[str, t.Any]) -> list[t.Any]:
    app_file = tmp_path / "bench_app.py"
    app_file.write_text(app_source)
    result = subprocess.run(
        [sys.executable, str(BENCH / "worker.py"), str(app_file)],
        input="".join(json.dumps(command) + "\n" for command in commands),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


WRONG_BODY_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"Goodbye"]
"""

# Right the first time, wrong on a later request: only per-request checks catch it.
DRIFTING_APP = """
import itertools
counter = itertools.count()

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"Hello, World!" if next(counter) < 60 else b"Hello, World?"]
"""


def test_worker_rejects_a_wrong_first_response(tmp_path: Path) -> None:
    hello, setup = run_worker(WRONG_BODY_APP, tmp_path, {"cmd": "setup", "scenario": "hello"})
    assert hello["ok"] is True
    assert setup["ok"] is False
    assert "b'Goodbye', expected b'Hello, World!'" in setup["error"]


def test_worker_checks_every_timed_response(tmp_path: Path) -> None:
    # Setup makes one reference call and 50 warm-up calls, all still correct.
    answers = run_worker(
        DRIFTING_APP,
        tmp_path,
        {"cmd": "setup", "scenario": "hello"},
        {"cmd": "run", "scenario": "hello", "n": 5},
        {"cmd": "run", "scenario": "hello", "n": 5},
    )
    assert [answer["ok"] for answer in answers] == [True, True, True, False]
    assert answers[2]["ns"] > 0
    assert "response changed between requests" in answers[3]["error"]


def test_worker_reports_an_app_that_does_not_import(tmp_path: Path) -> None:
    (answer,) = run_worker("raise RuntimeError('no app here')", tmp_path)
    assert answer["ok"] is False
    assert "no app here" in answer["error"]


def test_worker_marks_unsupported_scenarios(tmp_path: Path) -> None:
    source = WRONG_BODY_APP + "\nUNSUPPORTED = {'hello'}\n"
    _, setup = run_worker(source, tmp_path, {"cmd": "setup", "scenario": "hello"})
    assert setup == {"ok": False, "na": True}


def test_signals_cost_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / "signals_cost.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no receivers" in result.stdout and "a receiver on each" in result.stdout
