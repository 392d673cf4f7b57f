"""The app's URL map, with a registration-time index of its static rules.

Most requests hit rules without converters (``/``, ``/login``, ``/api/items``).
For those, Werkzeug's full path (bind the map to the environ, then run the
matcher) is mostly overhead: the answer is a dictionary lookup. The index is
built once after rules change and answers only where the result is certain to
be Werkzeug's own; everything else (converters, defaults, redirects, host or
subdomain rules, 405s, non-ASCII paths) goes through Werkzeug unchanged.

Binding the map to a request (``bind_to_environ``) is the other fixed cost:
it re-derives the host, scheme and script name from the environ on every
request, though they are the same for nearly all of an app's requests. The
map keeps the adapters it bound for the last few such settings and copies
one, filling in only what is per request (path, method, query string).
"""

from __future__ import annotations

import typing as t

from werkzeug.routing import Map, MapAdapter, Rule, RuleFactory

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: The environ keys that ``bind_to_environ`` reads besides the per-request
#: ``PATH_INFO``, ``REQUEST_METHOD`` and ``QUERY_STRING``.
_BINDING_KEYS = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "SCRIPT_NAME",
    "HTTP_CONNECTION",
    "HTTP_UPGRADE",
)

#: Distinct bindings kept per map. The Host header is the client's to choose,
#: so the cache must not grow with it; past this, requests bind as usual.
_MAX_BINDINGS = 32


def _wsgi_str(value: str | None) -> str | None:
    # What a WSGI server's latin-1 environ string holds, as text (PEP 3333).
    return None if value is None else value.encode("latin1").decode(errors="replace")


class IndexedMap(Map):
    """A :class:`~werkzeug.routing.Map` that can match static rules by dictionary lookup."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._static_index: dict[str, tuple[Rule, ...]] | None = None
        #: Per host/scheme/script-name settings and subdomain: an adapter
        #: bound by ``bind_to_environ`` for them, the template for copies.
        self._bindings: dict[tuple[str | None, ...], MapAdapter] = {}

    def add(self, rulefactory: RuleFactory) -> None:
        """Add a rule (or rule factory), invalidating the static index."""
        super().add(rulefactory)
        self._static_index = None

    def _build_static_index(self) -> dict[str, tuple[Rule, ...]]:
        rules = list(self.iter_rules())
        # An endpoint with a rule carrying defaults may redirect between its
        # rules (``redirect_defaults``); leave all of its rules to Werkzeug.
        endpoints_with_defaults = {rule.endpoint for rule in rules if rule.defaults}
        index: dict[str, list[Rule]] = {}
        for rule in rules:
            if (
                rule.arguments
                or rule.endpoint in endpoints_with_defaults
                or rule.redirect_to is not None
                or rule.alias
                or rule.build_only
                or rule.websocket
                or rule.host
                or rule.subdomain
                # merge_slashes would redirect such a path; keep Werkzeug's answer.
                or "//" in rule.rule
            ):
                continue
            index.setdefault(rule.rule, []).append(rule)
        return {path: tuple(found) for path, found in index.items()}

    def match_static(self, path: str, method: str) -> Rule | None:
        """The static rule that Werkzeug would match for ``path`` and ``method``, if certain.

        ``None`` means "ask Werkzeug": no static rule has this exact path, or
        none allows the method (another rule may, or it is a 405).
        """
        index = self._static_index
        if index is None:
            if self.host_matching:
                return None
            index = self._static_index = self._build_static_index()
        candidates = index.get(path)
        if candidates is None:
            return None
        for rule in candidates:
            if rule.methods is None or method in rule.methods:
                return rule
        return None

    def bind_request(self, environ: WSGIEnvironment, subdomain: str | None) -> MapAdapter:
        """``bind_to_environ(environ, subdomain=subdomain)``, reusing earlier bindings.

        For use without a server name hint and without host matching (where
        Werkzeug derives nothing else from the environ); the result equals a
        fresh binding, attribute for attribute.
        """
        key = (subdomain, *map(environ.get, _BINDING_KEYS))
        template = self._bindings.get(key)
        if template is None:
            adapter = self.bind_to_environ(environ, subdomain=subdomain)
            if len(self._bindings) < _MAX_BINDINGS:
                self._bindings[key] = adapter
            return adapter
        adapter = MapAdapter.__new__(MapAdapter)
        adapter.__dict__.update(template.__dict__)
        path_info = _wsgi_str(environ.get("PATH_INFO"))
        adapter.path_info = "/" if path_info is None else path_info
        adapter.default_method = environ["REQUEST_METHOD"]
        adapter.query_args = _wsgi_str(environ.get("QUERY_STRING"))
        return adapter
