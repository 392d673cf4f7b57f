"""Serve the demo (examples/taskboard) with gunicorn for the end-to-end tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import typing as t
from pathlib import Path

from servers import free_port, running_server

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "taskboard"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
#: Where the end-to-end tests leave what a person should look at (gitignored).
OUTPUT = REPO / "test-output"


@contextlib.contextmanager
def import_taskboard() -> t.Iterator[t.Any]:
    """The demo's ``taskboard`` package, importable while the block runs."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        import taskboard

        yield taskboard
    finally:
        sys.path.remove(str(EXAMPLE))


@contextlib.contextmanager
def gunicorn_taskboard(
    workdir: Path,
    *,
    workers: int = 2,
    env: dict[str, str] | None = None,
    extra_args: t.Sequence[str] = (),
) -> t.Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``gunicorn wsgi:app`` for the demo, as its Procfile does, on 127.0.0.1.

    The instance folder (database, secret key) is ``workdir/instance``, so each
    run starts from a fresh, seeded database. Yields the base URL and the process.
    """
    port = free_port()
    command = [
        GUNICORN,
        "--chdir",
        str(EXAMPLE),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--graceful-timeout",
        "2",
        *extra_args,
        "wsgi:app",
    ]
    base = f"http://127.0.0.1:{port}"
    environment = {"TASKBOARD_INSTANCE_PATH": str(workdir / "instance"), **(env or {})}
    with running_server(
        command, probe_url=f"{base}/static/logo.svg", cwd=workdir, env=environment
    ) as proc:
        yield base, proc
