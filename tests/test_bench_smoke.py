"""The benchmark harness runs and checks every scenario on every framework.

The smoke run covers both in-process modes on every app. WSGI: demijohn and
the bare WSGI ceiling from the project venv, Flask, Bottle and Falcon from
``.bench-venv``, which ``bench/run.py`` builds from the pinned requirements on
first use (that needs the package index). ASGI: demijohn (``async def`` and
``def`` views) and the bare ASGI floor from the project venv, Starlette and
Quart from ``.bench-venv``. The HTTP modes (gunicorn or uvicorn + wrk, minutes)
are not run here; their pure parts (``/proc`` readers, the report) are, and
one uvicorn is started and stopped with the bare ASGI app. These tests check
that the harness works, not how fast anything is.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import types
import typing as t
from importlib.metadata import version
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
ALL_FRAMEWORKS = ["wsgi", "demijohn", "flask", "bottle", "falcon"]
ASGI_FRAMEWORKS = ["asgi", "demijohn-async", "demijohn-def", "starlette", "quart"]
ASGI_SCENARIOS = ["hello", "json", "routing", "form"]
RETURN_FORMS = [
    f"return-{name}"
    for name in (
        "str",
        "dict",
        "list",
        "headers",
        "status",
        "status-headers",
        "status-header-list",
        "response",
        "redirect",
        "jsonify",
    )
]

#: What each app declares it cannot serve (its ``UNSUPPORTED`` set).
NOT_APPLICABLE = {
    ("session", "wsgi"),
    ("async", "wsgi"),
    ("session", "bottle"),
    ("async", "bottle"),
    ("session", "falcon"),
    ("async", "falcon"),
    *((name, framework) for name in RETURN_FORMS for framework in ("wsgi", "bottle", "falcon")),
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
    names = (
        "scenarios",
        "frameworks",
        "worker",
        "asgi_worker",
        "inprocess",
        "overhttp",
        "asgi_inprocess",
        "asgi_http",
        "targets",
        "breakdown",
        "asgi_report",
        "report",
        "run",
    )
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
def smoke_run() -> dict[str, t.Any]:
    # The first run builds .bench-venv (the peers): allow for it.
    result = run_bench("--smoke", "--json", timeout=540)
    assert result.returncode == 0, result.stderr
    document: dict[str, t.Any] = json.loads(result.stdout)
    assert list(document) == ["inprocess", "asgi_inprocess"]
    return document


@pytest.fixture(scope="module")
def smoke(smoke_run: dict[str, t.Any]) -> dict[str, t.Any]:
    result: dict[str, t.Any] = smoke_run["inprocess"]
    return result


@pytest.fixture(scope="module")
def asgi_smoke(smoke_run: dict[str, t.Any]) -> dict[str, t.Any]:
    result: dict[str, t.Any] = smoke_run["asgi_inprocess"]
    return result


@pytest.mark.timeout(600)
def test_smoke_measures_every_scenario_on_every_framework(
    smoke: dict[str, t.Any], bench: types.SimpleNamespace
) -> None:
    assert smoke["frameworks"] == ALL_FRAMEWORKS
    assert smoke["mode"] == {"rounds": 1, "requests": 200}
    scenarios = (*bench.scenarios.SCENARIOS, *bench.scenarios.RETURN_FORMS)
    assert sorted(smoke["scenarios"]) == sorted(s.name for s in scenarios)
    assert {"form", "async", *RETURN_FORMS} <= set(smoke["scenarios"])
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


def pinned_versions() -> dict[str, str]:
    """The versions bench/requirements-*.txt pin, by lowercase package name."""
    pins = {}
    for requirements in ("requirements-flask.txt", "requirements-peers.txt"):
        for line in (BENCH / requirements).read_text().splitlines():
            if line and not line.startswith("#"):
                package, _, pinned = line.partition("==")
                pins[package.lower()] = pinned
    return pins


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
    pins = pinned_versions()
    for framework in ("flask", "bottle", "falcon"):
        versions = info[framework]["versions"]
        assert versions[framework] == pins[framework]
        assert versions["werkzeug"] == version("werkzeug")
        assert versions["demijohn"] is None
    assert info["flask"]["versions"]["asgiref"] == pins["asgiref"]


@pytest.mark.timeout(600)
def test_asgi_smoke_measures_every_asgi_scenario_on_every_app(asgi_smoke: dict[str, t.Any]) -> None:
    assert asgi_smoke["frameworks"] == ASGI_FRAMEWORKS
    assert asgi_smoke["mode"] == {"rounds": 1, "requests": 200}
    assert asgi_smoke["clock"] == "process CPU time"
    assert sorted(asgi_smoke["scenarios"]) == sorted([*ASGI_SCENARIOS, *RETURN_FORMS])
    for name, result in asgi_smoke["scenarios"].items():
        for framework in ASGI_FRAMEWORKS:
            value = result["us_per_request"][framework]
            # Flask's return forms: demijohn's def-view app alone serves them.
            if name in RETURN_FORMS and framework != "demijohn-def":
                assert value is None and result["samples"][framework] is None
                continue
            assert isinstance(value, float) and value > 0, (name, framework, value)
            assert len(result["samples"][framework]) == 1
    for name in ASGI_SCENARIOS:
        result = asgi_smoke["scenarios"][name]
        times = result["us_per_request"]
        ratio = result["ratio_to_starlette"]["demijohn-async"]
        assert ratio == pytest.approx(times["demijohn-async"] / times["starlette"])
        assert result["ratio_to_asgi"]["quart"] == pytest.approx(times["quart"] / times["asgi"])
    info = asgi_smoke["info"]
    assert info["demijohn-async"]["versions"]["demijohn"] == version("demijohn")
    pins = pinned_versions()
    for framework in ("starlette", "quart"):
        versions = info[framework]["versions"]
        assert versions[framework] == pins[framework]
        assert versions["werkzeug"] == version("werkzeug")
        assert versions["demijohn"] is None


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


def test_asgi_markdown_tables_have_a_row_per_scenario() -> None:
    result = run_bench(
        *("--smoke", "--mode", "asgi-inprocess", "--requests", "20"),
        *("--frameworks", "asgi,demijohn-def", "--scenarios", "hello,return-redirect"),
    )
    assert result.returncode == 0, result.stderr
    tables = result.stdout.strip().split("\n\n")
    assert len(tables) == 4
    times, ratios, caption, returns = (table.splitlines() for table in tables)
    assert times[0] == "| Scenario | bare ASGI µs/req | demijohn def µs/req |"
    assert len(times) == 3 and times[2].startswith("| `GET /hello` (plain text) | ")
    assert ratios[0] == "| Scenario | demijohn def ÷ bare ASGI |"
    assert len(ratios) == 3 and ratios[2].endswith("x |")
    assert caption == ["What each return form of a view costs through demijohn's ASGI door:"]
    assert returns[0] == "| Return form | demijohn def µs/req |"
    assert len(returns) == 3 and returns[2].startswith('| view returns `redirect("/x")` | ')


def test_smoke_is_in_process_only() -> None:
    for mode in ("http", "asgi-http"):
        result = run_bench("--smoke", "--mode", mode)
        assert result.returncode == 2
        assert "--smoke is in-process only" in result.stderr


def test_each_mode_runs_the_names_it_knows(bench: types.SimpleNamespace) -> None:
    run = bench.run

    def steps(*argv: str) -> list[tuple[str, list[str], list[str]]]:
        found = run.plan(run.parse_args(list(argv)))
        return [
            (step.mode, [f.name for f in step.frameworks], [s.name for s in step.scenarios])
            for step in found
        ]

    smoke = steps("--smoke")
    assert [mode for mode, _, _ in smoke] == ["inprocess", "asgi-inprocess"]
    assert smoke[1][1:] == (ASGI_FRAMEWORKS, [*ASGI_SCENARIOS, *RETURN_FORMS])
    full = steps()
    assert [mode for mode, _, _ in full] == ["inprocess", "http", "asgi-inprocess", "asgi-http"]
    assert full[1][2] == list(bench.scenarios.HTTP_SCENARIOS)
    assert full[3][1:] == (ASGI_FRAMEWORKS, ASGI_SCENARIOS)
    # Each mode takes the names it knows, in its own order...
    assert steps("--smoke", "--frameworks", "demijohn,asgi", "--scenarios", "return-str,hello") == [
        ("inprocess", ["demijohn"], ["hello", "return-str"]),
        ("asgi-inprocess", ["asgi"], ["hello", "return-str"]),
    ]
    # ... a mode left with nothing is skipped...
    assert steps("--frameworks", "flask", "--scenarios", "template") == [
        ("inprocess", ["flask"], ["template"]),
        ("http", ["flask"], ["template"]),
    ]
    # ... and names that no mode knows, or nothing at all to run, are errors.
    with pytest.raises(SystemExit, match=r"unknown name\(s\) django;"):
        steps("--frameworks", "django")
    with pytest.raises(SystemExit, match="no mode has anything to run"):
        steps("--mode", "asgi-http", "--scenarios", "template")
    with pytest.raises(SystemExit, match="--write records every mode"):
        run.main(["--write", "--frameworks", "demijohn"])


def test_http_modes_say_how_to_install_wrk(tmp_path: Path) -> None:
    # No wrk on PATH: the run stops before measuring anything, and says what to do.
    for mode in ("http", "asgi-http"):
        result = run_bench("--mode", mode, env={**os.environ, "PATH": str(tmp_path)})
        assert result.returncode == 1
        assert "wrk is not installed" in result.stderr
        assert "apt-get install wrk" in result.stderr


def test_uvicorn_serves_the_asgi_floor_and_stops(
    bench: types.SimpleNamespace, tmp_path: Path
) -> None:
    asgi_http = bench.asgi_http
    python = Path(sys.executable)
    expected = ", ".join(f"{name} {version(name)}" for name in ("uvicorn", "httptools"))
    assert asgi_http.same_server([python, python]) == expected
    server = asgi_http.Server(bench.frameworks.ASGI_BY_NAME["asgi"], python, tmp_path)
    try:
        server.wait_ready(time.monotonic() + 30)
        for name in ASGI_SCENARIOS:
            server.check(bench.scenarios.BY_NAME[name])
        # The floor serves no template: the check sees its 404.
        with pytest.raises(bench.frameworks.BenchError, match="status 404, expected 200"):
            server.check(bench.scenarios.BY_NAME["template"])
        assert server.cpu_ticks() >= 0
    finally:
        server.stop()
    # Stopped by SIGTERM, not killed: uvicorn shuts down, then re-raises the signal.
    assert server.process.returncode in (0, -signal.SIGTERM)
    server.stop()  # stopping a stopped server is a no-op


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
    scenarios = [*bench.scenarios.SCENARIOS, *bench.scenarios.RETURN_FORMS]
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


def fake_asgi_results(bench: types.SimpleNamespace) -> tuple[t.Any, t.Any]:
    """ASGI in-process and HTTP results with made-up numbers, for the report."""
    frameworks = list(bench.frameworks.ASGI_FRAMEWORKS)
    asgi_scenarios = [bench.scenarios.BY_NAME[name] for name in ASGI_SCENARIOS]
    scenarios = [*asgi_scenarios, *bench.scenarios.RETURN_FORMS]
    cost = {"asgi": 1.0, "demijohn-async": 15.0, "demijohn-def": 20.0, "starlette": 10.0}
    cost["quart"] = 40.0
    samples = {
        scenario.name: {
            name: None if scenario.name in RETURN_FORMS and name != "demijohn-def" else [cost[name]]
            for name in cost
        }
        for scenario in scenarios
    }
    versions = {"starlette": "1.10.0", "quart": "0.22.0", "demijohn": "0.1.0"}
    info = {
        name: {"python": "3.11.7", "implementation": "CPython", "versions": versions}
        for name in cost
    }
    measured = bench.inprocess.Results(frameworks, scenarios, bench.inprocess.SMOKE, samples, info)
    in_process = bench.asgi_inprocess.Results(measured)
    # One-second runs: req/s is the request count.
    rps = {"asgi": 30000, "demijohn-async": 9000, "demijohn-def": 6000, "starlette": 10000}
    rps["quart"] = 3000
    cpu_us = {"asgi": 20, "demijohn-async": 100, "demijohn-def": 150, "starlette": 40, "quart": 130}
    http_samples = {
        scenario.name: {
            name: [bench.asgi_http.Sample(rps[name], 1.0, 2.0, rps[name] * cpu_us[name] / 1e6)]
            for name in rps
        }
        for scenario in asgi_scenarios
    }
    over_http = bench.asgi_http.Results(
        frameworks,
        asgi_scenarios,
        bench.asgi_http.FULL,
        http_samples,
        "wrk 4.1.0",
        "uvicorn 0.55.0, httptools 0.9.0",
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
    # Without the ASGI modes' results, no ASGI section.
    assert "## ASGI" not in text and "## Targets (ASGI" not in text


def test_report_has_the_return_forms_and_the_asgi_modes(bench: types.SimpleNamespace) -> None:
    in_process, over_http = fake_results(bench)
    asgi_in_process, asgi_over_http = fake_asgi_results(bench)
    machine = bench.report.Machine.read()
    machine.finish()
    text = bench.report.document(
        in_process,
        over_http,
        {"no receivers": 10.0, "a receiver on each": 12.0},
        {},
        machine,
        asgi_in_process=asgi_in_process,
        asgi_over_http=asgi_over_http,
    )
    lines = text.splitlines()
    # WSGI in-process: the return forms get a table of their own, demijohn and Flask only.
    assert "| Scenario | demijohn µs/req | Flask 3.1 µs/req | Flask ÷ demijohn |" in lines
    assert '| view returns `"text"` | 10.00 | 40.00 | **4.00x** |' in lines
    assert '| in-process view returns `"text"`: Flask ÷ demijohn | ≥ 3.00 | 4.00 | yes |' in lines
    assert not any(line.startswith('| view returns `"text"` | 1.00 |') for line in lines)
    # ASGI in-process: µs per request, demijohn async ÷ Starlette; then the ratios.
    assert (
        "| `GET /hello` (plain text) | 1.00 | 15.00 | 20.00 | 10.00 | 40.00 | **1.50x** |" in lines
    )
    ratio_header = next(line for line in lines if line.startswith("| Scenario | demijohn async ÷"))
    assert ratio_header.count("÷ Starlette") == 3 and ratio_header.count("÷ bare ASGI") == 4
    assert '| view returns `redirect("/x")` | 20.00 |' in lines
    # ASGI over HTTP: 9000 req/s at 100 µs of CPU each, 80 above the floor's 20.
    row = "| `GET /json` (returned dict) | demijohn async | 9000 | 2.00 | 100 | 80 |"
    assert row + " 0.90x | 3.00x | 0.30x |" in lines
    assert "uvicorn 0.55.0, httptools 0.9.0; `uvicorn --workers 1 --loop asyncio" in " ".join(lines)
    # The targets: over HTTP on hello, json, routing (not form); in process on all four.
    for name in ("hello", "json", "routing"):
        title = bench.scenarios.BY_NAME[name].title
        for target in (
            "demijohn async req/s ÷ Starlette's | ≥ 0.80 | 0.90 | yes |",
            "demijohn async req/s ÷ Starlette's | ≥ 1.50 (stretch, not required) | 0.90 | **no** |",
            "demijohn async req/s ÷ Quart's | ≥ 2.50 | 3.00 | yes |",
            "demijohn def req/s ÷ Quart's | ≥ 1.50 | 2.00 | yes |",
        ):
            assert f"| ASGI HTTP {title}: {target}" in lines
    assert "| ASGI HTTP `POST /form`" not in text
    for name in ASGI_SCENARIOS:
        title = bench.scenarios.BY_NAME[name].title
        target = (
            f"| ASGI in-process {title}: demijohn async's CPU ÷ Starlette's | ≤ 2.00 | 1.50 | yes |"
        )
        assert target in lines
    headings = [line for line in lines if line.startswith("## ")]
    asgi_headings = [
        "## ASGI in-process: the framework's own CPU time",
        "## ASGI over HTTP: uvicorn, 1 worker, driven by wrk",
    ]
    assert headings.index(asgi_headings[0]) + 1 == headings.index(asgi_headings[1])
    assert headings.index("## Targets (issue 9)") + 1 == headings.index(
        "## Targets (ASGI and return forms)"
    )
    versions = next(line for line in lines if line.startswith("- Versions: "))
    assert (
        "starlette 1.10.0, quart 0.22.0" in versions and f"uvicorn {version('uvicorn')}" in versions
    )


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


def run_worker(
    app_source: str, tmp_path: Path, *commands: dict[str, t.Any], script: str = "worker.py"
) -> list[t.Any]:
    app_file = tmp_path / "bench_app.py"
    app_file.write_text(app_source)
    result = subprocess.run(
        [sys.executable, str(BENCH / script), str(app_file)],
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


# A bare ASGI app for the worker tests: ``respond(scope, receive, send)`` is
# filled in by each test. Its lifespan answers every event as a server expects.
ASGI_APP = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await respond(scope, receive, send)

async def hello(send, body=b"Hello, World!", more_body=False):
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": more_body})
"""


def run_asgi_worker(respond: str, tmp_path: Path, *commands: dict[str, t.Any]) -> list[t.Any]:
    return run_worker(ASGI_APP + respond, tmp_path, *commands, script="asgi_worker.py")


SETUP_HELLO = {"cmd": "setup", "scenario": "hello"}


def test_asgi_worker_rejects_a_wrong_first_response(tmp_path: Path) -> None:
    respond = """
async def respond(scope, receive, send):
    await hello(send, b"Goodbye")
"""
    hello, setup = run_asgi_worker(respond, tmp_path, SETUP_HELLO)
    assert hello["ok"] is True
    assert setup["ok"] is False
    assert "b'Goodbye', expected b'Hello, World!'" in setup["error"]


def test_asgi_worker_checks_every_timed_response(tmp_path: Path) -> None:
    # One reference call and 50 warm-up calls, all still right; then it drifts.
    respond = """
import itertools
counter = itertools.count()

async def respond(scope, receive, send):
    await hello(send, b"Hello, World!" if next(counter) < 60 else b"Hello, World?")
"""
    answers = run_asgi_worker(
        respond,
        tmp_path,
        SETUP_HELLO,
        {"cmd": "run", "scenario": "hello", "n": 5},
        {"cmd": "run", "scenario": "hello", "n": 5},
    )
    assert [answer["ok"] for answer in answers] == [True, True, True, False]
    assert answers[2]["ns"] > 0
    assert "response changed between requests" in answers[3]["error"]


def test_asgi_worker_fails_an_unfinished_response(tmp_path: Path) -> None:
    respond = """
async def respond(scope, receive, send):
    await hello(send, more_body=True)
"""
    _, setup = run_asgi_worker(respond, tmp_path, SETUP_HELLO)
    assert setup["ok"] is False
    assert "the app returned before completing its response" in setup["error"]


def test_asgi_worker_reports_disconnect_only_after_the_response(tmp_path: Path) -> None:
    # Like Quart, the app listens for the disconnect while it responds: it must
    # not come before the response is complete, and must come after it. The
    # scope is a fresh copy per request, as a server's is.
    respond = """
async def respond(scope, receive, send):
    assert "seen" not in scope and "seen" not in scope["state"]
    scope["seen"] = scope["state"]["seen"] = True
    request = await receive()
    assert request == {"type": "http.request", "body": b"", "more_body": False}
    disconnect = asyncio.ensure_future(receive())
    await asyncio.sleep(0)
    assert not disconnect.done()
    await hello(send)
    assert await disconnect == {"type": "http.disconnect"}
"""
    answers = run_asgi_worker(
        respond, tmp_path, SETUP_HELLO, {"cmd": "run", "scenario": "hello", "n": 5}
    )
    assert [answer["ok"] for answer in answers] == [True, True, True], answers


def test_asgi_worker_fails_an_app_without_lifespan(tmp_path: Path) -> None:
    # uvicorn runs with --lifespan on: an app that cannot start fails here too.
    source = """
async def app(scope, receive, send):
    raise RuntimeError(f"no {scope['type']} here")
"""
    (answer,) = run_worker(source, tmp_path, SETUP_HELLO, script="asgi_worker.py")
    assert answer["ok"] is False
    assert "no lifespan here" in answer["error"]


def test_asgi_worker_marks_unsupported_scenarios(tmp_path: Path) -> None:
    respond = """
UNSUPPORTED = {"hello"}

async def respond(scope, receive, send):
    await hello(send)
"""
    _, setup = run_asgi_worker(respond, tmp_path, SETUP_HELLO)
    assert setup == {"ok": False, "na": True}
