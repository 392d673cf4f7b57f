"""The benchmark harness runs and checks every scenario (demijohn side only).

Real Flask lives in .bench-venv, which needs the network to build, so this
runs only the frameworks of the project venv: demijohn and the bare WSGI
ceiling. It checks the harness works, not how fast anything is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from importlib.metadata import version
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def smoke() -> dict[str, t.Any]:
    result = run_bench("--smoke", "--frameworks", "wsgi,demijohn", "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, t.Any] = json.loads(result.stdout)
    return document


def scenario_names() -> list[str]:
    sys.path.insert(0, str(BENCH))
    try:
        import scenarios
    finally:
        sys.path.remove(str(BENCH))
    return [scenario.name for scenario in scenarios.SCENARIOS]


def test_smoke_measures_every_scenario(smoke: dict[str, t.Any]) -> None:
    assert smoke["frameworks"] == ["wsgi", "demijohn"]
    assert smoke["mode"] == {"rounds": 1, "requests": 200}
    assert sorted(smoke["scenarios"]) == sorted(scenario_names())
    # The bare WSGI ceiling has no template engine and no signed sessions.
    unsupported = {("template", "wsgi"), ("session", "wsgi")}
    for name, result in smoke["scenarios"].items():
        for framework in ("wsgi", "demijohn"):
            value = result["us_per_request"][framework]
            if (name, framework) in unsupported:
                assert value is None and result["samples"][framework] is None
                continue
            assert isinstance(value, float) and value > 0, (name, framework, value)
            assert len(result["samples"][framework]) == 1
        # Flask was not run, so there is nothing to compare with.
        assert result["ratio"] is None


def test_smoke_reports_the_versions_it_ran(smoke: dict[str, t.Any]) -> None:
    versions = smoke["info"]["demijohn"]["versions"]
    assert versions["demijohn"] == version("demijohn")
    assert versions["werkzeug"] == version("werkzeug")
    assert smoke["info"]["demijohn"]["python"] == "{}.{}.{}".format(*sys.version_info[:3])


def test_markdown_table_has_a_row_per_scenario() -> None:
    result = run_bench(
        "--smoke", "--frameworks", "demijohn", "--scenarios", "hello", "--requests", "20"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "| Scenario | demijohn µs/req |"
    assert len(lines) == 3 and lines[2].startswith("| `GET /hello` (plain text) | ")


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
