"""Every Flask signal: sent when Flask sends it, by the app, with Flask's arguments."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
from asgi_support import served_both_kinds
from blinker import Namespace

import demijohn
from demijohn import Flask, flash, render_template_string, signals


@pytest.fixture
def events(app: Flask) -> t.Iterator[list[tuple[str, dict[str, t.Any]]]]:
    """Connect a receiver to every signal; each records its name and arguments."""
    seen: list[tuple[str, dict[str, t.Any]]] = []
    names = [
        "request_started",
        "request_finished",
        "request_tearing_down",
        "got_request_exception",
        "appcontext_tearing_down",
        "appcontext_pushed",
        "appcontext_popped",
        "template_rendered",
        "before_render_template",
        "message_flashed",
    ]
    receivers = []
    for name in names:

        def receiver(sender: t.Any, _name: str = name, **kwargs: t.Any) -> None:
            assert sender is app, f"{_name} sent by {sender!r}"
            seen.append((_name, kwargs))

        getattr(signals, name).connect(receiver, app)
        receivers.append((name, receiver))
    yield seen
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver, app)


def test_signals_of_a_request_in_flask_order(
    app: Flask, events: list[tuple[str, dict[str, t.Any]]]
) -> None:
    app.secret_key = "k"

    @app.route("/")
    def index() -> str:
        flash("hello", "info")
        return render_template_string("{{ 1 + 1 }}")

    response = app.test_client().get("/")
    assert response.text == "2"
    names = [name for name, _ in events]
    assert names == [
        "appcontext_pushed",
        "request_started",
        "message_flashed",
        "before_render_template",
        "template_rendered",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    by_name = dict(events)
    assert by_name["message_flashed"] == {"message": "hello", "category": "info"}
    assert by_name["template_rendered"]["template"].render() == "2"
    assert "g" in by_name["before_render_template"]["context"]
    assert by_name["request_finished"]["response"].status_code == 200
    assert by_name["request_tearing_down"] == {"exc": None}
    assert by_name["appcontext_tearing_down"] == {"exc": None}
    assert by_name["request_started"] == {} and by_name["appcontext_pushed"] == {}


def test_got_request_exception(app: Flask, events: list[tuple[str, dict[str, t.Any]]]) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    error = ZeroDivisionError("boom")

    @app.route("/")
    def index() -> str:
        raise error

    assert app.test_client().get("/").status_code == 500
    by_name = dict(events)
    assert by_name["got_request_exception"] == {"exception": error}
    # As in Flask, teardown sees the error even though a 500 page was sent.
    assert by_name["request_tearing_down"] == {"exc": error}
    assert "request_finished" in by_name


def test_teardown_signals_see_a_propagated_error(
    app: Flask, events: list[tuple[str, dict[str, t.Any]]]
) -> None:
    error = ValueError("escaped")
    app.add_url_rule("/", "index", lambda: (_ for _ in ()).throw(error))
    with pytest.raises(ValueError):
        app.test_client().get("/")
    by_name = dict(events)
    assert by_name["request_tearing_down"] == {"exc": error}
    assert by_name["appcontext_tearing_down"] == {"exc": error}


def test_connect_via_and_connected_to(app: Flask) -> None:
    other = Flask("other")
    seen: list[str] = []

    @signals.request_started.connect_via(app)
    def started(sender: Flask, **extra: t.Any) -> None:
        seen.append(sender.name)

    app.add_url_rule("/", "index", lambda: "ok")
    other.add_url_rule("/", "index", lambda: "ok")
    app.test_client().get("/")
    other.test_client().get("/")  # not this app: not received
    assert seen == [app.name]
    signals.request_started.disconnect(started, app)

    recorded: list[int] = []

    def on_finished(sender: Flask, response: t.Any, **extra: t.Any) -> None:
        recorded.append(response.status_code)

    with demijohn.request_finished.connected_to(on_finished, app):
        app.test_client().get("/")
    app.test_client().get("/")
    assert recorded == [200]


def test_custom_signals_from_a_namespace(app: Flask) -> None:
    my_signals = Namespace()
    model_saved = my_signals.signal("model-saved")
    received: list[tuple[t.Any, dict[str, t.Any]]] = []

    @model_saved.connect
    def on_saved(sender: t.Any, **extra: t.Any) -> None:
        received.append((sender, extra))

    @app.post("/save")
    def save() -> str:
        model_saved.send(app, model="User", id=1)
        return "saved"

    app.test_client().post("/save")
    assert received == [(app, {"model": "User", "id": 1})]


def test_async_receivers(app: Flask) -> None:
    seen: list[str] = []

    async def on_started(sender: Flask, **extra: t.Any) -> None:
        await asyncio.sleep(0)
        seen.append("async receiver")

    app.add_url_rule("/", "index", lambda: "ok")
    with signals.request_started.connected_to(on_started, app):
        assert app.test_client().get("/").text == "ok"
    assert seen == ["async receiver"]


def test_receivers_connected_after_requests_are_sent_to(app: Flask) -> None:
    # Between receivers the pipeline skips its signal checks: a receiver
    # connected once requests have run must be sent to all the same.
    client = served_both_kinds(app)

    seen: list[str] = []

    def on_request_teardown(sender: Flask, exc: BaseException | None, **extra: t.Any) -> None:
        seen.append("request_tearing_down")

    def on_app_teardown(sender: Flask, exc: BaseException | None, **extra: t.Any) -> None:
        seen.append("appcontext_tearing_down")

    async def on_started(sender: Flask, **extra: t.Any) -> None:
        await asyncio.sleep(0)
        seen.append(f"request_started {demijohn.request.path}")

    with (
        signals.request_tearing_down.connected_to(on_request_teardown, app),
        signals.appcontext_tearing_down.connected_to(on_app_teardown, app),
        signals.request_started.connected_to(on_started, app),
    ):
        for path in ("/async", "/sync"):
            seen.clear()
            assert client.get(path).text == path[1:]
            assert seen == [
                f"request_started {path}",
                "request_tearing_down",
                "appcontext_tearing_down",
            ]
    seen.clear()
    assert client.get("/async").text == "async"
    assert seen == []


def test_the_receiver_watch_forgets_on_connect() -> None:
    first, second = Namespace().signal("first"), Namespace().signal("second")
    watch = signals.ReceiverWatch((first, second))
    assert not watch.none_known
    assert watch.none_connected() and watch.none_known

    def receiver(sender: t.Any, **extra: t.Any) -> None:
        pass

    second.connect(receiver)
    assert not watch.none_known
    assert not watch.none_connected()
    second.disconnect(receiver)
    assert watch.none_connected() and watch.none_known
    # A receiver's own ``sender`` does not trip the watch up.
    first.connect(receiver, sender=watch)
    assert not watch.none_known
    assert not watch.none_connected()
