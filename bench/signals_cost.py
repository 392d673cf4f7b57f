"""What signals cost per request: demijohn with no receivers vs. receivers on every signal.

Run: ``.venv/bin/python bench/signals_cost.py``. Prints thread-CPU microseconds
per ``GET /hello`` request, medians of interleaved rounds. With nobody
connected, sending is skipped entirely (each send is guarded by a check of
``signal.receivers``), so the first row should equal a build without signals.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
import typing as t

from werkzeug.test import EnvironBuilder

from demijohn import Flask, signals

REQUEST_SIGNALS = (
    "request_started",
    "request_finished",
    "request_tearing_down",
    "appcontext_pushed",
    "appcontext_popped",
    "appcontext_tearing_down",
)


def make_app() -> Flask:
    app = Flask("signals_bench")
    app.add_url_rule("/hello", "hello", lambda: "Hello, World!")
    return app


def per_request_us(app: Flask, requests: int) -> float:
    environ = EnvironBuilder("/hello").get_environ()

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> None:
        assert status == "200 OK"

    started = time.thread_time_ns()
    for _ in range(requests):
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO()
        body = app(env, start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
    return (time.thread_time_ns() - started) / requests / 1000


def main(rounds: int = 7, requests: int = 5000) -> dict[str, float]:
    quiet, observed = make_app(), make_app()
    calls = 0

    def receiver(sender: t.Any, **extra: t.Any) -> None:
        nonlocal calls
        calls += 1

    for name in REQUEST_SIGNALS:
        getattr(signals, name).connect(receiver, observed)
    samples: dict[str, list[float]] = {"no receivers": [], "a receiver on each": []}
    for _ in range(rounds):
        samples["no receivers"].append(per_request_us(quiet, requests))
        samples["a receiver on each"].append(per_request_us(observed, requests))
    assert calls == rounds * requests * len(REQUEST_SIGNALS)
    result = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in result.items():
        print(f"{name:>20}: {value:6.2f} us/request")
    return result


if __name__ == "__main__":
    smoke = "--smoke" in sys.argv
    main(rounds=1, requests=200) if smoke else main()
