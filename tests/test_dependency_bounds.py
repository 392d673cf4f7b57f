"""The runtime dependencies are bounded, the installed ones are inside the bounds,
and the nox matrix (noxfile.py) tests the bottom and the top of each range.

The matrix itself builds a virtualenv per session and is run by ``scripts/matrix``
(README, "Dependency matrix"), not here: these checks take well under a second.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent


def _load_noxfile() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("noxfile", REPO / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("noxfile", module)
    spec.loader.exec_module(module)
    return module


noxfile = _load_noxfile()
REQUIREMENTS = noxfile.runtime_requirements()

#: Every library demijohn imports at run time (greenlet: the ASGI door).
RUNTIME = {"werkzeug", "jinja2", "markupsafe", "click", "itsdangerous", "blinker", "greenlet"}


def test_every_runtime_dependency_is_declared_with_both_bounds() -> None:
    assert set(REQUIREMENTS) == RUNTIME
    for name, requirement in REQUIREMENTS.items():
        low, high = noxfile.lower_bound(requirement), noxfile.upper_bound(requirement)
        assert low < high, name
        # Nothing else narrows the range: the matrix's "oldest" and "newest"
        # are the ends of exactly this interval.
        assert {s.operator for s in requirement.specifier} == {">=", "<"}, name


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_the_installed_version_is_inside_the_declared_bounds(name: str) -> None:
    installed = Version(importlib.metadata.version(name))
    assert installed in REQUIREMENTS[name].specifier, (
        f"{name} {installed} is installed but pyproject.toml allows "
        f"{REQUIREMENTS[name].specifier}: widen the bound only after the matrix passes with it"
    )


def test_the_fast_paths_libraries_stop_before_the_next_minor_release() -> None:
    # Werkzeug's private attributes (Headers._list, MapAdapter's __dict__,
    # Response._clean_status) may change in any minor release.
    werkzeug = REQUIREMENTS["werkzeug"]
    low, high = noxfile.lower_bound(werkzeug), noxfile.upper_bound(werkzeug)
    assert (high.major, high.minor) == (low.major, low.minor + 1)


def test_the_matrix_has_an_oldest_and_a_newest_session_per_library() -> None:
    assert set(noxfile.MATRIX) == {"werkzeug", "jinja2", "click", "itsdangerous"}
    targets = noxfile.targets()
    for name in noxfile.MATRIX:
        assert f"{name}-oldest" in targets
        assert f"{name}-newest" in targets
    assert "all-oldest" in targets
    assert len(targets) == len(set(targets)) == 2 * len(noxfile.MATRIX) + 1


def test_oldest_sessions_pin_the_lower_bounds() -> None:
    pins = noxfile.oldest_pins("click-oldest", REQUIREMENTS)
    assert pins == {"click": noxfile.lower_bound(REQUIREMENTS["click"])}
    everything = noxfile.oldest_pins("all-oldest", REQUIREMENTS)
    assert everything == {name: noxfile.lower_bound(r) for name, r in REQUIREMENTS.items()}
    with pytest.raises(ValueError, match="not an oldest target"):
        noxfile.oldest_pins("click-newest", REQUIREMENTS)
    with pytest.raises(ValueError, match="not an oldest target"):
        noxfile.oldest_pins("flask-oldest", REQUIREMENTS)


def test_newest_allowed_is_the_highest_final_release_below_the_upper_bound() -> None:
    available = ["3.2.0", "3.1.10", "3.1.9", "3.1.11rc1", "3.1.0", "3.0.6", "not-a-version"]
    assert noxfile.newest_allowed(available, SpecifierSet(">=3.1,<3.2")) == Version("3.1.10")
    assert noxfile.newest_allowed(available, SpecifierSet(">=3.0,<3.1")) == Version("3.0.6")
    with pytest.raises(ValueError, match="no released version"):
        noxfile.newest_allowed(available, SpecifierSet(">=4"))


def test_pip_index_output_is_parsed() -> None:
    output = (
        "werkzeug (3.1.9)\nAvailable versions: 3.1.9, 3.1.8, 3.0.6\n  INSTALLED: 3.1.9\n"
        "  LATEST:    3.1.9\n"
    )
    assert noxfile.parse_index_versions(output) == ["3.1.9", "3.1.8", "3.0.6"]
    with pytest.raises(ValueError, match="Available versions"):
        noxfile.parse_index_versions("ERROR: No matching distribution found for werkzeug\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Werkzeug", "exactly one '>='"),
        ("Werkzeug>=3.1,>=3.1.2,<3.2", "exactly one '>='"),
        ("Werkzeug>=3.1,!=3.1,<3.2", "excludes its own lower bound"),
    ],
)
def test_a_malformed_bound_is_refused(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        noxfile.lower_bound(Requirement(line))


def test_a_missing_upper_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="exactly one '<'"):
        noxfile.upper_bound(Requirement("click>=8.1.3"))


def test_the_matrix_installs_the_dev_extra_but_what_only_skipped_modules_use() -> None:
    installed = {Requirement(line).name.lower() for line in noxfile.dev_requirements()}
    assert "playwright" not in installed
    assert {"pytest", "hypothesis", "httpx", "nox"} <= installed
    for name, module in noxfile.SKIPPED_DEV_DEPENDENCIES.items():
        assert module in noxfile.SLOW_MODULES, name
        # No module the matrix runs imports it.
        for path in (REPO / "tests").rglob("*.py"):
            if path.relative_to(REPO).as_posix() not in noxfile.SLOW_MODULES:
                assert f"import {name}" not in path.read_text(), path.name
                assert f"from {name}" not in path.read_text(), path.name


def test_the_matrix_leaves_out_only_modules_that_exist() -> None:
    # A renamed module would silently join the matrix's subset otherwise,
    # and the ignore list would name nothing.
    for module, reason in noxfile.SLOW_MODULES.items():
        assert (REPO / module).is_file(), module
        assert reason
    arguments = noxfile.pytest_arguments()
    assert [a for a in arguments if a.startswith("--ignore=")] == [
        f"--ignore={m}" for m in noxfile.SLOW_MODULES
    ]
