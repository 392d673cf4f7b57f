"""Where demijohn's per-request time goes, by library: a profile of each scenario.

Run: ``.venv/bin/python bench/breakdown.py [SCENARIO ...]`` (demijohn only, in
the project venv). Each scenario's requests run under :mod:`cProfile` exactly
as the in-process benchmark sends them (``worker.Prepared``: every response is
checked), and the profile's own time per function is summed by the code that
owns it: demijohn itself, Werkzeug's router, form parser or other parts,
Jinja2 and MarkupSafe, ItsDangerous, asyncio, the view in the benchmark app,
and the interpreter's built-ins. Profiling inflates every call alike, so the
shares are what to read, not the absolute times.

``run.py --write`` puts the table in ``RESULTS.md``, where it explains the
targets that demijohn does not reach: the time that remains is in the
libraries it builds on, not in its own code.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import typing as t
from pathlib import Path

from scenarios import BY_NAME, SCENARIOS
from worker import Prepared, load_app

APP = Path(__file__).resolve().parent / "apps" / "demijohn_app.py"

#: Owners, most specific first: (label, path fragments that identify its files).
#: Paths use "/" (a fragment is matched against the profiled file's path).
OWNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("demijohn", ("/demijohn/",)),
    ("the view (benchmark app)", ("/bench/apps/",)),
    ("Werkzeug: URL matching", ("/werkzeug/routing/",)),
    ("Werkzeug + urllib: form parsing", ("/werkzeug/formparser.py", "/urllib/parse.py")),
    ("Werkzeug: request, response, headers", ("/werkzeug/",)),
    ("Jinja2 + MarkupSafe", ("/jinja2/", "/markupsafe/")),
    ("ItsDangerous + hmac/hashlib", ("/itsdangerous/", "/hmac.py", "/hashlib.py")),
    ("asyncio", ("/asyncio/", "/selectors.py")),
)
BUILTINS = "built-ins (str, dict, regex, ...)"
OTHER = "other standard library"


def owner(filename: str) -> str:
    """The owner label of a profiled function's file (``~`` is cProfile's built-ins)."""
    if filename == "~":
        return BUILTINS
    path = filename.replace("\\", "/")
    for label, fragments in OWNERS:
        if any(fragment in path for fragment in fragments):
            return label
    return OTHER


#: The profiler's own last entry, not part of any request.
_PROFILER_OFF = "<method 'disable' of '_lsprof.Profiler' objects>"

#: The key under which :func:`shares` reports demijohn's largest single function.
LARGEST_OWN = "largest demijohn function"


def shares(scenario: str, requests: int = 3000) -> dict[str, float]:
    """Each owner's share (0..1) of the profiled time of ``requests`` requests.

    Also :data:`LARGEST_OWN`: the share of demijohn's most expensive function,
    which tells whether its own time is one hot spot or spread thin.
    """
    app, unsupported = load_app(APP)
    if scenario in unsupported:
        raise ValueError(f"demijohn's benchmark app does not serve {scenario!r}")
    prepared = Prepared(app, BY_NAME[scenario])
    prepared.run(50)  # warm caches (templates, serializers, bindings)
    profiler = cProfile.Profile()
    profiler.runcall(prepared.run, requests)
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    largest_own = 0.0
    # stats.stats: (file, line, name) -> (calls, primitive calls, own time, cumulative, callers)
    raw = t.cast(dict[tuple[str, int, str], tuple[t.Any, ...]], stats.stats)  # type: ignore[attr-defined]
    for (filename, _line, name), (_calls, _primitive, own, _cumulative, _callers) in raw.items():
        if (
            filename.endswith("/worker.py")
            or name == "<method 'disable' of '_lsprof.Profiler' objects>"
        ):
            continue  # the harness's own loop
        label = owner(filename)
        totals[label] = totals.get(label, 0.0) + own
        if label == "demijohn":
            largest_own = max(largest_own, own)
    whole = sum(totals.values()) or 1.0
    found = {label: value / whole for label, value in totals.items()}
    found[LARGEST_OWN] = largest_own / whole
    return found


def columns(found: dict[str, dict[str, float]]) -> list[str]:
    """The owner labels present in ``found``, in :data:`OWNERS` order, then the rest."""
    order = [label for label, _ in OWNERS] + [BUILTINS, OTHER, LARGEST_OWN]
    present = {label for result in found.values() for label in result}
    return [label for label in order if label in present]


def table(found: dict[str, dict[str, float]]) -> str:
    """A Markdown table: one row per scenario, one column per owner, percentages."""
    labels = columns(found)
    lines = [
        "| Scenario | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name, result in found.items():
        cells = [f"{result[label] * 100:.0f}%" if label in result else "" for label in labels]
        lines.append(f"| {BY_NAME[name].title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(names: t.Sequence[str] = (), requests: int = 3000) -> dict[str, dict[str, float]]:
    """Profile ``names`` (default: the WSGI scenarios demijohn's app serves); print the table."""
    app_unsupported = load_app(APP)[1]
    chosen = list(names) or [s.name for s in SCENARIOS if s.name not in app_unsupported]
    found = {name: shares(name, requests) for name in chosen}
    print(table(found))
    return found


if __name__ == "__main__":
    main(sys.argv[1:])
