"""The fuzz targets: the demo app (examples/taskboard) behind the WSGI or the ASGI door.

:class:`Target` builds the app once per process (a temporary instance folder
with its SQLite database, ``TESTING`` so exceptions propagate out of the
door), logs a user in to get a session cookie and a CSRF token, then serves
one request per fuzz input: :func:`decode` turns the input into a method,
path, query, headers, cookies, content type and body with
:class:`atheris.FuzzedDataProvider`. A crash is an exception out of the door,
a response of 500 or more, a response no server could send, or a context
left pushed (see :mod:`harness`); :meth:`Target.run` records each kind once
(a file per distinct crash) and returns it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import traceback
import typing as t
from pathlib import Path
from urllib.parse import quote_from_bytes

import atheris
import harness
from harness import RawRequest

TASKBOARD = Path(__file__).resolve().parent.parent / "examples" / "taskboard"
PASSWORD = "fuzzing is fun"

#: The paths the demo serves (and a few it does not), as starting points.
PATHS = [
    b"/",
    b"/?mine=1",
    b"/auth/login",
    b"/auth/register",
    b"/auth/logout",
    b"/tasks/new",
    b"/tasks/1/edit",
    b"/tasks/1/move",
    b"/tasks/2/delete",
    b"/tasks/99999/edit",
    b"/export.csv",
    b"/api/v1/",
    b"/api/v1/me",
    b"/api/v1/tasks",
    b"/api/v1/tasks/1",
    b"/api/v1/tasks/3",
    b"/api/v1/tasks/-1",
    b"/api/v1/nothing",
    b"/static/style.css",
    b"/static/logo.svg",
    b"/static/../__init__.py",
    b"/static/%2e%2e/__init__.py",
    b"/nothing",
    b"",
    b"//",
    b"/%00",
    b"/\xff",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
HEADER_NAMES = [
    b"host",
    b"accept",
    b"accept-language",
    b"accept-encoding",
    b"if-modified-since",
    b"if-none-match",
    b"if-range",
    b"range",
    b"authorization",
    b"user-agent",
    b"origin",
    b"referer",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-csrftoken",
    b"x-csrf-token",
    b"x-requested-with",
    b"cache-control",
    b"content-encoding",
    b"expect",
    b"upgrade",
    b"cookie",
]
HEADER_VALUES = [
    b"",
    b"*/*",
    b"application/json",
    b"text/html;q=0.9,*/*;q=abc",
    b"bytes=0-",
    b"bytes=-1",
    b"bytes=5-1,0-0",
    b"bytes=99999999999999999999999-",
    b"Thu, 01 Jan 1970 00:00:00 GMT",
    b"Mon, 99 Foo 9999 99:99:99 GMT",
    b'W/"x", *',
    b"Basic Og==",
    b"Basic !!!",
    b"Bearer x",
    b"https://evil.example",
    b"localhost:99999999",
    b"[::1",
    b"9" * 5000,
    b"\xb2",
    b"\xe9\xff",
    b"gzip",
    b"100-continue",
]
CONTENT_TYPES = [
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=b0undary",
    b"multipart/form-data",
    b"multipart/form-data; boundary=",
    b"application/json",
    b"application/json; charset=utf-16",
    b"application/json; charset=bogus",
    b"text/plain",
    b"application/octet-stream",
    b"text/csv",
]
#: Field names the demo's forms and JSON API read.
FIELDS = [
    b"csrf_token",
    b"username",
    b"password",
    b"confirm",
    b"remember",
    b"title",
    b"description",
    b"status",
    b"next",
]
FIELD_VALUES = [
    b"",
    b"todo",
    b"doing",
    b"done",
    b"alice",
    b"taskboard",
    PASSWORD.encode(),
    b"y",
    b"/\r\n",
    b"//evil.example",
    b"x" * 200,
    b"\xff\xfe",
]


@dataclasses.dataclass
class Auth:
    """What a logged-in browser holds: the session cookie and the CSRF token in its pages."""

    session: bytes
    csrf: bytes


def _clean(value: bytes) -> bytes:
    # A server never hands the app CR, LF or NUL inside a header value.
    return value.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")


def _small(fdp: t.Any, limit: int = 32) -> bytes:
    data: bytes = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, limit))
    return data


def _pick_or_fuzz(fdp: t.Any, choices: list[bytes], limit: int = 32) -> bytes:
    if fdp.ConsumeIntInRange(0, 3):
        value: bytes = fdp.PickValueInList(choices)
        return value
    return _small(fdp, limit)


def _fields(fdp: t.Any, auth: Auth | None) -> list[tuple[bytes, bytes]]:
    pairs = []
    if auth is not None and fdp.ConsumeBool():
        pairs.append((b"csrf_token", auth.csrf))
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        pairs.append((_pick_or_fuzz(fdp, FIELDS), _pick_or_fuzz(fdp, FIELD_VALUES)))
    return pairs


def _json_value(fdp: t.Any, depth: int = 0) -> t.Any:
    kind = fdp.ConsumeIntInRange(0, 7)
    if depth > 4 or kind == 0:
        return fdp.PickValueInList([None, True, False, 0, -1, 2**70, 1.5, float("inf")])
    if kind <= 2:
        return fdp.PickValueInList(FIELD_VALUES).decode("latin-1")
    if kind == 3:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 24))
    if kind == 4:
        return [_json_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    keys = [b"title", b"description", b"status", b"extra"]
    return {
        _pick_or_fuzz(fdp, keys, 8).decode("latin-1"): _json_value(fdp, depth + 1)
        for _ in range(fdp.ConsumeIntInRange(0, 4))
    }


def _body(fdp: t.Any, content_type: bytes, auth: Auth | None) -> bytes:
    """A body for ``content_type``, mostly well-formed enough to reach the views."""
    kind = fdp.ConsumeIntInRange(0, 9)
    if kind == 0:
        return t.cast(bytes, fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512)))
    if kind == 1:
        # Amplified: a small input makes a huge body (deep nesting, many fields).
        piece = _small(fdp, 16) or b"["
        return piece * fdp.ConsumeIntInRange(0, 200_000)
    if b"json" in content_type:
        value = _json_value(fdp)
        try:
            text = json.dumps(value, allow_nan=fdp.ConsumeBool())
        except ValueError:  # infinity without allow_nan: send it as Python would
            text = json.dumps(value)
        if fdp.ConsumeIntInRange(0, 7) == 0:
            text = text[: fdp.ConsumeIntInRange(0, len(text))]
        return text.encode("utf-8")
    pairs = _fields(fdp, auth)
    if b"multipart" in content_type:
        boundary = b"b0undary" if fdp.ConsumeIntInRange(0, 5) else _small(fdp, 8)
        parts = []
        for name, value in pairs:
            head = b'Content-Disposition: form-data; name="' + name + b'"'
            if fdp.ConsumeIntInRange(0, 3) == 0:
                head += b'; filename="' + _small(fdp, 12) + b'"\r\nContent-Type: '
                head += _pick_or_fuzz(fdp, CONTENT_TYPES, 12)
            parts.append(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + value + b"\r\n")
        end = b"--" + boundary + b"--\r\n" if fdp.ConsumeIntInRange(0, 5) else _small(fdp, 8)
        return b"".join(parts) + end
    if fdp.ConsumeIntInRange(0, 3):
        return b"&".join(
            quote_from_bytes(k).encode() + b"=" + quote_from_bytes(v).encode() for k, v in pairs
        )
    return b"&".join(k + b"=" + v for k, v in pairs)


def decode(data: bytes, auth: Auth | None = None) -> RawRequest:
    """The request a fuzz input stands for (the same bytes always give the same request)."""
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeIntInRange(0, 15):
        method = fdp.PickValueInList(METHODS)
    else:
        method = _small(fdp, 8).decode("latin-1")
    path = fdp.PickValueInList(PATHS)
    query = b""
    if b"?" in path:
        path, _, query = path.partition(b"?")
    if fdp.ConsumeIntInRange(0, 2) == 0:
        path += _small(fdp, 48).replace(b"?", b"")
    if fdp.ConsumeIntInRange(0, 2) == 0:
        query = _small(fdp, 64)
    headers = []
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        name = _pick_or_fuzz(fdp, HEADER_NAMES, 16).replace(b":", b"").lower()
        name = _clean(name) or b"x"
        headers.append((name, _clean(_pick_or_fuzz(fdp, HEADER_VALUES, 64))))
    mode = fdp.ConsumeIntInRange(0, 3)
    if auth is not None and mode in (1, 2):
        headers.append((b"cookie", b"session=" + auth.session))
        if mode == 2:
            headers.append((b"x-csrftoken", auth.csrf))
    elif mode == 3:
        headers.append((b"cookie", _clean(b"session=" + _small(fdp, 96))))
    content_type = _pick_or_fuzz(fdp, CONTENT_TYPES, 48)
    body = _body(fdp, content_type, auth if mode else None)
    if body or fdp.ConsumeBool():
        headers.append((b"content-type", _clean(content_type)))
    chunked = fdp.ConsumeIntInRange(0, 5) == 0
    length = fdp.ConsumeIntInRange(0, 7)
    if length == 0:
        headers.append((b"content-length", _clean(_pick_or_fuzz(fdp, HEADER_VALUES, 8))))
    elif length > 1:
        headers.append((b"content-length", str(len(body)).encode()))
    return RawRequest(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        chunked=chunked,
        http_version=fdp.PickValueInList(["1.1", "1.1", "1.1", "1.0", "2"]),
    )


def _login(app: t.Any) -> Auth:
    """Register a user through the app's own pages; return its cookie and CSRF token."""
    client = app.test_client()
    page = client.get("/auth/register").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token is not None, page
    response = client.post(
        "/auth/register",
        data={
            "csrf_token": token.group(1),
            "username": "fuzzer",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = client.get_cookie("session")
    assert cookie is not None
    return Auth(cookie.value.encode("latin-1"), token.group(1).encode("latin-1"))


def make_taskboard(instance: Path) -> t.Any:
    """The demo app with its database in ``instance``, configured for testing."""
    import demijohn

    demijohn.install_as_flask()
    if str(TASKBOARD) not in sys.path:
        sys.path.insert(0, str(TASKBOARD))
    import taskboard

    return taskboard.create_app(
        {"TESTING": True, "SEED_DEMO_DATA": True, "SEED_TASKS": 6},
        instance_path=str(instance),
    )


class Crash(t.NamedTuple):
    """One failure: what kind it is, where it came from, and the text to show."""

    signature: str
    report: str
    #: Set for a failure of a third-party package the demo uses (see :data:`KNOWN`).
    known: str | None = None


#: Failures of the demo's extensions that demijohn cannot fix (Flask shows
#: them too): (file name ending, function) of a frame -> why. They are
#: reported apart from crashes, so the fuzzer keeps looking for others.
KNOWN = {
    ("flask_wtf/form.py", "wrap_formdata"): (
        "Flask-WTF 1.3.0 builds its form data with ImmutableMultiDict(request.get_json())"
        " when a submitted form has a JSON body: a JSON body that is not an object"
        ' (1, "text", a list of non-pairs) raises TypeError or ValueError (a 500).'
    ),
}
#: The same Flask-WTF path for a JSON object: its values reach WTForms'
#: validators and the demo's database as they are (true, {}, null), not as
#: the strings a form field holds.
JSON_FORM_DATA = (
    "Flask-WTF 1.3.0 takes a JSON object posted to an HTML form page as the form's"
    " data, values unconverted: a bool, an object or null fails in WTForms'"
    " validators or in the database (a 500)."
)
#: Flask-WTF's form data also merges ``request.files`` into the fields:
#: a file posted under a text field's name reaches it as a FileStorage.
FILE_FORM_DATA = (
    "Flask-WTF 1.3.0 merges request.files into a form's data: a file uploaded under"
    " a text field's name (username, title) reaches WTForms' validators (len() of a"
    " FileStorage) or the database as a FileStorage (a 500)."
)


def _innermost(frames: traceback.StackSummary) -> str:
    """The innermost frame's file of demijohn, Werkzeug or the demo ("" if none)."""
    for frame in reversed(frames):
        if any(part in frame.filename for part in ("demijohn", "werkzeug", "taskboard")):
            return frame.filename
    return ""


def _known(error: BaseException, request: RawRequest) -> str | None:
    frames = traceback.extract_tb(error.__traceback__)
    for frame in frames:
        for (ending, function), reason in KNOWN.items():
            if frame.filename.endswith(ending) and frame.name == function:
                return f"{ending}:{function}: {reason}"
    content_type = dict(request.headers).get(b"content-type", b"").split(b";")[0].strip()
    is_json = content_type.lower() == b"application/json" or content_type.endswith(b"+json")
    # Raised in what the demo's view called (WTForms, SQLAlchemy), not in demijohn.
    in_the_demo = "taskboard" in _innermost(frames)
    if is_json and not request.path.startswith(b"/api/") and in_the_demo:
        return f"flask_wtf JSON form data: {JSON_FORM_DATA}"
    if "FileStorage" in str(error) and in_the_demo:
        return f"flask_wtf file form data: {FILE_FORM_DATA}"
    return None


def _signature(error: BaseException) -> str:
    """Where ``error`` came from: its type and its innermost frame in our code or Werkzeug's.

    A failed check (:class:`harness.Malformed`) is named by what it found.
    """
    if isinstance(error, harness.Malformed):
        words = re.sub(r"[^A-Za-z ]+", " ", str(error)).split()[:5]
        return f"Malformed({'-'.join(words)})"
    frames = traceback.extract_tb(error.__traceback__)
    place = "?"
    for frame in reversed(frames):
        if any(part in frame.filename for part in ("demijohn", "werkzeug", "taskboard")):
            place = f"{Path(frame.filename).name}:{frame.lineno}"
            break
    return f"{type(error).__name__}@{place}"


class Target:
    """One door of the demo app, ready to serve fuzz inputs."""

    def __init__(
        self, door: str, workdir: Path | None = None, *, like: Target | None = None
    ) -> None:
        """The demo behind ``door``; crashes saved under ``workdir`` if given.

        ``like`` starts from a copy of another target's instance folder (its
        database and secret key, so its login works here too), which spares
        building and seeding the database again.
        """
        if door not in ("wsgi", "asgi"):
            raise ValueError(f"unknown door {door!r}")
        self.door = door
        self._tmp = tempfile.TemporaryDirectory(prefix=f"fuzz-{door}-")
        self.instance = Path(self._tmp.name) / "instance"
        if like is not None:
            shutil.copytree(like.instance, self.instance)
        self.app = make_taskboard(self.instance)
        self.auth = like.auth if like is not None else _login(self.app)
        self.balance = harness.ContextBalance(self.app)
        self.loop = asyncio.new_event_loop() if door == "asgi" else None
        self.crash_dir = workdir / "crashes" if workdir is not None else None
        self.seen: set[str] = set()
        self.executions = 0
        #: How many responses of each status: shows how deep the inputs reach.
        self.statuses: collections.Counter[int] = collections.Counter()
        #: What ``sys.unraisablehook`` reported (a file left unclosed, say),
        #: when the fuzzing process points the hook here.
        self.unraisable: list[str] = []

    def serve(self, request: RawRequest) -> harness.Exchange:
        """Send ``request`` through this target's door (errors propagate)."""
        if self.loop is not None:
            return harness.serve_asgi(self.app, request, self.loop)
        return harness.serve_wsgi(self.app, request)

    def run(self, data: bytes) -> Crash | None:
        """Serve the request ``data`` decodes to; the crash it causes, if any."""
        self.executions += 1
        request = decode(data, self.auth)
        try:
            answer = self.serve(request)
            self.statuses[answer.status] += 1
            self.balance.check()
            if answer.status >= 500:
                raise harness.Malformed(f"status {answer.status}: {answer.body[:300]!r}")
            if self.unraisable:
                found, self.unraisable[:] = list(self.unraisable), []
                raise harness.Malformed(f"left for the garbage collector: {found}")
        except Exception as error:
            self.balance.pushed = self.balance.popped = 0
            signature = _signature(error)
            report = "".join(traceback.format_exception(error))
            known = _known(error, request)
            crash = Crash(signature, f"{signature}\n{request!r}\n\n{report}", known)
            self._record(crash, data)
            return crash
        return None

    def _record(self, crash: Crash, data: bytes) -> None:
        if crash.signature in self.seen:
            return
        self.seen.add(crash.signature)
        kind = "known issue" if crash.known else "new crash"
        print(f"\n=== {kind} ({self.door}): {crash.report}", file=sys.stderr, flush=True)
        if self.crash_dir is not None:
            self.crash_dir.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha1(crash.signature.encode()).hexdigest()[:12]
            if crash.known:
                name = f"known-{name}"
            (self.crash_dir / f"{self.door}-{name}.bin").write_bytes(data)
            (self.crash_dir / f"{self.door}-{name}.txt").write_text(crash.report)

    def close(self) -> None:
        """Stop counting contexts and remove the instance folder."""
        self.balance.disconnect()
        if self.loop is not None:
            self.loop.close()
        self._tmp.cleanup()


def seed_inputs(count: int = 60, seed: int = 2026, tries: int = 300_000) -> list[bytes]:
    """Up to ``count`` small inputs, each a different plain request to the demo (the seeds).

    Random bytes, kept when they decode to a GET or POST of one of
    :data:`PATHS` as it is, with a (content type, logged in or not) not seen
    yet: a start that reaches every route, logged in and out, with each body
    kind. libFuzzer mutates from there.
    """
    rng = random.Random(seed)
    auth = Auth(b"session", b"token")
    kept: dict[tuple[t.Any, ...], bytes] = {}
    for _ in range(tries):
        data = rng.randbytes(rng.randint(8, 120))
        request = decode(data, auth)
        if request.method not in ("GET", "POST") or request.path not in PATHS:
            continue
        headers = dict(request.headers)
        content_type = headers.get(b"content-type", b"").split(b";")[0]
        if request.method == "POST" and content_type not in {
            c.split(b";")[0] for c in CONTENT_TYPES
        }:
            continue
        logged_in = headers.get(b"cookie") == b"session=session"
        key = (request.method, request.path, content_type, logged_in)
        if key not in kept:
            kept[key] = data
    # One per (method, path) first, then more kinds, up to ``count``.
    chosen = {key[:2]: data for key, data in reversed(kept.items())}
    picked = list(chosen.values())
    for data in kept.values():
        if len(picked) >= count:
            break
        if data not in picked:
            picked.append(data)
    return picked[:count]
