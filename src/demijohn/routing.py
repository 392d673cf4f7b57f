"""The app's URL map, with a registration-time index of its static rules.

Most requests hit rules without converters (``/``, ``/login``, ``/api/items``).
For those, Werkzeug's full path (bind the map to the environ, then run the
matcher) is mostly overhead: the answer is a dictionary lookup. The index is
built once after rules change and answers only where the result is certain to
be Werkzeug's own; everything else (converters, defaults, redirects, host or
subdomain rules, 405s, non-ASCII paths) goes through Werkzeug unchanged.
"""

from __future__ import annotations

import typing as t

from werkzeug.routing import Map, Rule, RuleFactory


class IndexedMap(Map):
    """A :class:`~werkzeug.routing.Map` that can match static rules by dictionary lookup."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._static_index: dict[str, tuple[Rule, ...]] | None = None

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
