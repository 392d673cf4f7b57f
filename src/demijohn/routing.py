"""The app's URL map, with registration-time indexes of its rules.

Most requests hit rules without converters (``/``, ``/login``, ``/api/items``).
For those, Werkzeug's full path (bind the map to the environ, then run the
matcher) is mostly overhead: the answer is a dictionary lookup. The index is
built once after rules change and answers only where the result is certain to
be Werkzeug's own; everything else (converters, defaults, redirects, host or
subdomain rules, 405s, non-ASCII paths) goes through Werkzeug unchanged.

Dynamic rules get a second index for the plain maps most apps have (built-in
converters, no defaults, redirects, aliases, hosts, subdomains, websockets or
non-strict slashes anywhere in the map): each rule as one regular expression
over the whole path, bucketed by its first segment. It answers only when
exactly one rule of the map matches the path, no strict-slash rule would
match it with a slash added (Werkzeug redirects first in that case), and the
method is allowed. Only one rule can then be Werkzeug's answer, whatever order
its matcher tries them in. When no rule matches and none would redirect, the
answer is Werkzeug's 404. Everything else goes to Werkzeug.

Binding the map to a request (``bind_to_environ``) is the other fixed cost:
it re-derives the host, scheme and script name from the environ on every
request, though they are the same for nearly all of an app's requests. The
map keeps the adapters it bound for the last few such settings and copies
one, filling in only what is per request (path, method, query string).
"""

from __future__ import annotations

import re
import typing as t

from werkzeug.exceptions import NotFound
from werkzeug.routing import (
    AnyConverter,
    BaseConverter,
    FloatConverter,
    IntegerConverter,
    Map,
    MapAdapter,
    PathConverter,
    Rule,
    RuleFactory,
    UnicodeConverter,
    UUIDConverter,
    ValidationError,
    parse_converter_args,
)

from ._shortcuts.werkzeug import rebind_adapter

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


#: ``<converter(arguments):name>`` or ``<name>`` in a rule string.
_PLACEHOLDER = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
    r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>"
)

#: Werkzeug's converters whose pattern never matches a ``/`` (and whose
#: ``to_python`` is a pure function of the text); ``path`` is handled apart.
_SEGMENT_CONVERTERS = (UnicodeConverter, IntegerConverter, FloatConverter, UUIDConverter)


#: How one converted argument is read off a match: its name, its group in the
#: rule's pattern, and the converter's ``to_python`` (``None`` for one that
#: returns the text as it is, as ``BaseConverter``'s does).
_Argument = tuple[str, str, t.Callable[[str], t.Any] | None]


class _DynamicRule(t.NamedTuple):
    rule: Rule
    #: The whole path; converter ``i`` is the group ``g<i>``.
    pattern: re.Pattern[str]
    converters: tuple[_Argument, ...]
    #: Whether the rule ends in ``/`` with strict slashes (redirects ``path`` to ``path/``).
    redirects_without_slash: bool


def _compile_rule(url_map: Map, rule: Rule) -> _DynamicRule | None:
    """``rule`` as one whole-path pattern, or ``None`` if it needs Werkzeug's matcher."""
    pattern: list[str] = []
    converters: list[_Argument] = []
    position = 0
    text = rule.rule
    for placeholder in _PLACEHOLDER.finditer(text):
        static = text[position : placeholder.start()]
        if "<" in static or ">" in static:
            return None  # a placeholder this parser does not read: not ours to judge
        pattern.append(re.escape(static))
        name = placeholder["converter"] or "default"
        args, kwargs = parse_converter_args(placeholder["arguments"] or "")
        converter = url_map.converters[name](url_map, *args, **kwargs)
        kind = type(converter)
        if kind is PathConverter:
            if placeholder.end() != len(text):
                return None  # Werkzeug treats what follows a path specially
        elif kind is AnyConverter:
            if "/" in converter.regex:
                return None
        elif kind not in _SEGMENT_CONVERTERS:
            return None
        if re.fullmatch(converter.regex, ""):
            return None  # an empty segment takes Werkzeug's trailing-slash paths
        group = f"g{len(converters)}"
        pattern.append(f"(?P<{group}>{converter.regex})")
        plain = type(converter).to_python is BaseConverter.to_python
        converters.append((placeholder["name"], group, None if plain else converter.to_python))
        position = placeholder.end()
    rest = text[position:]
    if "<" in rest or ">" in rest:
        return None
    pattern.append(re.escape(rest))
    return _DynamicRule(
        rule,
        re.compile("".join(pattern)),
        tuple(converters),
        text.endswith("/") and bool(rule.strict_slashes),
    )


def _matched_specially(rule: Rule) -> bool:
    """Whether Werkzeug's matcher does more for ``rule`` than compare the path.

    Redirects, aliases, build-only and websocket rules, host and subdomain
    rules, and ``//`` in the rule (merge_slashes redirects such paths).
    """
    return bool(
        rule.redirect_to is not None
        or rule.alias
        or rule.build_only
        or rule.websocket
        or rule.host
        or rule.subdomain
        or "//" in rule.rule
    )


def _first_segment(path: str) -> str:
    return path[1:].partition("/")[0]


class _DynamicIndex:
    """Every rule of a plain map as a whole-path pattern, bucketed by first segment."""

    def __init__(self, by_segment: dict[str, list[_DynamicRule]], anywhere: list[_DynamicRule]):
        #: Rules whose first segment is static text, by that text.
        self.by_segment = {segment: tuple(found) for segment, found in by_segment.items()}
        #: Rules whose first segment holds a converter: candidates for every path.
        self.anywhere = tuple(anywhere)

    @classmethod
    def build(cls, url_map: Map, rules: list[Rule]) -> _DynamicIndex | None:
        """The index, or ``None`` when some rule needs Werkzeug's full matching."""
        if url_map.host_matching or url_map.default_subdomain:
            return None
        by_segment: dict[str, list[_DynamicRule]] = {}
        anywhere: list[_DynamicRule] = []
        for rule in rules:
            if (
                _matched_specially(rule)
                or rule.defaults
                or not rule.strict_slashes
                or not rule.rule.startswith("/")
            ):
                return None
            compiled = _compile_rule(url_map, rule)
            if compiled is None:
                return None
            first = _first_segment(rule.rule)
            if "<" in first:
                anywhere.append(compiled)
            else:
                by_segment.setdefault(first, []).append(compiled)
        return cls(by_segment, anywhere)

    def match(self, path: str, method: str) -> tuple[Rule, dict[str, t.Any]] | None:
        """The rule and converted arguments Werkzeug would match, if certain; else ``None``.

        :raises NotFound: when certainly no rule matches ``path``.
        """
        if "//" in path or not path.startswith("/"):
            return None  # merged slashes and the empty path redirect in Werkzeug
        found: tuple[_DynamicRule, re.Match[str]] | None = None
        first = path[1:].partition("/")[0]  # ``_first_segment``, inlined: every request
        for candidates in (self.by_segment.get(first, ()), self.anywhere):
            for candidate in candidates:
                if candidate.redirects_without_slash and candidate.pattern.fullmatch(path + "/"):
                    return None
                matched = candidate.pattern.fullmatch(path)
                if matched is not None:
                    if found is not None:
                        return None  # two rules match: their order decides, ask Werkzeug
                    found = (candidate, matched)
        if found is None:
            # No rule of the map matches, none redirects: Werkzeug's answer is a 404.
            raise NotFound()
        candidate, matched = found
        methods = candidate.rule.methods
        if methods is not None and method not in methods:
            return None
        values: dict[str, t.Any] = {}
        for name, group, to_python in candidate.converters:
            if to_python is None:
                values[name] = matched[group]
                continue
            try:
                values[name] = to_python(matched[group])
            except ValidationError:
                return None
        return candidate.rule, values


def _static_index(rules: list[Rule]) -> dict[str, tuple[Rule, ...]]:
    """The rules without converters that Werkzeug would match by their exact path."""
    # An endpoint with a rule carrying defaults may redirect between its
    # rules (``redirect_defaults``); leave all of its rules to Werkzeug.
    endpoints_with_defaults = {rule.endpoint for rule in rules if rule.defaults}
    index: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.arguments or rule.endpoint in endpoints_with_defaults or _matched_specially(rule):
            continue
        index.setdefault(rule.rule, []).append(rule)
    return {path: tuple(found) for path, found in index.items()}


class _RuleIndex(t.NamedTuple):
    #: Exact paths of static rules -> those rules, in map order.
    static: dict[str, tuple[Rule, ...]]
    #: ``None`` for a map with a rule only Werkzeug's matcher can judge.
    dynamic: _DynamicIndex | None


class IndexedMap(Map):
    """A :class:`~werkzeug.routing.Map` that matches most requests from indexes."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: Built on the first match after the rules change.
        self._index: _RuleIndex | None = None
        #: Per (subdomain, host/scheme/script-name settings): an adapter bound
        #: by Werkzeug for them, the template for copies.
        self._bindings: dict[tuple[str | None, ...], MapAdapter] = {}

    def add(self, rulefactory: RuleFactory) -> None:
        """Add a rule (or rule factory), invalidating the indexes."""
        super().add(rulefactory)
        self._index = None

    def match_environ(self, environ: WSGIEnvironment) -> tuple[Rule, dict[str, t.Any]] | None:
        """The rule and arguments Werkzeug would match for the request, if certain.

        ``None`` means "ask Werkzeug" (see the module docstring for when); so
        do websocket upgrades and paths that are not ASCII.

        :raises NotFound: as Werkzeug would, when certainly no rule matches.
        """
        if "HTTP_UPGRADE" in environ:
            return None
        return self.match_path(environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"])

    def match_path(self, path: str | None, method: str) -> tuple[Rule, dict[str, t.Any]] | None:
        """:meth:`match_environ` by the request's WSGI path and method (``None``: an upgrade)."""
        if path is None or self.host_matching or not path.isascii():
            return None
        index = self._index
        if index is None:
            rules = list(self.iter_rules())
            index = self._index = _RuleIndex(_static_index(rules), _DynamicIndex.build(self, rules))
        for rule in index.static.get(path, ()):
            if rule.methods is None or method in rule.methods:
                return rule, {}
        if index.dynamic is None:
            return None
        return index.dynamic.match(path, method)

    def bind_to_environ(
        self,
        environ: WSGIEnvironment | t.Any,
        server_name: str | None = None,
        subdomain: str | None = None,
    ) -> MapAdapter:
        """Werkzeug's ``bind_to_environ``, reusing earlier bindings where it can.

        Without a server name hint or host matching, the binding depends only
        on the subdomain and a few environ keys; for settings seen before, a
        copy of that binding gets this request's path, method and query
        string. The result equals a fresh binding, attribute for attribute.
        """
        env: WSGIEnvironment = getattr(environ, "environ", environ)
        if server_name is not None or self.host_matching:
            return super().bind_to_environ(env, server_name, subdomain)
        key = (subdomain, *map(env.get, _BINDING_KEYS))
        template = self._bindings.get(key)
        if template is None:
            adapter = super().bind_to_environ(env, subdomain=subdomain)
            if len(self._bindings) < _MAX_BINDINGS:
                self._bindings[key] = adapter
            return adapter
        path_info = _wsgi_str(env.get("PATH_INFO"))
        return rebind_adapter(
            template,
            "/" if path_info is None else path_info,
            env["REQUEST_METHOD"],
            _wsgi_str(env.get("QUERY_STRING")),
        )
