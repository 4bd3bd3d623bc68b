"""The documentation keeps up with the code: a command that is not documented fails a test."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli import app

ROOT = Path(__file__).resolve().parents[1]


def commands(group: typer.Typer, prefix: str = "") -> list[str]:
    names = [f"{prefix}{c.name or c.callback.__name__}".strip() for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        names += commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return names


def test_every_command_is_documented_in_the_cli_guide() -> None:
    guide = (ROOT / "docs" / "cli.md").read_text()
    found = commands(app)
    assert {"init", "mission check", "ingest observations", "observations list"} <= set(found)
    missing = [name for name in found if f"`truceline {name}" not in guide]
    assert missing == []


def test_the_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("\n## ", 2)[1]
    assert first_section.startswith("The two commands")
    assert "make run" in first_section and "make test" in first_section


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
