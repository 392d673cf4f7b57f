"""Guide, "Advanced Features": Signals and Async Support examples."""

from __future__ import annotations

import asyncio
import typing as t
from types import SimpleNamespace

import pytest
from asgi_support import through
from blinker import Namespace
from flask import Flask, current_app, render_template_string, template_rendered


def door_app(door: str) -> Flask:
    app = Flask(__name__)
    through(app, door)
    return app


def test_subscribing_to_template_rendered(door: str, capsys: pytest.CaptureFixture[str]) -> None:
    app = door_app(door)

    def log_template_rendering(sender, template, context, **extra):  # type: ignore[no-untyped-def]
        # sender is the Flask app instance
        print(f"Rendering template: {template.name} with context {context}")

    # Connecting the subscriber to the signal
    template_rendered.connect(log_template_rendering, app)
    try:
        app.add_url_rule("/", "index", lambda: render_template_string("{{ x }}", x=1))
        assert app.test_client().get("/").text == "1"
    finally:
        template_rendered.disconnect(log_template_rendering, app)
    out = capsys.readouterr().out
    assert out.startswith("Rendering template: None with context {")
    assert "'x': 1" in out


def test_creating_custom_signals(door: str, capsys: pytest.CaptureFixture[str]) -> None:
    app = door_app(door)
    new_user = SimpleNamespace(email="ada@example.com")

    # 1. Define a namespace for your app
    my_signals = Namespace()

    # 2. Create a specific signal
    user_registered = my_signals.signal("user-registered")

    # 3. Emit the signal in your view
    @app.route("/register", methods=["POST"])
    def register():  # type: ignore[no-untyped-def]
        # ... registration logic ...
        user_registered.send(current_app._get_current_object(), user=new_user)
        return "Welcome!"

    # 4. Subscribe elsewhere (e.g., in a notification module)
    @user_registered.connect_via(app)
    def send_welcome_email(sender, user, **extra):  # type: ignore[no-untyped-def]
        print(f"Sending welcome email to {user.email}")

    assert app.test_client().post("/register").text == "Welcome!"
    assert capsys.readouterr().out == "Sending welcome email to ada@example.com\n"
    # connect_via(app): another app's sends are not received.
    user_registered.send(Flask("other"), user=new_user)
    assert capsys.readouterr().out == ""


def test_calling_multiple_apis_with_gather(door: str) -> None:
    app = door_app(door)
    order: list[str] = []

    async def call_api(name: str, delay: float) -> dict[str, t.Any]:
        order.append(f"start {name}")
        await asyncio.sleep(delay)
        order.append(f"end {name}")
        return {"api": name}

    @app.route("/aggregate")
    async def aggregate() -> dict[str, t.Any]:
        results = await asyncio.gather(call_api("slow", 0.03), call_api("fast", 0.0))
        return {"results": results}

    response = app.test_client().get("/aggregate")
    assert response.json == {"results": [{"api": "slow"}, {"api": "fast"}]}
    # Both calls were in flight together: the fast one finished first.
    assert order == ["start slow", "start fast", "end fast", "end slow"]
