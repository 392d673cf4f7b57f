"""Message flashing: ``flash``, ``get_flashed_messages`` and the ``message_flashed`` signal."""

from __future__ import annotations

import typing as t

import pytest
from markupsafe import Markup

from demijohn import (
    Flask,
    flash,
    get_flashed_messages,
    message_flashed,
    render_template_string,
    session,
)
from demijohn.testing import FlaskClient


@pytest.fixture
def fapp(app: Flask) -> Flask:
    app.secret_key = "flash-secret"

    @app.route("/flash")
    def add() -> str:
        flash("saved")
        flash("bad input", "error")
        flash("careful", "warning")
        flash("worse input", "error")
        return "ok"

    @app.route("/all")
    def everything() -> str:
        return repr(get_flashed_messages(with_categories=True))

    return app


def test_flash_then_show_once(fapp: Flask, client: FlaskClient) -> None:
    assert client.get("/flash").headers["Set-Cookie"].startswith("session=")
    assert client.get("/all").text == repr(
        [
            ("message", "saved"),
            ("error", "bad input"),
            ("warning", "careful"),
            ("error", "worse input"),
        ]
    )
    # Popped: the next page has none, and the emptied session's cookie is deleted.
    assert client.get_cookie("session") is None
    assert client.get("/all").text == "[]"


def test_messages_without_categories(fapp: Flask, client: FlaskClient) -> None:
    @fapp.route("/plain")
    def plain() -> str:
        return repr(get_flashed_messages())

    client.get("/flash")
    assert client.get("/plain").text == repr(["saved", "bad input", "careful", "worse input"])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"category_filter": ["error"]}, ["bad input", "worse input"]),
        ({"category_filter": ("error", "warning")}, ["bad input", "careful", "worse input"]),
        (
            {"category_filter": ["warning"], "with_categories": True},
            [("warning", "careful")],
        ),
        ({"category_filter": ["nothing-like-this"]}, []),
    ],
)
def test_category_filter(
    fapp: Flask, client: FlaskClient, kwargs: dict[str, t.Any], expected: list[t.Any]
) -> None:
    @fapp.route("/filtered")
    def filtered() -> str:
        return repr(get_flashed_messages(**kwargs))

    client.get("/flash")
    assert client.get("/filtered").text == repr(expected)
    # Filtering still consumes every message, as in Flask.
    assert client.get("/all").text == "[]"


def test_repeated_calls_in_one_request_see_the_same_messages(
    fapp: Flask, client: FlaskClient
) -> None:
    @fapp.route("/twice")
    def twice() -> str:
        first = get_flashed_messages()
        errors = get_flashed_messages(category_filter=["error"])
        again = get_flashed_messages(with_categories=True)
        return repr((first, errors, len(again)))

    client.get("/flash")
    assert client.get("/twice").text == repr(
        (["saved", "bad input", "careful", "worse input"], ["bad input", "worse input"], 4)
    )


def test_flash_and_show_in_the_same_request(fapp: Flask, client: FlaskClient) -> None:
    @fapp.route("/now")
    def now() -> str:
        flash("right away")
        return repr(get_flashed_messages())

    @fapp.route("/late")
    def late() -> str:
        before = get_flashed_messages()
        flash("for the next page")
        # Already read this request: the new message waits for the next one.
        return repr((before, get_flashed_messages()))

    assert client.get("/now").text == "['right away']"
    assert client.get("/all").text == "[]"
    assert client.get("/late").text == "([], [])"
    assert client.get("/all").text == "[('message', 'for the next page')]"


def test_messages_stay_until_retrieved(fapp: Flask, client: FlaskClient) -> None:
    @fapp.route("/other")
    def other() -> str:
        return "no messages read here"

    client.get("/flash")
    for _ in range(3):
        response = client.get("/other")
        assert "Set-Cookie" not in response.headers  # the session is untouched
    assert "saved" in client.get("/all").text


def test_reading_no_messages_writes_no_cookie(fapp: Flask, client: FlaskClient) -> None:
    response = client.get("/all")
    assert response.text == "[]"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Vary"] == "Cookie"  # the session was looked at


def test_flashes_live_beside_other_session_data(fapp: Flask, client: FlaskClient) -> None:
    @fapp.route("/login")
    def login() -> str:
        session["user"] = "ada"
        flash("Login Successful")
        return "ok"

    @fapp.route("/home")
    def home() -> str:
        return f"{get_flashed_messages()} {session.get('user')}"

    client.get("/login")
    assert client.get("/home").text == "['Login Successful'] ada"
    assert client.get("/home").text == "[] ada"
    assert client.get_cookie("session") is not None


def test_markup_and_non_string_messages_round_trip(fapp: Flask, client: FlaskClient) -> None:
    @fapp.route("/rich")
    def rich() -> str:
        flash(Markup("<b>Saved</b>"), "success")
        flash({"field": "email", "codes": (1, 2)}, "data")  # type: ignore[arg-type]
        return "ok"

    seen: list[t.Any] = []

    @fapp.route("/show")
    def show() -> str:
        seen.extend(get_flashed_messages(with_categories=True))
        return render_template_string(
            "{% for c, m in get_flashed_messages(with_categories=true) %}{{ m }};{% endfor %}"
        )

    client.get("/rich")
    html = client.get("/show").text
    assert seen == [
        ("success", Markup("<b>Saved</b>")),
        ("data", {"field": "email", "codes": (1, 2)}),
    ]
    assert type(seen[0][1]) is Markup and type(seen[1][1]["codes"]) is tuple
    # A Markup message is not escaped again; the dict is (its repr has quotes).
    assert html == "<b>Saved</b>;{&#39;codes&#39;: (1, 2), &#39;field&#39;: &#39;email&#39;};"


def test_message_flashed_signal(fapp: Flask, client: FlaskClient) -> None:
    received: list[tuple[t.Any, t.Any, str]] = []

    def record(sender: Flask, message: t.Any, category: str, **extra: t.Any) -> None:
        assert extra == {}
        received.append((sender, message, category))

    with message_flashed.connected_to(record, fapp):
        client.get("/flash")
    assert received == [
        (fapp, "saved", "message"),
        (fapp, "bad input", "error"),
        (fapp, "careful", "warning"),
        (fapp, "worse input", "error"),
    ]
    # Only this app's flashes reach a receiver connected for it.
    other = Flask("other")
    other.secret_key = "x"
    with message_flashed.connected_to(record, other):
        client.get("/flash")
    assert len(received) == 4


def test_async_view_can_flash(fapp: Flask, client: FlaskClient) -> None:
    @fapp.route("/async")
    async def async_flash() -> str:
        flash("from async", "info")
        return "ok"

    client.get("/async")
    assert client.get("/all").text == "[('info', 'from async')]"


def test_flash_needs_a_secret_key(app: Flask, client: FlaskClient) -> None:
    @app.route("/flash")
    def add() -> str:
        flash("lost")
        return "ok"

    @app.route("/read")
    def read() -> str:
        return repr(get_flashed_messages())

    assert client.get("/read").text == "[]"  # reading a null session is fine
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/flash")
    app.testing = False
    assert client.get("/flash").status_code == 500


def test_flash_outside_a_request_fails_clearly(fapp: Flask) -> None:
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        flash("nowhere")
    with fapp.app_context(), pytest.raises(RuntimeError, match="outside of request context"):
        get_flashed_messages()
