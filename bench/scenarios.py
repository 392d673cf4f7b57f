"""The benchmark scenarios, as data.

This module is imported by ``run.py`` (project venv) and by ``worker.py`` in
every framework's own venv, so it uses the standard library only.

Adding a scenario is one :class:`Scenario` entry here plus the matching route
in each app under ``bench/apps/``. An app that cannot serve a scenario (the
bare WSGI ceiling has no sessions, say) lists its name in the app module's
``UNSUPPORTED`` set and the table shows "n/a" for it.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
import urllib.parse


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
    #: The scenario serving the same view written synchronously: the results
    #: also report this one's time over that one's (the cost of ``async def``).
    sync_twin: str | None = None

    @property
    def target(self) -> str:
        """The request target: the path, and the query string if there is one."""
        return f"{self.path}?{self.query_string}" if self.query_string else self.path

    def problems(self, status: int, headers: t.Iterable[tuple[str, str]], body: bytes) -> list[str]:
        """What is wrong with a response to this scenario (empty: nothing)."""
        found: list[str] = []
        if status != self.status:
            found.append(f"status {status}, expected {self.status}")
        if self.expect_body is not None and body != self.expect_body:
            found.append(f"body {body[:200]!r}, expected {self.expect_body[:200]!r}")
        if self.expect_json is not None:
            try:
                document = json.loads(body)
            except ValueError:
                found.append(f"body is not JSON: {body[:200]!r}")
            else:
                if document != self.expect_json:
                    found.append(f"JSON {document!r}, expected {self.expect_json!r}")
        if self.expect_content_type is not None:
            content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
            if not content_type.startswith(self.expect_content_type):
                found.append(
                    f"Content-Type {content_type!r}, expected {self.expect_content_type!r}"
                )
        return found


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

#: The form the ``/form`` scenario posts: five fields, some needing decoding.
FORM_FIELDS: dict[str, str] = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "city": "London",
    "language": "Français",
    "message": "Numbers & poetry: 1 + 1 = 2",
}

SCENARIOS += (
    Scenario(
        name="form",
        title="`POST /form` (5 urlencoded fields, echoed as JSON)",
        method="POST",
        path="/form",
        body=urllib.parse.urlencode(FORM_FIELDS).encode(),
        content_type="application/x-www-form-urlencoded",
        expect_json=FORM_FIELDS,
        expect_content_type="application/json",
    ),
    Scenario(
        name="async",
        title="`async def` view under WSGI (`GET /async`)",
        path="/async",
        expect_body=b"Hello, World!",
        expect_content_type="text/html",
        sync_twin="hello",
    ),
)

#: What the HTTP mode runs unless ``--scenarios`` says otherwise: the server
#: dominates there, so a few request shapes tell the story (and keep it short).
HTTP_SCENARIOS: tuple[str, ...] = ("hello", "json", "routing", "template", "form")

BY_NAME: dict[str, Scenario] = {scenario.name: scenario for scenario in SCENARIOS}
