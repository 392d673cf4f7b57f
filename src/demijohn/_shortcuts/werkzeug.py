"""Werkzeug internals behind demijohn's fast paths (see :mod:`demijohn._shortcuts`)."""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.routing import MapAdapter
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.wrappers import Response as ResponseBase

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.wrappers import Request as RequestBase

_R = t.TypeVar("_R", bound=ResponseBase)
_V = t.TypeVar("_V")


def assemble_response(
    cls: type[_R],
    data: bytes,
    content_type: str,
    status: int = 200,
    headers: Headers | None = None,
) -> _R:
    """A ``cls`` with a buffered body, set attribute by attribute.

    **Reproduces** ``cls(data, status, headers=headers)`` for a class whose
    constructor, ``set_data`` and status handling are Werkzeug's own and
    whose default content type is ``content_type`` (the caller checks, and
    compares one probe response built both ways before using this for a
    class). Werkzeug's constructor parses the headers, cleans the status and
    looks up the charset: most of the cost of a small response. ``headers``
    is used as the constructor uses a :class:`Headers` it is given: as is,
    with ``Content-Type`` added unless present and ``Content-Length`` set.

    **Proof**: ``tests/test_fast_paths.py::test_buffered_response_equals_the_constructor``
    and ``test_buffered_response_with_headers_equals_the_constructor``.
    **Checked**: Werkzeug 3.1.3 to 3.1.8.
    """
    response = cls.__new__(cls)
    if headers is None:
        # ``Headers()`` holds nothing but its list.
        headers = Headers.__new__(Headers)
        headers._list = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    else:
        if "Content-Type" not in headers:
            headers["Content-Type"] = content_type
        headers["Content-Length"] = str(len(data))
    response.headers = headers
    if status == 200:
        response._status = "200 OK"
        response._status_code = 200
    else:
        # Werkzeug's own spelling of the status line.
        response._status, response._status_code = ResponseBase._clean_status(response, status)
    response.direct_passthrough = False
    response._on_close = []
    response.response = [data]
    return response


_init_sansio_request = SansIORequest.__init__


def _wsgi_text(value: str) -> str:
    # A WSGI string is bytes decoded as latin-1; an ASCII one is its own text.
    return value if value.isascii() else value.encode("latin-1").decode(errors="replace")


def init_request(
    request: RequestBase,
    environ: WSGIEnvironment,
    populate_request: bool = True,
    shallow: bool = False,
) -> None:
    """Set up ``request`` for ``environ``, as Werkzeug's ``Request.__init__`` does.

    **Reproduces** ``werkzeug.wrappers.Request.__init__``: the sans-IO
    request's attributes read from the environ (the server address with its
    port as an ``int``, the script name and path decoded from WSGI's
    latin-1 strings as UTF-8), then ``environ``, ``shallow`` and the
    environ's back reference. For less: an ASCII path needs no decoding (it
    is most of them), and the arguments are passed by position.

    **Proof**: ``tests/test_fast_paths.py::test_request_init_equals_werkzeugs``.
    **Checked**: Werkzeug 3.1.8 to 3.1.9.
    """
    get = environ.get
    name = get("SERVER_NAME")
    server: tuple[str, int | None] | None = None
    if name is not None:
        try:
            server = (name, int(get("SERVER_PORT")))  # type: ignore[arg-type]
        except (TypeError, ValueError):  # a Unix socket
            server = (name, None)
    _init_sansio_request(
        request,
        get("REQUEST_METHOD", "GET"),
        get("wsgi.url_scheme", "http"),
        server,
        _wsgi_text(get("SCRIPT_NAME") or ""),
        _wsgi_text(get("PATH_INFO") or ""),
        get("QUERY_STRING", "").encode("latin-1"),
        EnvironHeaders(environ),
        get("REMOTE_ADDR"),
    )
    request.environ = environ
    request.shallow = shallow
    if populate_request and not shallow:
        environ["werkzeug.request"] = request


def init_request_from_scope(
    request: RequestBase,
    scope: t.MutableMapping[str, t.Any],
    headers: dict[bytes, bytes],
    server: tuple[str, int | None],
) -> None:
    """Set up ``request`` for an ASGI HTTP scope without a body, leaving ``environ`` unmade.

    **Reproduces** :func:`init_request` for the scope's WSGI environ (as
    ``demijohn.asgi.make_environ`` makes it, plus an empty input), for a
    scope with an ASCII path and no root path: the sans-IO attributes as
    Werkzeug derives them from that environ, read off the scope instead.
    ``server`` is the pair Werkzeug reads from the environ's ``SERVER_NAME``
    and ``SERVER_PORT``; ``headers`` the scope's headers by name. The
    request's own ``environ`` and ``headers`` are made when first read
    (``demijohn.wrappers.Request``), so a request that never reads them
    costs neither the environ nor the headers object.

    **Proof**: ``tests/test_fast_paths.py::test_request_from_scope_equals_werkzeugs``.
    **Checked**: Werkzeug 3.1.8 to 3.1.9.
    """
    # Werkzeug uppercases the method; the door admits only ``GET`` and ``HEAD``.
    request.method = scope["method"]
    request.scheme = scope.get("scheme", "http")
    request.server = server
    request.root_path = ""
    path: str = scope["path"]
    # Werkzeug's ``"/" + path.lstrip("/")``, which leaves most paths as they are.
    request.path = path if path[:1] == "/" and path[1:2] != "/" else "/" + path.lstrip("/")
    request.query_string = scope["query_string"]
    client = scope.get("client")
    request.remote_addr = client[0] if client else None
    request.shallow = False
    request._asgi_scope = scope  # type: ignore[attr-defined]
    request._asgi_headers = headers  # type: ignore[attr-defined]


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of ``headers.to_wsgi_list()``, to read, not to change.

    **Reproduces** ``to_wsgi_list`` of a plain :class:`Headers`, which is
    ``list(headers)``: three Python calls (``to_wsgi_list``, ``__len__``,
    ``__iter__``) to copy the list it keeps. Here that list itself is
    returned: a caller handing the pairs on (to a WSGI server, which may add
    to them) copies them first. A subclass is asked as usual.

    **Proof**: ``tests/test_fast_paths.py::test_header_pairs_equal_the_wsgi_list``.
    **Checked**: Werkzeug 3.1.3 to 3.1.9.
    """
    if type(headers) is Headers:
        return headers._list
    return headers.to_wsgi_list()


def has_close_callbacks(response: ResponseBase) -> bool:
    """Whether ``call_on_close`` registered anything on ``response``.

    **Reproduces** what calling ``response.close()`` would reveal (whether
    it runs callbacks), without calling it: a door skips the hop that
    closing a buffered response would cost when there is nothing to run.

    **Proof**: ``tests/test_fast_paths.py::test_close_callbacks_are_seen``.
    **Checked**: Werkzeug 3.1.3 to 3.1.8.
    """
    return bool(response._on_close)


class ParsedForm(t.Generic[_V]):
    """``Request.form`` and ``Request.files``: parsed on the first read, then plain attributes.

    **Reproduces** Werkzeug's ``form`` and ``files`` properties, which are
    ``cached_property`` data descriptors (so every ``request.form[...]``
    still runs a ``__get__``). Werkzeug's ``_load_form_data`` stores both
    results in the instance dict; this descriptor has no ``__set__``, so
    from then on a read is a plain attribute lookup. Assigning or deleting
    the attribute works on the instance dict, as before.

    **Proof**: ``tests/test_fast_paths.py::test_form_is_parsed_once_then_a_plain_attribute``
    and the form parsing tests beside it.
    **Checked**: Werkzeug 3.1.3 to 3.1.8.
    """

    def __init__(self, doc: str | None) -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @t.overload
    def __get__(self, request: None, owner: type | None = None) -> ParsedForm[_V]: ...
    @t.overload
    def __get__(self, request: RequestBase, owner: type | None = None) -> _V: ...
    def __get__(self, request: RequestBase | None, owner: type | None = None) -> t.Any:
        if request is None:
            return self
        request._load_form_data()
        try:
            return request.__dict__[self._name]
        except KeyError:
            # Only when ``form`` was assigned before anything was parsed.
            raise AttributeError(f"the request has no parsed {self._name!r}") from None


def rebind_adapter(
    template: MapAdapter, path_info: str, method: str, query_args: str | None
) -> MapAdapter:
    """A copy of ``template`` (a bound map) for another path, method and query string.

    **Reproduces** ``url_map.bind_to_environ(environ)`` for a request whose
    binding keys (subdomain, host, scheme, script name) equal the
    template's: a fresh binding equals the copy attribute for attribute.

    **Proof**: ``tests/test_fast_paths.py::test_reused_bindings_equal_fresh_ones``.
    **Checked**: Werkzeug 3.1.3 to 3.1.8.
    """
    adapter = MapAdapter.__new__(MapAdapter)
    adapter.__dict__.update(template.__dict__)
    adapter.path_info = path_info
    adapter.default_method = method
    adapter.query_args = query_args
    return adapter
