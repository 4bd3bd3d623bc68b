"""Errors that people see: each says where and why, never as a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class TrucelineError(Exception):
    """An error caused by input or state that a user can act on."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem at one place: a mission path (`clauses[3].zone`) or a file location."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ProblemsError(TrucelineError):
    """Several problems found at once; every one is reported."""

    def __init__(self, headline: str, problems: list[Problem]) -> None:
        self.headline = headline
        self.problems = problems
        super().__init__(self.render())

    def render(self, limit: int = 200) -> str:
        lines = [self.headline]
        lines += [f"  {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more")
        return "\n".join(lines)


class MissionError(ProblemsError):
    """The mission file is invalid; `problems` name each path."""
