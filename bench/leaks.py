"""Leak check: create, serve and drop many apps; the resident memory must stay flat.

Each app has routes (a JSON one, a template one), a blueprint registered, an
extension in ``app.extensions``, its config loaded, and serves one request
(through the WSGI door, the ASGI door, or each in turn), then is dropped.
The apps themselves are freed by reference counting (tests/test_leaks.py);
what Werkzeug's URL map and Jinja's compiled templates keep in reference
cycles of their own is the cyclic collector's, which runs as usual unless
``--no-gc`` turns it off for the run (then that garbage piles up, and the
figure at the end says how many objects only the collector could free).

    .venv/bin/python bench/leaks.py                      # 10000 apps, a readable summary
    .venv/bin/python bench/leaks.py --apps 300 --json out.json

``--json PATH`` writes ``{"apps", "rss_start_kib", "rss_mid_kib",
"rss_end_kib", "growth_pct_last_vs_first_third", "seconds"}`` plus the
details (``rss_first_third_kib``, ``door``, ``gc_enabled``,
``collected_at_end``). The growth compares the resident size after the last
third of the apps with that after the first third, so one-off allocations
(imports, caches filled by the first apps, the allocator's arenas) do not
count.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import typing as t
from pathlib import Path

from werkzeug.test import EnvironBuilder

import demijohn
from demijohn import Blueprint, Flask, current_app, g, jsonify, render_template_string, request

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib() -> int:
    """This process's resident set size, in KiB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_KIB


class Counter:
    """An extension in the usual shape: made once, ``init_app`` per app."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension's state and hooks on ``app``."""
        app.extensions["counter"] = {"requests": 0}
        app.before_request(_count)
        app.teardown_appcontext(_forget)


def _count() -> None:
    current_app.extensions["counter"]["requests"] += 1
    g.counted = True


def _forget(exc: BaseException | None) -> None:
    g.pop("counted", None)


# One blueprint, registered on every app: the usual application-factory shape.
items = Blueprint("items", __name__, url_prefix="/items")


@items.get("/<int:item_id>")
def item(item_id: int) -> t.Any:
    return jsonify(id=item_id, url=demijohn.url_for(".item", item_id=item_id))


counter = Counter()


def create_app(index: int) -> Flask:
    """One app of the run, built as an application factory builds one."""
    app = Flask(f"leaks_{index % 7}")
    app.config.from_mapping(SECRET_KEY="leaks", INDEX=index)
    counter.init_app(app)
    app.register_blueprint(items)

    @app.get("/")
    def home() -> str:
        return render_template_string(
            "{{ config.INDEX }} {{ url_for('items.item', item_id=2) }} {{ request.path }}"
        )

    @app.get("/data")
    def data() -> t.Any:
        return {"index": current_app.config["INDEX"], "who": request.args.get("who")}

    return app


def _environ(path: str) -> dict[str, t.Any]:
    base, _, query = path.partition("?")
    return EnvironBuilder(path=base, query_string=query).get_environ()


def serve_wsgi(app: Flask, path: str) -> bytes:
    """One request through the WSGI door, as a server makes it."""
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> None:
        status.append(line)

    body = app(_environ(path), start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    if not status or not status[0].startswith("200"):
        raise RuntimeError(f"{path}: {status}")
    return data


def serve_asgi(app: Flask, path: str, loop: asyncio.AbstractEventLoop) -> bytes:
    """One request through the ASGI door, on ``loop``."""
    base, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "root_path": "",
        "path": base,
        "query_string": query.encode(),
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    sent: list[dict[str, t.Any]] = []
    done = asyncio.Event()
    received = False

    async def receive() -> dict[str, t.Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    loop.run_until_complete(app(scope, receive, send))
    if not sent or sent[0].get("status") != 200:
        raise RuntimeError(f"{path}: {sent[:1]}")
    return b"".join(m.get("body", b"") for m in sent[1:])


PATHS = ("/", "/data?who=ada", "/items/7")


def one_app(index: int, door: str, loop: asyncio.AbstractEventLoop) -> None:
    """Create app ``index``, serve one request through ``door``, drop it."""
    app = create_app(index)
    path = PATHS[index % len(PATHS)]
    if door == "wsgi":
        serve_wsgi(app, path)
    else:
        serve_asgi(app, path, loop)


def run(apps: int, door: str = "both", gc_enabled: bool = True) -> dict[str, t.Any]:
    """Create, serve and drop ``apps`` apps; return the measurements."""
    doors = ("wsgi", "asgi") if door == "both" else (door,)
    loop = asyncio.new_event_loop()
    try:
        # Warm up: lazy imports, the ASGI door's worker threads, first caches.
        for i, warm_door in enumerate(doors * 3):
            one_app(-1 - i, warm_door, loop)
        gc.collect()
        was_enabled = gc.isenabled()
        if not gc_enabled:
            gc.disable()
        try:
            start = rss_kib()
            first_third = mid = start
            began = time.perf_counter()
            for i in range(apps):
                one_app(i, doors[i % len(doors)], loop)
                if i + 1 == apps // 3:
                    first_third = rss_kib()
                if i + 1 == apps // 2:
                    mid = rss_kib()
            seconds = time.perf_counter() - began
            end = rss_kib()
        finally:
            collected = gc.collect()
            if was_enabled:
                gc.enable()
    finally:
        loop.close()
    return {
        "apps": apps,
        "rss_start_kib": start,
        "rss_mid_kib": mid,
        "rss_end_kib": end,
        "growth_pct_last_vs_first_third": round((end - first_third) * 100 / first_third, 2),
        "seconds": round(seconds, 3),
        "rss_first_third_kib": first_third,
        "door": door,
        "gc_enabled": gc_enabled,
        "collected_at_end": collected,
    }


def summary(result: dict[str, t.Any]) -> str:
    """The measurements as a few lines for a person."""
    apps = result["apps"]
    return "\n".join(
        [
            f"{apps} apps created, served (door: {result['door']}) and dropped"
            f" in {result['seconds']:.1f} s ({result['seconds'] * 1e3 / max(apps, 1):.2f} ms each),"
            f" cyclic GC {'on' if result['gc_enabled'] else 'off'}",
            f"RSS start {result['rss_start_kib']} KiB, after the first third"
            f" {result['rss_first_third_kib']} KiB, middle {result['rss_mid_kib']} KiB,"
            f" end {result['rss_end_kib']} KiB",
            f"growth, last vs first third: {result['growth_pct_last_vs_first_third']:+.2f} %",
            f"objects left for the cyclic collector at the end: {result['collected_at_end']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10_000, help="how many apps (default 10000)")
    parser.add_argument("--door", choices=("wsgi", "asgi", "both"), default="both")
    parser.add_argument(
        "--no-gc", action="store_true", help="turn the cyclic collector off during the run"
    )
    parser.add_argument("--json", type=Path, help="write the measurements there as JSON")
    args = parser.parse_args(argv)
    if args.apps < 3:
        parser.error("--apps must be at least 3")
    result = run(args.apps, door=args.door, gc_enabled=not args.no_gc)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    else:
        print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
