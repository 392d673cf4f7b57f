"""Clients that go away mid-upload and mid-download, through real servers.

gunicorn (sync and gthread workers, the WSGI door) and uvicorn (the ASGI
door) each serve one app, started once for the module. Against each, a
client sends half of a multipart upload large enough to be spooled to disk
and closes the socket; another reads the first chunk of an endless stream
and closes. After ``ROUNDS`` of each:

* every stream generator's ``finally`` ran (it writes a marker file);
* the worker holds no more file descriptors and threads than before
  (``/proc/<pid>/fd`` and ``/proc/<pid>/task``, back to the baseline
  within a bounded wait), and no descriptor into the server's ``TMPDIR``,
  a directory of the test's own, which is left empty;
* the next requests are served correctly.

Linux only: it reads ``/proc``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import textwrap
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")

#: Disconnects of each kind per server.
ROUNDS = 20
#: The bound of every wait, in seconds.
WAIT = 10.0
#: The upload the clients start: 4 MB declared, half of it sent.
FILE_SIZE = 4 * 1024 * 1024
SENT = 2 * 1024 * 1024
BOUNDARY = "demijohn-disconnect-boundary"
#: Threads of the gthread worker and of the ASGI door's pool.
POOL_SIZE = 4

APP = textwrap.dedent(
    """
    import hashlib
    import os
    import time

    from demijohn import Flask, Response, request

    app = Flask(__name__)
    MARKS = os.environ["MARK_DIR"]

    @app.post("/upload")
    def upload():
        data = request.files["file"].read()
        return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    @app.get("/stream/<token>")
    def stream(token):
        def generate():
            try:
                for _ in range(100_000):
                    yield b"x" * 65536
                    time.sleep(0.001)
            finally:
                with open(os.path.join(MARKS, token), "w") as marker:
                    marker.write("closed")

        return Response(generate(), mimetype="application/octet-stream")

    @app.get("/ping")
    def ping():
        return "pong"

    @app.get("/slow")
    def slow():
        time.sleep(0.05)
        return "slow"

    @app.get("/teardown-fault")
    def teardown_fault():
        request.environ["fault.teardown"] = True
        return "never seen"

    @app.teardown_request
    def failing_teardown(exc):
        if request.environ.get("fault.teardown"):
            raise RuntimeError("teardown fault")
    """
)

BIN = Path(sys.executable).parent
SERVERS = {
    "gunicorn-sync": [str(BIN / "gunicorn"), "--workers", "1", "--worker-class", "sync"],
    "gunicorn-gthread": [
        str(BIN / "gunicorn"),
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(POOL_SIZE),
    ],
    "uvicorn": [sys.executable, "-m", "uvicorn", "--no-access-log"],
}


class Server(t.NamedTuple):
    name: str
    port: int
    pid: int
    tmpdir: Path
    marks: Path


@pytest.fixture(scope="module", params=list(SERVERS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Server]:
    name: str = request.param
    root = tmp_path_factory.mktemp(name)
    (root / "disconnects_app.py").write_text(APP)
    tmpdir = root / "tmp"
    marks = root / "marks"
    tmpdir.mkdir()
    marks.mkdir()
    port = free_port()
    if name == "uvicorn":
        bind = ["--host", "127.0.0.1", "--port", str(port), "disconnects_app:app"]
    else:
        # The worker's heartbeat file would be in TMPDIR too; the control
        # socket would be in the home directory.
        (root / "heartbeat").mkdir()
        bind = [
            f"--worker-tmp-dir={root / 'heartbeat'}",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "disconnects_app:app",
        ]
    env = {
        "PYTHONPATH": str(root),
        "TMPDIR": str(tmpdir),
        "MARK_DIR": str(marks),
        # The ASGI door's thread pool, as small as gthread's (see _fill_pools).
        "DEMIJOHN_ASGI_THREADS": str(POOL_SIZE),
    }
    with running_server(
        [*SERVERS[name], *bind], probe_url=f"http://127.0.0.1:{port}/ping", cwd=root, env=env
    ) as proc:
        yield Server(name, port, _worker_pid(proc.pid), tmpdir, marks)


def _worker_pid(server_pid: int) -> int:
    """The one process serving requests: the server's child (gunicorn), or the server."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # Fields after the command name (which may hold spaces): state, ppid, ...
            if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid:
                children.append(int(entry.name))
    assert len(children) <= 1, children
    return children[0] if children else server_pid


def _fds(pid: int) -> list[str]:
    """Where each open descriptor of ``pid`` points."""
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed while listing
            targets.append(os.readlink(fd))
    return targets


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _in_dir(targets: list[str], directory: Path) -> list[str]:
    return [target for target in targets if target.startswith(f"{directory}/")]


def _wait_for(condition: t.Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT} s: {what}")
        time.sleep(0.005)


def _settled(read: t.Callable[[], int]) -> int:
    """``read()`` once it gives the same value twice in a row, 100 ms apart."""
    value = read()
    for _ in range(50):
        time.sleep(0.1)
        again = read()
        if again == value:
            return value
        value = again
    return value


def _multipart_head() -> tuple[bytes, bytes]:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def _upload_request(length: int) -> bytes:
    return (
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def abandon_upload(server: Server) -> None:
    """Send half of a large upload, wait until the worker spools it to disk, and go away."""
    head, tail = _multipart_head()
    length = len(head) + FILE_SIZE + len(tail)
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(_upload_request(length) + head)
        chunk = b"u" * 65536
        for _ in range(SENT // len(chunk)):
            sock.sendall(chunk)
        # The worker has the file open in TMPDIR: it is mid-read, not done.
        _wait_for(
            lambda: bool(_in_dir(_fds(server.pid), server.tmpdir)),
            "the upload spooled to a file in TMPDIR",
        )


def abandon_download(server: Server, token: str) -> None:
    """Read the first chunk of an endless stream and go away."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(f"GET /stream/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received or len(received) < 4096:
            data = sock.recv(65536)
            assert data, "the server closed the stream"
            received += data
        assert received.startswith(b"HTTP/1.1 200")
        # Closing with unread data resets the connection at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    marker = server.marks / token
    _wait_for(marker.exists, f"the generator's finally for {token}")


def check_served(server: Server) -> None:
    """A ping and a whole upload are answered correctly."""
    base = f"http://127.0.0.1:{server.port}"
    with httpx.Client(base_url=base, timeout=WAIT, headers={"Connection": "close"}) as client:
        assert client.get("/ping").text == "pong"
        data = os.urandom(SENT)
        answer = client.post("/upload", files={"file": ("whole.bin", data)})
        assert answer.status_code == 200
        assert answer.json() == {"size": SENT, "sha256": hashlib.sha256(data).hexdigest()}


def _fill_pools(server: Server) -> None:
    """Grow the worker's thread pools to their size, with bursts of slow requests.

    Pools start threads as calls find none idle, a race a burst may lose:
    bursts of twice the pool size are repeated until the count holds still.
    A thread made later is then no pool's growth but a leak.
    """
    base = f"http://127.0.0.1:{server.port}"
    size = 2 * POOL_SIZE
    count = -1
    for _ in range(5):
        with ThreadPoolExecutor(size) as pool:
            answers = list(pool.map(lambda _: httpx.get(f"{base}/slow", timeout=WAIT), range(size)))
        assert [a.text for a in answers] == ["slow"] * size
        if _threads(server.pid) == count:
            return
        count = _threads(server.pid)


def test_disconnects_leak_nothing(server: Server) -> None:
    # Warm up first: threads and descriptors made on first use (thread
    # pools, the loop's, imported modules' files) are the baseline, not a
    # leak.
    _fill_pools(server)
    abandon_upload(server)
    abandon_download(server, "warmup")
    check_served(server)
    _wait_for(lambda: not _in_dir(_fds(server.pid), server.tmpdir), "warm-up spool closed")
    fds_before = _settled(lambda: len(_fds(server.pid)))
    threads_before = _settled(lambda: _threads(server.pid))

    for i in range(ROUNDS):
        abandon_upload(server)
        abandon_download(server, f"round-{i}")

    assert sorted(p.name for p in server.marks.iterdir()) == sorted(
        ["warmup", *(f"round-{i}" for i in range(ROUNDS))]
    )
    _wait_for(
        lambda: len(_fds(server.pid)) <= fds_before,
        f"{server.name}: descriptors back to {fds_before} (now {_fds(server.pid)})",
    )
    _wait_for(
        lambda: _threads(server.pid) <= threads_before,
        f"{server.name}: threads back to {threads_before} (now {_threads(server.pid)})",
    )
    assert not _in_dir(_fds(server.pid), server.tmpdir)
    assert list(server.tmpdir.iterdir()) == []
    check_served(server)


def test_failing_teardown_answers_500(server: Server) -> None:
    """A teardown function's error reaches the server, which answers 500; then all is well."""
    base = f"http://127.0.0.1:{server.port}"
    # One connection each: servers close the connection after an application
    # error (uvicorn once the response is out), which races with reusing it.
    failed = httpx.get(f"{base}/teardown-fault", timeout=WAIT)
    assert failed.status_code == 500
    assert "never seen" not in failed.text
    assert httpx.get(f"{base}/ping", timeout=WAIT).text == "pong"
