"""Errors that people see: each says where and why, never as a traceback."""

from __future__ import annotations

from collections.abc import Callable
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


class FieldError(TrucelineError):
    """Named fields' values are refused: each field by its name in the service's terms
    (`rationale`, `verdict`); the CLI shows its own flag for it, the web the form field."""

    def __init__(self, field: str, reason: str, *more: tuple[str, str], headline: str = "") -> None:
        self.problems = [(field, reason), *more]
        self.headline = headline
        super().__init__(self.render())

    @property
    def field(self) -> str:
        return self.problems[0][0]

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message, with each field named by `name` (the CLI passes its flags)."""
        said = "; ".join(f"{name(field)}: {reason}" for field, reason in self.problems)
        return f"{self.headline}: {said}" if self.headline else said


class NotFound(TrucelineError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(TrucelineError):
    """What the state does not allow now: a filing that binds, a case open already (409)."""


class Forbidden(TrucelineError):
    """Not allowed for this user's role, contingent or party (403)."""


class Unauthenticated(TrucelineError):
    """No valid session or token (401)."""


class Throttled(TrucelineError):
    """Too many failed attempts from this place (429)."""


class TooLarge(TrucelineError):
    """A request or a value larger than its limit (413)."""


# Each typed error's HTTP status, in one place (the web layer maps with it; TrucelineError: 400).
STATUS: dict[type[TrucelineError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    Throttled: 429,
    TooLarge: 413,
}


def status_of(exc: TrucelineError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400
