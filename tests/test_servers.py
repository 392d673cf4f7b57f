"""One app object, served by each server the README names, through the right door.

Each server is started the way the README documents. The app reports which
door served the request (the ASGI door leaves ``asgi.scope`` in the environ),
so a server that silently fell back to WSGI fails here.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server

APP = textwrap.dedent(
    """
    import asyncio
    from demijohn import Flask, request

    app = Flask(__name__)

    def door():
        return "asgi" if "asgi.scope" in request.environ else "wsgi"

    @app.route("/sync")
    def sync():
        return f"sync {door()}"

    @app.route("/async")
    async def slow():
        await asyncio.sleep(0.3)
        return f"async {door()}"

    @app.post("/echo")
    def echo():
        return {"json": request.get_json(), "door": door()}
    """
)

BIN = Path(sys.executable).parent

# (server, the command line from the README without the bind options, door)
SERVERS = {
    "gunicorn": ([str(BIN / "gunicorn"), "doors:app"], "wsgi"),
    "uvicorn": ([sys.executable, "-m", "uvicorn", "doors:app"], "asgi"),
    "hypercorn-wsgi": ([str(BIN / "hypercorn"), "doors:app"], "wsgi"),
    "hypercorn-asgi": ([str(BIN / "hypercorn"), "doors:app.asgi_app"], "asgi"),
    "granian-asgi": ([str(BIN / "granian"), "--interface", "asgi", "doors:app"], "asgi"),
    "granian-wsgi": ([str(BIN / "granian"), "--interface", "wsgi", "doors:app"], "wsgi"),
}


def _bind_args(server: str, port: int) -> list[str]:
    if server.startswith(("gunicorn", "hypercorn")):
        return ["--bind", f"127.0.0.1:{port}"]
    return ["--host", "127.0.0.1", "--port", str(port)]


@pytest.mark.parametrize("server", list(SERVERS))
def test_server_uses_the_documented_door(server: str, tmp_path: Path) -> None:
    command, door = SERVERS[server]
    (tmp_path / "doors.py").write_text(APP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_server(
        [*command, *_bind_args(server, port)],
        probe_url=f"{base}/sync",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    ):
        assert httpx.get(f"{base}/sync", timeout=5).text == f"sync {door}"
        echoed = httpx.post(f"{base}/echo", json={"a": [1, 2]}, timeout=5).json()
        assert echoed == {"json": {"a": [1, 2]}, "door": door}
        malformed = httpx.post(
            f"{base}/echo", content=b"{", headers={"content-type": "application/json"}, timeout=5
        )
        assert malformed.status_code == 400

        async def burst() -> list[str]:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                responses = await asyncio.gather(*(client.get("/async") for _ in range(10)))
            return [r.text for r in responses]

        started = time.perf_counter()
        assert asyncio.run(burst()) == [f"async {door}"] * 10
        elapsed = time.perf_counter() - started
        if door == "asgi":
            # Ten 0.3 s views overlap on the event loop (sequentially: 3 s).
            assert elapsed < 2.0
