"""Loading a mission file from disk and into the database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from truceline.errors import MissionError, Problem, TrucelineError
from truceline.mission import Mission, parse_mission
from truceline.store.db import migrate
from truceline.store.missions import save_mission


def read_mission(path: Path) -> tuple[Mission, str]:
    """Parse a mission file; geometry files are read relative to it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TrucelineError(f"{path}: no such mission file") from None
    except OSError as exc:
        raise TrucelineError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MissionError(
            f"{path}: not UTF-8 text", [Problem(f"byte {exc.start}", exc.reason)]
        ) from None
    base = path.parent

    def read_file(name: str) -> str:
        target = (base / name).resolve()
        return target.read_text(encoding="utf-8-sig")

    return parse_mission(text, source=str(path), read_file=read_file), text


@dataclass(frozen=True)
class InitResult:
    mission: Mission
    changed: bool


def init_database(engine: Engine, path: Path) -> InitResult:
    """Create or migrate the schema and load the mission (idempotent)."""
    mission, text = read_mission(path)
    migrate(engine)
    with engine.begin() as conn:
        saved = save_mission(
            conn, mission, source_name=str(path), source_text=text, now_us=time.time_ns() // 1000
        )
    return InitResult(mission, saved.changed)
