"""Start real servers for tests: on 127.0.0.1, on a free port, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import typing as t
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    command: list[str],
    *,
    probe_url: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    startup_timeout: float = 20.0,
) -> t.Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until the block ends; ready once ``probe_url`` answers.

    The server's output is collected in a file in ``cwd`` and included in the
    error when it does not come up, so a failed start explains itself.
    """
    log_path = cwd / f"server-{os.getpid()}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{command[0]} exited with {proc.returncode}:\n{log_path.read_text()}"
                    )
                try:
                    httpx.get(probe_url, timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{command[0]} did not answer within {startup_timeout} s:\n"
                            + log_path.read_text()
                        ) from None
                    time.sleep(0.1)
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[t.Any], timeout: float = 10.0) -> None:
    """Terminate ``proc`` (and its process group: servers fork workers), then kill."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=timeout)
