"""Errors that people see: each says where and why, never as a traceback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from truceline.i18n.message import Mn


def said_in(text: object, lang: str | None) -> str:
    """`text` in `lang` (a `Message` translated), or in English when `lang` is None."""
    if lang is None:
        return "" if text is None else str(text)
    from truceline.i18n import say

    return say(text, lang)


class TrucelineError(Exception):
    """An error caused by input or state that a user can act on. Its message is a `Message`
    (truceline.i18n.message), said in the reader's language by `said`."""

    exit_code = 1

    def said(self, lang: str) -> str:
        """The message in `lang` (English where a part of it has no translation)."""
        return said_in(self.args[0], lang) if self.args else ""


@dataclass(frozen=True)
class Problem:
    """One problem at one place: a mission path (`clauses[3].zone`) or a file location."""

    where: str
    message: str

    def __str__(self) -> str:
        return self.said(None)

    def said(self, lang: str | None) -> str:
        message = said_in(self.message, lang)
        return f"{said_in(self.where, lang)}: {message}" if self.where else message


class ProblemsError(TrucelineError):
    """Several problems found at once; every one is reported."""

    def __init__(self, headline: str, problems: list[Problem]) -> None:
        self.headline = headline
        self.problems = problems
        super().__init__(self.render())

    def render(self, limit: int = 200, lang: str | None = None) -> str:
        lines = [said_in(self.headline, lang)]
        lines += [f"  {p.said(lang)}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            more = len(self.problems) - limit
            lines.append("  " + said_in(Mn("… and {n} more", "… and {n} more", more), lang))
        return "\n".join(lines)

    def said(self, lang: str) -> str:
        return self.render(lang=lang)


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

    def render(self, name: Callable[[str], str] = str, lang: str | None = None) -> str:
        """The message, with each field named by `name` (the CLI passes its flags), in
        `lang` (None: English)."""
        said = "; ".join(f"{name(f)}: {said_in(reason, lang)}" for f, reason in self.problems)
        return f"{said_in(self.headline, lang)}: {said}" if self.headline else said

    def said(self, lang: str) -> str:
        return self.render(lang=lang)


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
