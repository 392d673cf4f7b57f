"""A target (a ratio the project aims for), whether a run meets it, and their table."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Target:
    """One target, and whether this run meets it."""

    what: str
    goal: str
    measured: float | None
    met: bool | None


def target(
    what: str, measured: float | None, goal: float, at_least: bool, required: bool = True
) -> Target:
    """``measured`` against ``goal`` (a floor if ``at_least``, else a ceiling).

    A target that is not ``required`` is shown, and said to be met or not, all
    the same; its goal says it is not required.
    """
    sign = "≥" if at_least else "≤"
    met = None if measured is None else (measured >= goal if at_least else measured <= goal)
    note = "" if required else " (stretch, not required)"
    return Target(what, f"{sign} {goal:.2f}{note}", measured, met)


def targets_table(found: list[Target]) -> str:
    """The Markdown table of the targets."""
    lines = ["| Target | Goal | Measured | Met |", "|---|---|---|---|"]
    for item in found:
        measured = "n/a" if item.measured is None else f"{item.measured:.2f}"
        met = "n/a" if item.met is None else ("yes" if item.met else "**no**")
        lines.append(f"| {item.what} | {item.goal} | {measured} | {met} |")
    return "\n".join(lines)
