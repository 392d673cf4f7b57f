"""A short version of ``bench/reliability.py``'s load soak, and its report.

The demo app is served by gunicorn (2 workers) and by uvicorn (1 worker) on
127.0.0.1 and driven by wrk for 3 seconds with the real mix (logins through
the form, form posts, JSON API calls, static files): no response may have a
status its kind does not expect, no socket error, no error in the server's
log, and every figure the report shows must be there. A run with a wrong
CSRF token and a wrong password shows that the error count sees failures. The
full 60 s soak is ``python bench/reliability.py`` (README, "Dependency matrix
and reliability soak").
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import types
import typing as t
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("reliability", BENCH / "reliability.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules["reliability"] = module
    spec.loader.exec_module(module)
    return module


reliability = _load()
SECONDS = 3


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance folder for both servers: the database is made and seeded once."""
    return tmp_path_factory.mktemp("soak")


def _check_figures(result: t.Any, workers: int) -> None:
    run = result.run
    assert run.requests > 0
    assert run.unexpected() == {}, run.unexpected()
    assert run.socket_errors == {"connect": 0, "read": 0, "write": 0}
    assert run.timeouts == 0
    assert result.log_errors == []
    # Every kind of the mix was sent and answered as expected.
    for name, kind in reliability.KINDS.items():
        counts = run.tally.get(name, {})
        assert counts, f"no {name} request was answered"
        assert set(counts) <= kind.expected
    assert run.responses <= run.requests
    assert 0 < run.p50_ms <= run.p99_ms <= run.max_ms
    assert len(result.workers) == workers
    assert sorted(w.pid for w in result.workers) == sorted(result.workers_after)
    for worker in result.workers:
        assert len(worker.rss_kib) >= 3
        assert all(kib > 10_000 for kib in worker.rss_kib)
        assert worker.rss_growth_pct is not None
        assert worker.rss_floor_growth_pct is not None
        assert isinstance(worker.fds_start, int) and isinstance(worker.fds_end, int)
        assert worker.fds_start > 3 and worker.fds_end > 3


def test_soak_under_gunicorn_and_a_run_with_bad_tokens(workdir: Path, tmp_path: Path) -> None:
    with reliability.serving("gunicorn", workdir) as server:
        credentials = reliability.prepare(server.base)
        # No warm-up: this checks that everything works, not how memory grows.
        result = reliability.measure(
            server, SECONDS, warmup=0, connections=4, credentials=credentials
        )
        _check_figures(result, workers=2)

        script = tmp_path / "soak.lua"
        script.write_text(reliability.WRK_SCRIPT)
        # Only kinds that need a token, and two that do not: all are sent in 1 s.
        kinds = ["login", "form_create", "api_create", "static_css", "api_me"]
        bad = reliability.run_wrk(server.base, 1, 2, credentials.tampered(), script, kinds)
        with pytest.raises(ValueError, match="unknown"):
            reliability.run_wrk(server.base, 1, 2, credentials, script, ["no_such_kind"])
    unexpected = bad.unexpected()
    # A wrong password re-renders the login page, a wrong CSRF token is a 400.
    assert set(unexpected["login"]) == {200}
    assert set(unexpected["form_create"]) == {400}
    assert set(unexpected["api_create"]) == {400}
    assert bad.error_count >= bad.unexpected_count > 0
    # Requests that need no token are unaffected.
    assert bad.tally["static_css"] == {200: bad.tally["static_css"][200]}
    assert bad.tally["api_me"] == {200: bad.tally["api_me"][200]}

    report = reliability.render(
        [result], None, None, reliability.machine_facts(), "python bench/reliability.py"
    )
    assert f"| gunicorn | {reliability.SERVER_SETUP['gunicorn']} |" in report
    assert f"| {result.run.requests} |" in report
    assert "`nproc` = " in report and f"Python {sys.version.split()[0]}" in report
    assert "shared" in report and "Load average (1, 5, 15 min)" in report
    assert f"| {result.run.error_count} |" in report
    rows = reliability.to_json([result])
    assert json.loads(json.dumps(rows))[0]["errors"] == 0


def test_soak_under_uvicorn(workdir: Path) -> None:
    with reliability.serving("uvicorn", workdir) as server:
        result = reliability.measure(server, SECONDS, warmup=0, connections=4)
    _check_figures(result, workers=1)
    # uvicorn with one worker serves in the process it was started as.
    assert result.workers[0].pid == server.proc.pid


def test_a_failed_check_is_reported() -> None:
    run = reliability.WrkRun(
        requests=10,
        seconds=1.0,
        p50_ms=1.0,
        p99_ms=2.0,
        max_ms=3.0,
        socket_errors={"connect": 0, "read": 1, "write": 0},
        timeouts=0,
        tally={"login": {302: 4, 500: 1}, "static_css": {200: 5}},
    )
    assert run.unexpected() == {"login": {500: 1}}
    assert run.error_count == 2
    worker = reliability.WorkerFigures(1, [100, 100, 100, 120, 120, 120], 10, 12)
    result = reliability.SoakResult("gunicorn", 1, 0, 2, run, [worker], [1], [])
    problems = "; ".join(result.problems())
    assert "1 unexpected responses" in problems
    assert "1 socket errors" in problems
    assert "RSS (lowest per third) grew 20.0 %" in problems
    assert "file descriptors 10 -> 12" in problems
    assert "FAILED" in reliability.render([result], None, None, reliability.machine_facts(), "x")


def test_a_spike_is_not_growth_but_a_higher_floor_is() -> None:
    # A login's scrypt hash holds 32 MiB for a moment: one sample in the last
    # third that lands on it moves the mean, not the lowest value.
    spiky = reliability.WorkerFigures(1, [100, 100, 100, 100, 100, 100, 100, 100, 164], 8, 8)
    assert spiky.rss_growth_pct is not None and spiky.rss_growth_pct > 20
    assert spiky.rss_floor_growth_pct == 0
    leaking = reliability.WorkerFigures(1, [100, 101, 102, 104, 106, 108, 110, 112, 114], 8, 8)
    assert leaking.rss_floor_growth_pct == pytest.approx(10.0)
    assert reliability.growth_pct([100, 100]) is None  # fewer than three samples


def test_the_report_names_no_path_of_this_machine() -> None:
    shown = reliability.shown_command(["--seconds", "5", "--json", "/tmp/x.json", "--output=/a/b"])
    assert shown == "python bench/reliability.py --seconds 5 --json PATH --output=PATH"


def test_wrk_output_without_the_summary_line_is_an_error() -> None:
    with pytest.raises(reliability.SoakError, match="no SOAK line"):
        reliability.parse_wrk_output("Running 1s test @ http://127.0.0.1:1\n")


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "figures.py"
    path.write_text(
        textwrap.dedent(
            """
            import json, sys
            out = sys.argv[sys.argv.index("--json") + 1]
            """
        )
        + textwrap.dedent(body)
    )
    return path


def test_the_optional_scripts_sections(tmp_path: Path) -> None:
    missing = reliability.run_external(tmp_path / "absent.py", [], 10, reliability.check_fuzz)
    assert missing.data is None and "not in the repository" in missing.note

    fuzz = _script(
        tmp_path,
        """
        figures = {"executions": 1200, "corpus_size": 40, "crashes": 0, "seconds": 2.0}
        json.dump({"targets": {"wsgi": figures, "asgi": figures}}, open(out, "w"))
        """,
    )
    found = reliability.run_external(fuzz, ["--seconds", "2"], 30, reliability.check_fuzz)
    assert found.data is not None and found.note == ""
    assert found.command[-4:] == ["--seconds", "2", "--json", "PATH"]

    leaks = _script(
        tmp_path,
        """
        json.dump({"apps": 50, "rss_start_kib": 40000, "rss_end_kib": 40400,
                   "growth_pct_last_vs_first_third": 0.5, "seconds": 3.2}, open(out, "w"))
        """,
    )
    leak_figures = reliability.run_external(leaks, ["--apps", "50"], 30, reliability.check_leaks)
    assert leak_figures.data is not None

    report = reliability.render([], found, leak_figures, reliability.machine_facts(), "x")
    assert "| wsgi | 1200 | 40 | 0 | 2.0 |" in report
    assert "| 50 | 40000 KiB | 40400 KiB | +0.5 % | 3.2 |" in report

    # The agreed shape is checked: the leaks figures are not fuzz figures.
    wrong = reliability.run_external(leaks, [], 30, reliability.check_fuzz)
    assert wrong.data is None and "no usable JSON" in wrong.note
    failing = _script(tmp_path, "sys.exit('fuzzer broke')\n")
    broken = reliability.run_external(failing, [], 30, reliability.check_fuzz)
    assert broken.data is None and "exited with 1" in broken.note and "fuzzer broke" in broken.note
    report = reliability.render([], broken, None, reliability.machine_facts(), "x")
    assert "exited with 1" in report and "Not run (`--leak-apps 0`)" in report
