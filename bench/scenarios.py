"""The benchmark scenarios, as data.

This module is imported by ``run.py`` (project venv) and by ``worker.py`` in
every framework's own venv, so it uses the standard library only.

Adding a scenario is one :class:`Scenario` entry here plus the matching route
in each app under ``bench/apps/``. An app that cannot serve a scenario (the
bare WSGI ceiling has no sessions, say) lists its name in the app module's
``UNSUPPORTED`` set and the table shows "n/a" for it.

The WSGI modes run :data:`SCENARIOS` (and, in process, :data:`RETURN_FORMS`);
the ASGI modes run the scenarios named in :data:`ASGI_SCENARIOS` (and, in
process, the return forms again, through demijohn's ASGI door).
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
    #: Other response headers expected, with their exact values.
    expect_headers: tuple[tuple[str, str], ...] = ()
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
        for name, expected in self.expect_headers:
            value = next((v for k, v in headers if k.lower() == name.lower()), None)
            if value != expected:
                found.append(f"{name} {value!r}, expected {expected!r}")
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

#: What the ASGI modes run on every app (bare ASGI, demijohn, Starlette, Quart).
ASGI_SCENARIOS: tuple[str, ...] = ("hello", "json", "routing", "form")


def _return_form(name: str, returned: str, *, status: int = 200, **expected: t.Any) -> Scenario:
    return Scenario(
        name=f"return-{name}",
        title=f"view returns `{returned}`",
        path=f"/return/{name}",
        status=status,
        **expected,
    )


_TEXT: dict[str, t.Any] = {"expect_body": b"text", "expect_content_type": "text/html"}
_X_A = (("X-A", "b"),)

#: What turning a view's return value into a response costs, one scenario per
#: form Flask documents. Only demijohn's and Flask's apps serve them: each at
#: ``/return/<name>``, each view returning its form and nothing else.
RETURN_FORMS: tuple[Scenario, ...] = (
    _return_form("str", '"text"', **_TEXT),
    _return_form("dict", '{"a": 1}', expect_json={"a": 1}, expect_content_type="application/json"),
    _return_form(
        "list", "[1, 2, 3]", expect_json=[1, 2, 3], expect_content_type="application/json"
    ),
    _return_form(
        "headers",
        '("text", {"Content-Type": "text/plain"})',
        expect_body=b"text",
        expect_content_type="text/plain",
    ),
    _return_form("status", '("text", 201)', status=201, **_TEXT),
    _return_form(
        "status-headers", '("text", 201, {"X-A": "b"})', status=201, expect_headers=_X_A, **_TEXT
    ),
    _return_form(
        "status-header-list",
        '("text", 201, [("X-A", "b")])',
        status=201,
        expect_headers=_X_A,
        **_TEXT,
    ),
    _return_form("response", 'Response("text")', **_TEXT),
    _return_form("redirect", 'redirect("/x")', status=302, expect_headers=(("Location", "/x"),)),
    _return_form(
        "jsonify", "jsonify(a=1)", expect_json={"a": 1}, expect_content_type="application/json"
    ),
)
#: For the ``UNSUPPORTED`` set of the apps that serve no return-form scenario.
RETURN_FORM_NAMES: frozenset[str] = frozenset(scenario.name for scenario in RETURN_FORMS)

BY_NAME: dict[str, Scenario] = {scenario.name: scenario for scenario in (*SCENARIOS, *RETURN_FORMS)}
