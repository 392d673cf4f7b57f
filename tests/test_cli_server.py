"""``demijohn run`` end to end: a real development server in a subprocess."""

from __future__ import annotations

import contextlib
import re
import sys
import textwrap
import time
from pathlib import Path

import httpx
from servers import free_port, running_server

APP = textwrap.dedent(
    """
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "version 1"

    @app.route("/boom")
    def boom():
        raise RuntimeError("kaboom in the view")
    """
)

DEMIJOHN = str(Path(sys.executable).parent / "demijohn")


def _serve(tmp_path: Path, *options: str) -> tuple[list[str], str]:
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    command = [DEMIJOHN, "--app", "app", "run", "--port", str(port), *options]
    return command, f"http://127.0.0.1:{port}"


def test_run_serves_and_hides_errors_without_debug(tmp_path: Path) -> None:
    command, base = _serve(tmp_path)
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "version 1"
        error = httpx.get(f"{base}/boom", timeout=5)
        assert error.status_code == 500
        assert "Internal Server Error" in error.text
        assert "kaboom" not in error.text and "Traceback" not in error.text
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert " * Serving Flask app 'app'" in log
    assert " * Debug mode: off" in log
    assert "This is a development server" in log


def test_debug_mode_reloads_and_shows_the_debugger(tmp_path: Path) -> None:
    command, base = _serve(tmp_path, "--debug")
    with running_server(command, probe_url=base, cwd=tmp_path):
        page = httpx.get(f"{base}/boom", timeout=5)
        assert page.status_code == 500
        assert "kaboom in the view" in page.text
        assert "Werkzeug Debugger" in page.text  # the interactive debugger page

        # Editing the file is picked up by the reloader (it polls about once a second).
        time.sleep(1.1)
        (tmp_path / "app.py").write_text(APP.replace("version 1", "version 2"))
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):  # restarting
                text = httpx.get(base, timeout=2).text
            if text == "version 2":
                break
            time.sleep(0.2)
        assert text == "version 2"
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert " * Debug mode: on" in log
    assert re.search(r"Debugger PIN: \d{3}-\d{3}-\d{3}", log)
    assert "Restarting with stat" in log
