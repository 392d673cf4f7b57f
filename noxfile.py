"""The dependency matrix: the suite against the oldest and newest allowed versions.

demijohn's fast paths read private parts of Werkzeug (``Headers._list``,
``MapAdapter.__new__`` plus ``__dict__``, ``Response._clean_status``), lean
on how Jinja2, Click and ItsDangerous call their own hooks, and so the runtime
dependencies in ``pyproject.toml`` are bounded to the releases tested here.
Each session makes its own virtualenv under ``.nox/``, installs the project
and its test dependencies (less :data:`SKIPPED_DEV_DEPENDENCIES`) with one
library pinned at the bottom or the top of its declared range (the others at
the newest their range allows), prints the versions it got, checks them
against the bounds, and runs pytest::

    scripts/matrix                          # every session (or .venv/bin/nox)
    scripts/matrix -l                       # list them
    scripts/matrix -s "tests(click-oldest)" -- -x -k cli   # one, with pytest args

The bounds are read from ``pyproject.toml``: the oldest version is the ``>=``
bound itself, the newest is the highest release below the upper bound that the
package index offers (asked with ``pip index versions``). ``all-oldest`` pins
every runtime dependency at its lower bound at once, as a user with old
libraries would have.

The sessions run the suite less :data:`SLOW_MODULES` (real browsers, nginx,
the cluster, process-level servers and the load soak): those exercise servers
and tools, not the libraries' APIs, and take much of the suite's time.
``scripts/test`` does not run the matrix; ``tests/test_dependency_bounds.py``
checks the installed versions against the same bounds in well under a second.
"""

from __future__ import annotations

import json
import re
import tomllib
import typing as t
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent
PYPROJECT = ROOT / "pyproject.toml"

#: The libraries whose oldest and newest allowed versions get a session each.
MATRIX = ("werkzeug", "jinja2", "click", "itsdangerous")

#: Test modules the sessions leave out, and why: none of them exercises a
#: library API that the in-process tests do not, and together they are much
#: of the suite's time (and need Debian's chromium, nginx, redis and wrk).
SLOW_MODULES: dict[str, str] = {
    "tests/test_browser.py": "headless Chromium against gunicorn (the demo's pages)",
    "tests/test_deploy_nginx.py": "nginx in front of gunicorn and waitress",
    "tests/test_servers.py": "six real servers started one after the other",
    "tests/test_serve_entry.py": "real servers loading demijohn.serve",
    "tests/test_session_processes.py": "sessions shared across real worker processes",
    "tests/test_bench_smoke.py": "the benchmark harness (its own venv and apps)",
    "tests/test_reliability_smoke.py": "the load soak under gunicorn and uvicorn",
    "tests/test_cluster.py": "the demo on several hosts (network namespaces, nginx, redis)",
    "tests/test_disconnects.py": "clients that go away, through real gunicorn and uvicorn",
}

#: Development dependencies the sessions do not install: only the modules
#: above use them, and they would narrow the matrix (Playwright requires a
#: newer greenlet than demijohn does).
SKIPPED_DEV_DEPENDENCIES = {"playwright": "tests/test_browser.py"}

#: Versions printed and checked by each session (import names differ; the
#: distribution names are what ``importlib.metadata`` knows).
_REPORT_SCRIPT = """
import importlib.metadata as m, json, sys
print(json.dumps({name: m.version(name) for name in sys.argv[1:]}))
"""

nox.options.default_venv_backend = "virtualenv"
nox.options.error_on_external_run = True


def runtime_requirements(pyproject: Path = PYPROJECT) -> dict[str, Requirement]:
    """The ``[project] dependencies`` of ``pyproject``, by canonical name."""
    with open(pyproject, "rb") as f:
        data = tomllib.load(f)
    requirements = (Requirement(line) for line in data["project"]["dependencies"])
    return {canonicalize_name(r.name): r for r in requirements}


def dev_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The ``dev`` extra of ``pyproject`` less :data:`SKIPPED_DEV_DEPENDENCIES`."""
    with open(pyproject, "rb") as f:
        data = tomllib.load(f)
    lines: list[str] = data["project"]["optional-dependencies"]["dev"]
    skipped = {canonicalize_name(name) for name in SKIPPED_DEV_DEPENDENCIES}
    return [line for line in lines if canonicalize_name(Requirement(line).name) not in skipped]


def lower_bound(requirement: Requirement) -> Version:
    """The version named by the requirement's ``>=`` clause: the oldest allowed."""
    floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    if len(floors) != 1:
        raise ValueError(f"{requirement} needs exactly one '>=' bound, has {len(floors)}")
    floor = floors[0]
    if floor not in requirement.specifier:
        raise ValueError(f"{requirement} excludes its own lower bound {floor}")
    return floor


def upper_bound(requirement: Requirement) -> Version:
    """The version named by the requirement's ``<`` clause: the first not allowed."""
    ceilings = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
    if len(ceilings) != 1:
        raise ValueError(f"{requirement} needs exactly one '<' bound, has {len(ceilings)}")
    return ceilings[0]


def newest_allowed(available: t.Iterable[str], specifier: SpecifierSet) -> Version:
    """The highest final release in ``available`` that ``specifier`` allows."""
    versions: list[Version] = []
    for text in available:
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if not version.is_prerelease and version in specifier:
            versions.append(version)
    if not versions:
        raise ValueError(f"no released version satisfies {specifier or '(any)'}")
    return max(versions)


def parse_index_versions(output: str) -> list[str]:
    """The versions listed by ``pip index versions NAME``."""
    match = re.search(r"^Available versions:\s*(.+)$", output, re.MULTILINE)
    if match is None:
        raise ValueError(f"no 'Available versions:' line in pip's output:\n{output}")
    return [v.strip() for v in match.group(1).split(",") if v.strip()]


def targets() -> list[str]:
    """The session ids: ``NAME-oldest`` and ``NAME-newest`` per library, ``all-oldest``."""
    return [f"{name}-{end}" for name in MATRIX for end in ("oldest", "newest")] + ["all-oldest"]


def oldest_pins(target: str, requirements: dict[str, Requirement]) -> dict[str, Version]:
    """The ``==`` pins an ``...-oldest`` target needs (no index look-up)."""
    if target == "all-oldest":
        return {name: lower_bound(req) for name, req in requirements.items()}
    name, _, end = target.rpartition("-")
    if end != "oldest" or name not in requirements:
        raise ValueError(f"not an oldest target: {target!r}")
    return {name: lower_bound(requirements[name])}


def pytest_arguments() -> list[str]:
    """pytest's arguments for the matrix: quiet, no cache, without :data:`SLOW_MODULES`."""
    return ["-q", "-p", "no:cacheprovider", *(f"--ignore={m}" for m in SLOW_MODULES)]


def _index_versions(session: nox.Session, name: str) -> list[str]:
    output = session.run(
        "python", "-m", "pip", "index", "versions", name, silent=True, external=False
    )
    return parse_index_versions(str(output))


@nox.session
@nox.parametrize("target", targets(), ids=targets())
def tests(session: nox.Session, target: str) -> None:
    """Install with ``target``'s pins, check the versions, run the suite's subset."""
    requirements = runtime_requirements()
    if target.endswith("-newest"):
        name = target.removesuffix("-newest")
        available = _index_versions(session, name)
        pins = {name: newest_allowed(available, requirements[name].specifier)}
    else:
        pins = oldest_pins(target, requirements)
    pin_args = [f"{requirements[name].name}=={version}" for name, version in pins.items()]
    session.log("pins: " + (", ".join(pin_args)))
    session.install(
        "-e",
        ".[asgi,dotenv]",
        *dev_requirements(),
        "-r",
        "requirements/extensions-deps.txt",
        *pin_args,
    )
    # As scripts/_venv.sh does: the real extensions without their "flask"
    # requirement, so the real Flask is never installed.
    session.install("--no-deps", "-r", "requirements/extensions.txt")

    names = [req.name for req in requirements.values()]
    report = session.run("python", "-c", _REPORT_SCRIPT, *names, silent=True)
    installed: dict[str, Version] = {
        canonicalize_name(k): Version(v) for k, v in json.loads(str(report)).items()
    }
    session.log("versions: " + ", ".join(f"{k} {v}" for k, v in installed.items()))
    for name, version in pins.items():
        if installed[name] != version:
            session.error(f"{name} {installed[name]} was installed, not the pinned {version}")
    for name, req in requirements.items():
        if not req.specifier.contains(installed[name]):
            session.error(f"{name} {installed[name]} is outside the declared {req.specifier}")
    session.run("python", "-m", "pytest", *pytest_arguments(), *session.posargs)
