"""The request and response classes: Werkzeug's, aware of the current app.

Limits and sizes that Werkzeug keeps as class attributes are read from the
active application's config here, so one ``Request`` class serves every app.
"""

from __future__ import annotations

import functools
import io
import typing as t
from http import HTTPStatus
from urllib.parse import parse_qsl

from werkzeug.datastructures import (
    EnvironHeaders,
    FileStorage,
    Headers,
    ImmutableMultiDict,
    MultiDict,
)
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.urls import iri_to_uri
from werkzeug.utils import cached_property, get_content_type
from werkzeug.utils import redirect as _wz_redirect
from werkzeug.wrappers import Request as RequestBase
from werkzeug.wrappers import Response as ResponseBase
from werkzeug.wsgi import ClosingIterator, LimitedStream

from . import json
from ._overrides import overrides
from ._shortcuts.werkzeug import (
    ParsedForm,
    assemble_response,
    has_close_callbacks,
    header_pairs,
    init_request,
)
from .globals import _cv_app
from .helpers import _split_blueprint_path

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from werkzeug.routing import Rule


def _config_limit(name: str, own: int | None, fallback: int | None) -> int | None:
    if own is not None:
        return own
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.config[name]  # type: ignore[no-any-return]
    return fallback


def _query_text(query: bytes) -> str:
    # The error handler Werkzeug registers for its URL code: a byte that is
    # not UTF-8 becomes its %XX escape instead of an error.
    return query.decode("utf-8", "werkzeug.url_quote")


_URLENCODED = "application/x-www-form-urlencoded"


class _BoundedInput(LimitedStream):
    """A server-terminated body (chunked, or from the ASGI door) held to ``limit``.

    Werkzeug's own max-length stream stops quietly at the limit when read to
    the end, so a body longer than ``MAX_CONTENT_LENGTH`` would come back
    truncated from ``get_data()``; this one reads one byte past the limit and
    answers 413 instead, never holding more than that.
    """

    def __init__(self, stream: t.IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self._max = limit

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self.tell() > self._max:
            raise RequestEntityTooLarge()
        return size


def scope_header(request: Request, name: bytes) -> bytes | None:
    """The raw value of the header ``name`` (lowercase) of a request built from an ASGI scope.

    The pipeline reads a few headers on every request (``Host``, ``Cookie``);
    for a request built from a scope, its environ unmade, it reads them here
    instead, as the scope gives them: the environ would hold this value
    decoded as latin-1 (the path and method: :func:`scope_routing_input`).
    """
    return request._asgi_headers.get(name)


def scope_routing_input(request: Request) -> tuple[str | None, str]:
    """The environ's ``PATH_INFO`` and ``REQUEST_METHOD`` for a request built from a scope.

    What the URL map's own matcher reads; the path is ``None`` for an
    upgrade request (it never matches those itself). Such a request has an
    ASCII path and no root path, so the path is the scope's as it is.
    """
    scope: t.Any = request._asgi_scope
    if b"upgrade" in request._asgi_headers:
        return None, scope["method"]
    return scope["path"], scope["method"]


class Request(RequestBase):
    """The request object: :class:`werkzeug.wrappers.Request` plus routing data.

    ``url_rule``, ``view_args`` and ``routing_exception`` are filled in when the
    request context matches the URL.

    The ASGI door builds a request without a body straight from the ASGI
    scope (:func:`~demijohn._shortcuts.werkzeug.init_request_from_scope`):
    ``environ`` and ``headers`` are then made on first read, equal to what
    building it from the scope's environ would have given. Most requests
    never read them. The pipeline's own reads of a few environ keys go
    through :func:`scope_header` and :func:`scope_routing_input`,
    which answer from the scope until then.
    """

    #: The module used to parse JSON bodies; it defers to ``app.json``.
    json_module: t.Any = json

    def __init__(
        self, environ: WSGIEnvironment, populate_request: bool = True, shallow: bool = False
    ) -> None:
        """A request for ``environ``, as Werkzeug's; built for less (``init_request``)."""
        init_request(self, environ, populate_request, shallow)

    #: The ASGI HTTP scope of a request built from it, else ``None``.
    _asgi_scope: t.MutableMapping[str, t.Any] | None = None
    #: That scope's headers by name (no name occurs twice), for :func:`scope_header`.
    _asgi_headers: dict[bytes, bytes]

    # Made on first read for a request built from its scope. The standard
    # library's cached property is a non-data descriptor: once made (and from
    # the start, for a request built from an environ) each is a plain attribute.

    @functools.cached_property
    def environ(self) -> WSGIEnvironment:  # type: ignore[override]
        """The WSGI environ equivalent of the request's ASGI scope (PEP 3333)."""
        scope = self._asgi_scope
        if scope is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'environ'")
        from .asgi import make_environ

        environ = make_environ(scope)
        # Only a request without a body is built from its scope (see the ASGI door).
        environ["wsgi.input"] = io.BytesIO()
        if not self.shallow:
            environ["werkzeug.request"] = self
        return environ

    @functools.cached_property
    def headers(self) -> Headers:  # type: ignore[override]
        """The request headers, read from the WSGI environ as Werkzeug reads them."""
        return EnvironHeaders(self.environ)

    #: The :class:`~werkzeug.routing.Rule` that matched, if any.
    url_rule: Rule | None = None
    #: The values captured by the matched rule, if any.
    view_args: dict[str, t.Any] | None = None
    #: The HTTP exception matching raised (404, 405, a redirect), if any.
    routing_exception: HTTPException | None = None

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted, from ``MAX_CONTENT_LENGTH`` unless set here."""
        return _config_limit("MAX_CONTENT_LENGTH", self._max_content_length, None)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field, from ``MAX_FORM_MEMORY_SIZE`` unless set here."""
        return _config_limit("MAX_FORM_MEMORY_SIZE", self._max_form_memory_size, 500_000)

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property  # type: ignore[override]
    def max_form_parts(self) -> int | None:
        """The most multipart parts parsed, from ``MAX_FORM_PARTS`` unless set here."""
        return _config_limit("MAX_FORM_PARTS", self._max_form_parts, 1000)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @cached_property
    def stream(self) -> t.IO[bytes]:
        """The body stream, guarded by ``content_length`` and :attr:`max_content_length`."""
        environ = self.environ
        if self.shallow or not environ.get("wsgi.input_terminated"):
            return super().stream
        limit = self.max_content_length
        if limit is None:
            # The server ends the body itself and nothing caps it: Werkzeug
            # hands over the server's stream as it is, and so does this.
            return t.cast(t.IO[bytes], environ["wsgi.input"])
        length = self.content_length
        if length is not None and length > limit:
            raise RequestEntityTooLarge()
        return t.cast(t.IO[bytes], _BoundedInput(environ["wsgi.input"], limit))

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or ``None``."""
        rule = self.url_rule
        return rule.endpoint if rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint the endpoint belongs to, or ``None``."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        return list(_split_blueprint_path(name))

    @cached_property
    def args(self) -> MultiDict[str, str]:
        """The parsed query string; bytes that are not UTF-8 stay percent-encoded.

        Werkzeug decodes the raw query as strict UTF-8 first, so one raw byte
        0xFF a client sent (a percent-encoded one is fine) was a 500.
        """
        return self.parameter_storage_class(
            parse_qsl(
                _query_text(self.query_string), keep_blank_values=True, errors="werkzeug.url_quote"
            )
        )

    @property
    def full_path(self) -> str:
        """The path and query string, with undecodable query bytes percent-encoded."""
        return f"{self.path}?{_query_text(self.query_string)}"

    form: ParsedForm[ImmutableMultiDict[str, str]] = ParsedForm(RequestBase.form.__doc__)
    files: ParsedForm[ImmutableMultiDict[str, FileStorage]] = ParsedForm(RequestBase.files.__doc__)

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        if (
            # The exact header, as browsers send it, spares parsing it here.
            (self.environ.get("CONTENT_TYPE") == _URLENCODED or self.mimetype == _URLENCODED)
            and self.form_data_parser_class is FormDataParser
            # A subclass's own parser factory must see every form.
            and not overrides(self, RequestBase, "make_form_data_parser")
            and self.want_form_data_parsed
        ):
            self._load_urlencoded()
        else:
            super()._load_form_data()
            self._drop_unnamed_parts()
        # In debug mode, make ``request.files[key]`` explain the missing enctype
        # instead of raising a bare KeyError.
        ctx = _cv_app.get(None)
        if (
            ctx is not None
            and ctx.app.debug
            and self.mimetype != "multipart/form-data"
            and not self.files
        ):
            from .debughelpers import attach_enctype_error_multidict

            attach_enctype_error_multidict(self)

    def _drop_unnamed_parts(self) -> None:
        """Leave out multipart parts without a name, which Werkzeug files under the key ``None``.

        No field name can reach them, and code iterating the keys as strings
        trips on ``None`` (Flask-WTF's CSRF check: a 500 for any client that
        sends ``Content-Disposition: form-data`` without ``name``).
        """
        d = self.__dict__
        for attribute in ("form", "files"):
            data = d.get(attribute)
            if data is None or None not in data:
                continue
            for value in data.getlist(None):
                if isinstance(value, FileStorage):
                    value.close()
            d[attribute] = type(data)(
                (key, value) for key, value in data.items(multi=True) if key is not None
            )

    def _load_urlencoded(self) -> None:
        """Parse a urlencoded body exactly as Werkzeug's :class:`FormDataParser` does.

        The parser object, its dispatch and three config limits it would read
        (none of which applies to a urlencoded body) are skipped: this is the
        common form post. The body comes from the same guarded stream, so
        ``MAX_CONTENT_LENGTH`` still answers 413, and an undecodable body
        still gives an empty form, as the parser's ``silent`` default does.
        """
        stream = self._get_stream_for_parsing()
        storage = self.parameter_storage_class
        try:
            text = stream.read().decode()
            items = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
        except ValueError:
            items = []
        d = self.__dict__
        d["stream"], d["form"], d["files"] = stream, storage(items), storage()

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> t.IO[bytes]:
        """Werkzeug's stream for an upload, remembered so :meth:`close` closes it.

        Werkzeug's multipart parser drops the stream of a part it did not
        finish (a body cut short, a limit reached mid-upload) without closing
        it: a temporary file left for the garbage collector.
        """
        stream = super()._get_file_stream(
            total_content_length, content_type, filename, content_length
        )
        self.__dict__.setdefault("_upload_streams", []).append(stream)
        return stream

    def close(self) -> None:
        """Close the uploaded files, if any were parsed, finished or not."""
        # Only uploads hold resources; most requests parse none, or no form.
        d = self.__dict__
        if d.get("files"):
            super().close()
        streams = d.get("_upload_streams")
        if streams:
            for stream in streams:
                stream.close()

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Raise a 400 for a malformed body; the parser's message only in debug."""
        try:
            return super().on_json_loading_failed(e)
        except BadRequest as bad:
            ctx = _cv_app.get(None)
            if ctx is not None and ctx.app.debug:
                raise
            raise BadRequest() from bad


class Response(ResponseBase):
    """The response object: :class:`werkzeug.wrappers.Response` with HTML as default."""

    default_mimetype: str | None = "text/html"
    #: The module used by :attr:`json`; it defers to ``app.json``.
    json_module: t.Any = json
    # Redirect targets are sent as given: relative stays relative, as in Flask.
    autocorrect_location_header = False

    @property
    def status(self) -> str:
        """The status line's code and reason phrase, e.g. ``"200 OK"``."""
        return self._status

    @status.setter
    def status(self, value: str | int | HTTPStatus) -> None:
        status, code = self._clean_status(value)
        if "\n" in status or "\r" in status:
            # Werkzeug's server writes the reason phrase as given: a line
            # break would split the response, as one in a header value would.
            raise ValueError("The status must not contain newline characters.")
        self._status, self._status_code = status, code

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The largest cookie allowed, from ``MAX_COOKIE_SIZE`` in an app context."""
        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.config["MAX_COOKIE_SIZE"]  # type: ignore[no-any-return]
        return super().max_cookie_size

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        """Send the response (WSGI). A buffered body takes a short path (:func:`buffered_parts`)."""
        parts = buffered_parts(self, environ.get("REQUEST_METHOD"))
        if parts is None:
            return super().__call__(environ, start_response)
        start_response(self.status, list(parts[1]))  # the server's own copy: it may add to it
        if needs_close(self):
            return ClosingIterator(self.response, self.close)  # type: ignore[arg-type]
        return self.response  # type: ignore[return-value]

    def iter_encoded(self) -> t.Iterator[bytes]:
        """The body as bytes; an async iterable body is iterated on this thread's loop."""
        body = self.response
        if _is_async_only(body):
            from ._async import iterate_async

            return _encoded(iterate_async(aiter(body)))  # type: ignore[arg-type]
        return super().iter_encoded()

    def close(self) -> None:
        """Close the body (an async generator too) and run the ``call_on_close`` functions."""
        body = self.response
        if _is_async_only(body) and getattr(body, "ag_frame", True) is not None:
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                from ._async import run_sync

                run_sync(aclose())
        super().close()


#: ``close`` methods that do nothing for a buffered body with no ``call_on_close`` callbacks.
_PLAIN_CLOSES = (ResponseBase.close, Response.close)


def _encoded(items: t.Iterable[str | bytes]) -> t.Iterator[bytes]:
    for item in items:
        yield item.encode() if isinstance(item, str) else item


def _is_async_only(body: object) -> bool:
    """Whether a response body can be iterated only with ``async for``."""
    body_type = type(body)
    return hasattr(body_type, "__aiter__") and not hasattr(body_type, "__iter__")


#: Werkzeug's own ``get_wsgi_response``, which :func:`buffered_parts` stands in for.
base_get_wsgi_response = ResponseBase.get_wsgi_response


def buffered_parts(
    response: ResponseBase, method: str | None
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Status code, headers and body of a response with a plain buffered body, or ``None``.

    Both doors send such a response without Werkzeug's general path, which
    copies the headers and re-checks the body to fix up ``Location``,
    ``Content-Length`` and bodiless statuses. A body set with ``set_data`` (a
    list holding one ``bytes``, its length already in ``Content-Length``)
    with a status that has a body (not 1xx, 204 or 304), for a request other
    than ``HEAD`` (``method`` is the environ's ``REQUEST_METHOD``), needs none
    of that: the result is the same. So does a single ``Location`` (or
    ``Content-Location``) that ``iri_to_uri`` leaves as it is, when the
    location is not made absolute: a redirect to a plain URL. The headers
    are the response's own list (see :func:`header_pairs`), to read only. The
    status line, which only WSGI sends, is ``response.status``.
    """
    body = response.response
    code = response.status_code
    if (
        type(body) is not list
        or len(body) != 1
        or type(body[0]) is not bytes
        or code < 200
        or code == 204
        or code == 304
        or response.direct_passthrough
        or method == "HEAD"
        # ``overrides(response, ResponseBase, "get_wsgi_response")``, inlined:
        # this runs for every response.
        or type(response).get_wsgi_response is not base_get_wsgi_response
        or "get_wsgi_response" in response.__dict__
    ):
        return None
    # One pass over the headers (``in`` on Headers raises and catches a
    # KeyError per miss).
    header_list = header_pairs(response.headers)
    has_length = False
    locations: list[str] | None = None
    for name, value in header_list:
        lower = name.lower()
        if lower == "content-length":
            has_length = True
        elif lower == "location" or lower == "content-location":
            # Werkzeug rewrites these (keeping one of each name), and may
            # make ``Location`` absolute: only a plain one is sent as is.
            if locations is None:
                locations = []
            if (
                lower in locations
                or not _sent_as_is(value)
                or (lower == "location" and response.autocorrect_location_header)
            ):
                return None
            locations.append(lower)
    if not has_length:
        return None
    return code, header_list, body[0]


#: URI -> whether ``iri_to_uri`` returns it unchanged, for those seen so far.
#: Redirect targets are mostly a few URLs from code; those taken from
#: requests (``?next=``) are checked afresh once the table is full.
_plain_uris: dict[str, bool] = {}
_MAX_PLAIN_URIS = 512


def _sent_as_is(uri: str) -> bool:
    known = _plain_uris.get(uri)
    if known is None:
        known = iri_to_uri(uri) == uri
        if len(_plain_uris) < _MAX_PLAIN_URIS:
            _plain_uris[uri] = known
    return known


def needs_close(response: ResponseBase) -> bool:
    """Whether closing ``response`` after sending a buffered body would do anything."""
    return has_close_callbacks(response) or type(response).close not in _PLAIN_CLOSES


def wsgi_parts(
    response: ResponseBase, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], t.Iterable[bytes]]:
    """What ``response(environ, start_response)`` sends: status line, headers, body iterable."""
    if overrides(response, ResponseBase, "__call__"):
        # A class that sends itself its own way: ask it.
        sent: list[t.Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> None:
            sent[:] = [status, headers]

        app_iter = response(environ, start_response)  # type: ignore[arg-type]
        return sent[0], sent[1], app_iter
    app_iter, status, headers = response.get_wsgi_response(environ)
    return status, headers, app_iter


_R = t.TypeVar("_R", bound=ResponseBase)

#: Per (response class, mimetype, its default mimetype): the ``Content-Type``
#: that :func:`buffered_response` writes itself, or ``None`` when that class
#: must be built through its constructor.
_direct_content_types: dict[tuple[type[ResponseBase], str | None, str | None], str | None] = {}


def _direct_content_type(cls: type[ResponseBase], mimetype: str | None) -> str | None:
    """The Content-Type for building ``cls`` directly, if that gives what its constructor gives.

    Decided once per class and mimetype, by building a probe response both
    ways and comparing every attribute: a subclass that changes the
    constructor, the status handling or the body encoding, or a Werkzeug
    whose ``Response`` keeps other state, falls back to the constructor.
    """
    if (
        overrides(cls, ResponseBase, "__init__", "set_data", "_clean_status")
        or not cls.automatically_set_content_length
        or cls.default_status != 200
    ):
        return None
    if mimetype is None:
        mimetype = cls.default_mimetype
    if mimetype is None:
        return None
    content_type = get_content_type(mimetype, "utf-8")
    try:
        expected = cls(b"probe", mimetype=mimetype)
        built = assemble_response(cls, b"probe", content_type)
    except Exception:
        return None
    mine, theirs = vars(built), vars(expected)
    if mine.keys() != theirs.keys() or type(expected.headers) is not Headers:
        return None
    for name, value in theirs.items():
        if name == "headers":
            if value.to_wsgi_list() != built.headers.to_wsgi_list():
                return None
        elif mine[name] != value or type(mine[name]) is not type(value):
            return None
    return content_type


def buffered_response(
    cls: type[_R],
    data: str | bytes,
    mimetype: str | None = None,
    status: int | None = None,
    headers: Headers | t.Mapping[str, t.Any] | t.Iterable[tuple[str, t.Any]] | None = None,
) -> _R:
    """``cls(data, status, headers, mimetype=mimetype)`` for a response with a buffered body.

    The constructor's general path (header parsing, status cleaning, the
    content-type lookup) is most of the cost of a small response; for the
    classes where it is provably equivalent the response is assembled
    directly instead. ``status`` ``None`` is the class's default status.
    """
    key = (cls, mimetype, cls.default_mimetype)
    try:
        content_type = _direct_content_types[key]
    except KeyError:
        content_type = _direct_content_types[key] = _direct_content_type(cls, mimetype)
    data_type = type(data)
    if (
        content_type is None
        or (data_type is not str and data_type is not bytes)
        # A given mimetype overrides a Content-Type among the headers.
        or (headers and mimetype is not None)
    ):
        # A bytearray body stays a bytearray in Werkzeug's response.
        return cls(data, status, headers, mimetype=mimetype)
    if data_type is str:
        data = data.encode()  # type: ignore[union-attr]
    own_headers = None
    if headers:
        # As the constructor takes them: a Headers object as is, else a copy.
        own_headers = headers if isinstance(headers, Headers) else Headers(headers)
    # (A class assembled directly has 200 as its default status.)
    return assemble_response(cls, data, content_type, status or 200, own_headers)  # type: ignore[arg-type]


def redirect_response(cls: type[_R], location: str, code: int = 302) -> _R:
    """``werkzeug.utils.redirect(location, code, cls)``, with the page made by
    :func:`buffered_response` (equivalent, for less)."""

    def make(body: str, status: int, mimetype: str) -> _R:
        return buffered_response(cls, body, mimetype, status)

    return t.cast(_R, _wz_redirect(location, code, t.cast(t.Any, make)))


#: Per (HTTPException class, code, description): its default error page, encoded once, or
#: ``None`` for a class that makes its page another way.
_default_error_pages: dict[tuple[type[HTTPException], int, str | None], bytes | None] = {}

#: What an HTTPException subclass may override to change its page.
_PAGE_MAKERS = ("get_response", "get_body", "get_headers", "get_description", "name")


def error_response(cls: type[_R], exc: HTTPException, environ: WSGIEnvironment) -> _R:
    """``exc``'s error page as a ``cls``: what ``cls.force_type(exc.get_response(environ))`` gives.

    Most error pages are an unchanged Werkzeug exception (a 404 for an unknown
    URL): its HTML never varies, so it is rendered once per class and code.
    An exception with its own description or response, or a class that makes
    its page another way, is asked for it as usual.
    """
    exc_type = type(exc)
    body = None
    code = exc.code
    if code is not None and exc.response is None and exc.description is exc_type.description:
        key = (exc_type, code, exc.description)
        try:
            body = _default_error_pages[key]
        except KeyError:
            renders_default = all(
                getattr(exc_type, name) is getattr(HTTPException, name) for name in _PAGE_MAKERS
            )
            body = exc.get_body().encode() if renders_default else None
            _default_error_pages[key] = body
    if body is None or code is None:
        return cls.force_type(exc.get_response(environ))  # type: ignore[return-value]
    page = buffered_response(ResponseBase, body, "text/html", code)
    return cls.force_type(page)  # type: ignore[return-value]
