"""The benchmark scenarios, as data.

This module is imported by ``run.py`` (project venv) and by ``worker.py`` in
every framework's own venv, so it uses the standard library only.

Adding a scenario is one :class:`Scenario` entry here plus the matching route
in each app under ``bench/apps/``. An app that cannot serve a scenario (the
bare WSGI ceiling has no templates, say) lists its name in the app module's
``UNSUPPORTED`` set and the table shows "n/a" for it.
"""

from __future__ import annotations

import dataclasses
import typing as t


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One request shape, sent unchanged to every framework's app.

    The first response is checked against the expectations below; every timed
    response after it must then equal that first one byte for byte (status
    line and body), which keeps per-request checking cheap and identical for
    every framework.
    """

    #: Short key used on the command line (``--scenarios hello,json``).
    name: str
    #: The row label in the results table.
    title: str
    method: str = "GET"
    path: str = "/"
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    #: Request body; a fresh stream over it is made for every request.
    body: bytes = b""
    content_type: str | None = None
    #: Expected HTTP status code.
    status: int = 200
    #: Exact expected body, if the body is the same in every framework.
    expect_body: bytes | None = None
    #: Expected body after ``json.loads``, when formatting may differ.
    expect_json: t.Any = None
    #: Expected prefix of the ``Content-Type`` response header.
    expect_content_type: str | None = None


#: A small JSON document, shared so the apps and the expectation agree.
JSON_PAYLOAD: dict[str, t.Any] = {
    "message": "Hello, World!",
    "items": [1, 2, 3],
    "ok": True,
}

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="hello",
        title="`GET /hello` (plain text)",
        path="/hello",
        expect_body=b"Hello, World!",
        expect_content_type="text/html",
    ),
    Scenario(
        name="json",
        title="`GET /json` (returned dict)",
        path="/json",
        expect_json=JSON_PAYLOAD,
        expect_content_type="application/json",
    ),
)

#: A session cookie signed with the apps' ``bench-secret-key`` (Flask's format,
#: which demijohn shares): ``{"user": "ada", "visits": 41}``. The apps set a
#: century-long ``PERMANENT_SESSION_LIFETIME`` so it never expires.
SESSION_COOKIE = "eyJ1c2VyIjoiYWRhIiwidmlzaXRzIjo0MX0.awVkuQ.sFoN8w1qC2Rx4AiwALv8HALILsQ"

#: What the template scenario renders: 20 items, each needing escaping.
TEMPLATE_ITEMS = [f"item <{i}> & co" for i in range(20)]

SCENARIOS += (
    Scenario(
        name="template",
        title="`GET /template` (20-item loop, autoescaped)",
        path="/template",
        expect_body=(
            "<ul>" + "".join(f"<li>item &lt;{i}&gt; &amp; co</li>" for i in range(20)) + "</ul>"
        ).encode(),
        expect_content_type="text/html",
    ),
    Scenario(
        name="session",
        title="session read + write (signed cookie)",
        path="/session",
        headers=(("Cookie", f"session={SESSION_COOKIE}"),),
        expect_body=b"ada 42",
        expect_content_type="text/html",
    ),
    Scenario(
        name="routing",
        title="`GET /user/<int:id>/post/<slug>` among 50 routes",
        path="/user/42/post/hello-world",
        expect_body=b"42 hello-world",
    ),
    Scenario(
        name="notfound",
        title="404 (no route)",
        path="/no/such/page",
        status=404,
    ),
    Scenario(
        name="hooks",
        title="`before_request` + `after_request` pair",
        path="/hooked/",
        expect_body=b"hooked",
    ),
)

BY_NAME: dict[str, Scenario] = {scenario.name: scenario for scenario in SCENARIOS}
