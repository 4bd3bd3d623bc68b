"""One module per clause kind. Each defines `Params` (the clause's parameters as a pydantic
model whose `rule` field is the kind's name) and `references` (which mission ids it names).

Adding a rule kind is adding one module and listing it in `RULES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Protocol

from truceline.domain.findings import Facts, Finding, VersionLike, Versions
from truceline.domain.rules import (
    confined_to,
    excluded_from,
    free_passage,
    max_count,
    monitor_access,
    no_fire,
    withdrawn_by,
)

RULES: dict[str, ModuleType] = {
    module.Params.model_fields["rule"].default: module
    for module in (
        no_fire,
        withdrawn_by,
        max_count,
        confined_to,
        excluded_from,
        free_passage,
        monitor_access,
    )
}


class ClauseLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def versions(self) -> Sequence[VersionLike]: ...


def evaluate(clauses: Iterable[ClauseLike], facts: Facts) -> list[Finding]:
    """Every clause's findings, clause by clause, each by its own rule module."""
    found: list[Finding] = []
    for clause in clauses:
        found += RULES[clause.rule].evaluate(clause.id, Versions(clause.versions), facts)
    return found
