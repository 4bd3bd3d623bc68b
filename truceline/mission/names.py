"""Names in the mission's languages. Any name or title in the mission file (mission, parties,
contingents, units, zones, posts, places, clauses' title and text) may be a string or a map of
language to string; a language the map lacks falls back to the mission's first language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from truceline.errors import Problem
from truceline.i18n.message import M

Name = str | dict[str, str]  # as the mission file gives it
Names = dict[str, str]  # resolved: every language of the mission, in its order


def check_name(value: Any, languages: Sequence[str], where: str, problems: list[Problem]) -> None:
    """A map of names must name only the mission's languages, and its first."""
    if not isinstance(value, dict):
        return
    for lang in value:
        if lang not in languages:
            problems.append(
                Problem(
                    f"{where}.{lang}",
                    M(
                        "not a language of the mission ({languages})",
                        languages=", ".join(languages),
                    ),
                )
            )
    if languages and languages[0] not in value:
        problems.append(
            Problem(
                where,
                M(
                    "a map of names needs the mission's first language {lang!r}",
                    lang=languages[0],
                ),
            )
        )


def resolve(value: Name | None, languages: Sequence[str], default: str = "") -> Names:
    """The name in every language of the mission (a missing one falls back to the first)."""
    if value is None:
        value = default
    if isinstance(value, str):
        return {lang: value for lang in languages}
    first = value.get(languages[0], default) if languages else default
    return {lang: value.get(lang) or first for lang in languages}


def say(names: Mapping[str, str], lang: str, default: str = "") -> str:
    """The name in `lang`, else in the first language the map holds, else `default`."""
    if lang in names:
        return names[lang]
    return next(iter(names.values()), default)
