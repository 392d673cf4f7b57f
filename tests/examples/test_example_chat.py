"""The WebSocket chat example (examples/chat): through the test client and a real server.

Each server is started with the command examples/chat/README.md gives (plus
the bind options), on 127.0.0.1, and stopped by PID.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import typing as t
from pathlib import Path

import pytest
from servers import free_port, running_server

from demijohn.testing import FlaskClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chat"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def chat() -> t.Iterator[t.Any]:
    # Imported by path under a name of its own, as the servers would import it.
    name = "examples_chat"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / "chat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


@pytest.fixture
def app(chat: t.Any) -> t.Any:
    return chat.create_app({"TESTING": True})


def join(client: FlaskClient, name: str) -> t.Any:
    """A connection to the chat as ``name`` (its own join is the first message)."""
    return client.websocket("/ws", query_string={"name": name}, timeout=5)


# -- through the test client ----------------------------------------------------------


def test_the_page_keeps_the_name_in_the_session(client: FlaskClient) -> None:
    page = client.get("/").text
    assert "Join</button>" in page
    assert "new WebSocket" not in page  # no chat before choosing a name

    response = client.post("/", data={"name": "  Ada  "})
    assert (response.status_code, response.location) == (302, "/")
    page = client.get("/").text
    assert 'value="Ada"' in page
    assert 'new URL("ws://localhost/ws")' in page
    assert "Say something as Ada" in page


def test_a_message_from_one_client_reaches_both(client: FlaskClient) -> None:
    other = t.cast(FlaskClient, client.application.test_client())
    other.post("/", data={"name": "Bob"})  # Bob's name comes from his session

    with join(client, "Ada") as ada, other.websocket("/ws", timeout=5) as bob:
        assert ada.receive_json() == {"event": "join", "user": "Ada"}
        assert ada.receive_json() == {"event": "join", "user": "Bob"}
        assert bob.receive_json() == {"event": "join", "user": "Bob"}

        ada.send("hello, Bob")
        expected = {"event": "message", "user": "Ada", "text": "hello, Bob"}
        assert ada.receive_json() == expected
        assert bob.receive_json() == expected

        bob.send("hi!")
        expected = {"event": "message", "user": "Bob", "text": "hi!"}
        assert bob.receive_json() == expected
        assert ada.receive_json() == expected


def test_a_disconnect_removes_the_client_from_the_broadcaster(
    app: t.Any, client: FlaskClient
) -> None:
    broadcaster = app.extensions["chat"]
    assert len(broadcaster) == 0
    with join(client, "Ada") as ada:
        ada.receive_json()
        with join(client, "Bob") as bob:
            bob.receive_json()
            assert len(broadcaster) == 2
            bob.close()  # returns once the handler has finished
            assert len(broadcaster) == 1
        assert ada.receive_json() == {"event": "join", "user": "Bob"}
        assert ada.receive_json() == {"event": "leave", "user": "Bob"}
        # Bob's queue is gone: a message now reaches Ada alone, and nothing fails.
        ada.send("anyone?")
        assert ada.receive_json()["text"] == "anyone?"
    assert len(broadcaster) == 0


def test_blank_and_binary_messages_are_dropped_and_long_ones_cut(client: FlaskClient) -> None:
    with join(client, "x" * 50) as ws:
        assert ws.receive_json() == {"event": "join", "user": "x" * 30}
        ws.send("   ")
        ws.send(b"\x00binary")
        ws.send("y" * 600)
        assert ws.receive_json() == {"event": "message", "user": "x" * 30, "text": "y" * 500}


def test_publish_works_from_any_thread(app: t.Any, client: FlaskClient) -> None:
    with join(client, "Ada") as ada:
        ada.receive_json()
        thread = threading.Thread(target=app.extensions["chat"].publish, args=({"event": "x"},))
        thread.start()
        thread.join(5)
        assert ada.receive_json() == {"event": "x"}


# -- through real servers, started as the README says -----------------------------------

COMMANDS = {
    "uvicorn": [sys.executable, "-m", "uvicorn", "--factory", "chat:create_app"],
    "demijohn run": [str(BIN / "demijohn"), "--app", "chat", "run"],
}


@pytest.mark.parametrize("server", list(COMMANDS))
def test_two_clients_chat_through_a_real_server(server: str, tmp_path: Path) -> None:
    from websockets.sync.client import connect

    port = free_port()
    command = [*COMMANDS[server], "--host", "127.0.0.1", "--port", str(port)]
    with running_server(
        command,
        probe_url=f"http://127.0.0.1:{port}/",
        cwd=tmp_path,  # the server's log goes here, not into the example's folder
        env={"PYTHONPATH": str(EXAMPLE), "PYTHONDONTWRITEBYTECODE": "1"},
    ):
        url = f"ws://127.0.0.1:{port}/ws"

        def receive(ws: t.Any) -> t.Any:
            return json.loads(ws.recv(timeout=5))

        with connect(f"{url}?name=Ada", open_timeout=5, close_timeout=5) as ada:
            assert receive(ada) == {"event": "join", "user": "Ada"}
            with connect(f"{url}?name=Bob", open_timeout=5, close_timeout=5) as bob:
                assert receive(bob) == {"event": "join", "user": "Bob"}
                assert receive(ada) == {"event": "join", "user": "Bob"}
                ada.send("hello from Ada")
                expected = {"event": "message", "user": "Ada", "text": "hello from Ada"}
                assert receive(ada) == expected
                assert receive(bob) == expected
            assert receive(ada) == {"event": "leave", "user": "Bob"}
