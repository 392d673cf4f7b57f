"""``demijohn run`` end to end: a real development server in a subprocess."""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import time
from pathlib import Path

import httpx
from servers import free_port, running_server

CLI_APPS = Path(__file__).parent / "cli_apps"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")


def _serve(tmp_path: Path, *options: str) -> tuple[list[str], str]:
    # A copy, so that the test may edit it.
    shutil.copy(CLI_APPS / "errors.py", tmp_path / "app.py")
    port = free_port()
    command = [DEMIJOHN, "--app", "app", "run", "--port", str(port), *options]
    return command, f"http://127.0.0.1:{port}"


def _log(folder: Path) -> str:
    return next(folder.glob("server-*.log")).read_text()


def test_run_serves_and_hides_errors_without_debug(tmp_path: Path) -> None:
    command, base = _serve(tmp_path)
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "version 1"
        error = httpx.get(f"{base}/boom", timeout=5)
        assert error.status_code == 500
        assert "Internal Server Error" in error.text
        assert "kaboom" not in error.text and "Traceback" not in error.text
    log = _log(tmp_path)
    assert " * Serving Flask app 'app'" in log
    assert " * Debug mode: off" in log
    assert "This is a development server" in log
    assert "Debugger PIN" not in log
    # The traceback goes to the terminal, not to the browser.
    assert "RuntimeError: kaboom in the view" in log


def test_debug_mode_reloads_and_shows_the_debugger(tmp_path: Path) -> None:
    command, base = _serve(tmp_path, "--debug")
    with running_server(command, probe_url=base, cwd=tmp_path):
        page = httpx.get(f"{base}/boom", timeout=5)
        assert page.status_code == 500
        assert "kaboom in the view" in page.text
        assert "Werkzeug Debugger" in page.text  # the interactive debugger page

        # Editing the file is picked up by the reloader (it polls about once a second).
        time.sleep(1.1)
        source = (tmp_path / "app.py").read_text()
        (tmp_path / "app.py").write_text(source.replace("version 1", "version 2"))
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):  # restarting
                text = httpx.get(base, timeout=2).text
            if text == "version 2":
                break
            time.sleep(0.2)
        assert text == "version 2"
    log = _log(tmp_path)
    assert " * Debug mode: on" in log
    assert re.search(r"Debugger PIN: \d{3}-\d{3}-\d{3}", log)
    assert "Restarting with stat" in log


def test_python_dash_m_demijohn_serves_a_package_factory(tmp_path: Path) -> None:
    # A package path with a factory call string, from another folder.
    port = free_port()
    app_ref = f"{CLI_APPS / 'factory_pkg'}:create_app('served')"
    command = [sys.executable, "-m", "demijohn", "--app", app_ref, "run", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running_server(command, probe_url=base, cwd=tmp_path):
        # The factory's app has no routes: the server answers 404.
        assert httpx.get(base, timeout=5).status_code == 404
    assert f" * Serving Flask app '{app_ref}'" in _log(tmp_path)


def test_flask_run_environment_variables(tmp_path: Path) -> None:
    # Everything from the environment: the app, the port, debug mode.
    shutil.copy(CLI_APPS / "errors.py", tmp_path / "mysite.py")
    port = free_port()
    env = {"FLASK_APP": "mysite", "FLASK_RUN_PORT": str(port), "FLASK_DEBUG": "1"}
    base = f"http://127.0.0.1:{port}"
    with running_server([DEMIJOHN, "run", "--no-reload"], probe_url=base, cwd=tmp_path, env=env):
        assert "Werkzeug Debugger" in httpx.get(f"{base}/boom", timeout=5).text
    log = _log(tmp_path)
    assert " * Debug mode: on" in log and "Restarting with stat" not in log
