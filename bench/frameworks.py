"""The frameworks measured, and the virtualenvs they run from.

demijohn and the bare WSGI and ASGI floors run on the project venv's python.
Flask, Bottle, Falcon, Starlette and Quart run from ``.bench-venv``, which
:func:`ensure_bench_venv` creates and keeps up to date from the pinned
requirements files beside this module (real Flask is never installed into
``.venv``). The libraries both sides share (Werkzeug, Jinja2, gunicorn,
uvicorn, ...) are pinned there to the versions of the project venv, so only
the framework layer differs.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BENCH_VENV = REPO / ".bench-venv"
#: What ``.bench-venv`` holds, beyond the shared pins below.
REQUIREMENTS = (BENCH / "requirements-flask.txt", BENCH / "requirements-peers.txt")

#: Installed into ``.bench-venv`` at the project venv's versions.
SHARED_DEPENDENCIES = (
    "werkzeug",
    "jinja2",
    "markupsafe",
    "itsdangerous",
    "click",
    "blinker",
    "gunicorn",
    # The ASGI server, and the HTTP parser it is run with.
    "uvicorn",
    "httptools",
)


class BenchError(Exception):
    """The benchmark could not run or a response was wrong."""


@dataclasses.dataclass(frozen=True)
class Framework:
    """One column of the results: an app file run by some venv's python."""

    #: Key used on the command line (``--frameworks demijohn,flask``), unique
    #: within its door (WSGI or ASGI).
    name: str
    #: Column header.
    label: str
    #: The app, relative to ``bench/``.
    app: str
    #: Needs ``.bench-venv`` (Flask and the peers) rather than the project venv.
    bench_venv: bool = False

    @property
    def module(self) -> str:
        """The app's module name, as gunicorn and uvicorn import it from ``bench/apps``."""
        return Path(self.app).stem


FRAMEWORKS: tuple[Framework, ...] = (
    Framework("wsgi", "bare WSGI", "apps/wsgi_app.py"),
    Framework("demijohn", "demijohn", "apps/demijohn_app.py"),
    Framework("flask", "Flask 3.1", "apps/flask_app.py", bench_venv=True),
    Framework("bottle", "Bottle", "apps/bottle_app.py", bench_venv=True),
    Framework("falcon", "Falcon", "apps/falcon_app.py", bench_venv=True),
)
BY_NAME: dict[str, Framework] = {framework.name: framework for framework in FRAMEWORKS}

#: The framework every ratio is taken against, and the ceiling (no framework).
REFERENCE = "flask"
CEILING = "wsgi"

#: The ASGI modes' apps. demijohn twice: ``async def`` views, then ``def`` views
#: (the WSGI modes' app, whose ``def`` views its ASGI door runs in a worker thread).
ASGI_FRAMEWORKS: tuple[Framework, ...] = (
    Framework("asgi", "bare ASGI", "apps/asgi_app.py"),
    Framework("demijohn-async", "demijohn async", "apps/demijohn_async_app.py"),
    Framework("demijohn-def", "demijohn def", "apps/demijohn_app.py"),
    Framework("starlette", "Starlette", "apps/starlette_app.py", bench_venv=True),
    Framework("quart", "Quart", "apps/quart_app.py", bench_venv=True),
)
ASGI_BY_NAME: dict[str, Framework] = {framework.name: framework for framework in ASGI_FRAMEWORKS}

#: The ASGI ratios' reference, and the floor (no framework).
ASGI_REFERENCE = "starlette"
ASGI_FLOOR = "asgi"


def _run_quiet(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"{what} failed:\n{result.stdout}{result.stderr}")


def ensure_bench_venv() -> Path:
    """Create or update ``.bench-venv`` with the pinned frameworks; return its python.

    A stamp file records what was installed, so an unchanged venv costs one
    hash; a lock keeps two runs from installing at once.
    """
    python = BENCH_VENV / "bin" / "python"
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in SHARED_DEPENDENCIES]
    wanted = hashlib.sha256(
        "\n".join([*(path.read_text() for path in REQUIREMENTS), *pins, sys.version]).encode()
    ).hexdigest()
    stamp = BENCH_VENV / ".bench-install"
    BENCH_VENV.mkdir(exist_ok=True)
    with open(BENCH_VENV / ".bench-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
            return python
        if not python.exists():
            print(f"==> creating {BENCH_VENV.name} for Flask and the peers", file=sys.stderr)
            _run_quiet([sys.executable, "-m", "venv", str(BENCH_VENV)], "creating the venv")
        names = ", ".join(path.name for path in REQUIREMENTS)
        print(f"==> installing {names} into {BENCH_VENV.name}", file=sys.stderr)
        _run_quiet(
            [
                str(python),
                *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *(argument for path in REQUIREMENTS for argument in ("-r", str(path))),
                *pins,
            ],
            f"installing {names}",
        )
        stamp.write_text(wanted + "\n")
    return python


def python_for(framework: Framework) -> Path:
    """The interpreter that runs ``framework``'s app."""
    return ensure_bench_venv() if framework.bench_venv else Path(sys.executable)
