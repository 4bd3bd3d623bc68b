"""Loading a mission file from disk and into the database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from truceline.domain import actions
from truceline.errors import MissionError, Problem, TrucelineError
from truceline.i18n.message import M
from truceline.mission import Mission, parse_mission
from truceline.services.ledger import KeyRing, append, node_id, start_logs
from truceline.store import ledger as ledger_repo
from truceline.store.db import migrate, writing
from truceline.store.missions import save_mission


def read_mission(path: Path) -> tuple[Mission, str]:
    """Parse a mission file; geometry files are read relative to it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TrucelineError(M("{path}: no such mission file", path=str(path))) from None
    except OSError as exc:
        raise TrucelineError(
            M("{path}: cannot read: {reason}", path=str(path), reason=exc.strerror)
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MissionError(
            M("{path}: not UTF-8 text", path=str(path)),
            [Problem(M("byte {offset}", offset=exc.start), exc.reason)],
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
    generated: dict[str, str] = field(default_factory=dict)  # contingent → new public key
    started: list[str] = field(default_factory=list)  # logs whose genesis entry was written


def init_database(
    engine: Engine, path: Path, *, keyring: KeyRing | None = None, generate_keys: bool = False
) -> InitResult:
    """Create or migrate the schema and load the mission (idempotent). With a key ring, start
    the log of every contingent whose key is there (making missing keys first if asked), and
    log a changed mission file in every log this node can sign."""
    mission, text = read_mission(path)
    migrate(engine)
    generated: dict[str, str] = {}
    if keyring is not None and generate_keys:
        for contingent in mission.contingents.values():
            if not keyring.has(contingent.id) and contingent.public_key is None:
                generated[contingent.id] = keyring.generate(contingent.id)
    with writing(engine) as conn:
        saved = save_mission(
            conn, mission, source_name=str(path), source_text=text, now_us=time.time_ns() // 1000
        )
        node_id(conn)
        started: list[str] = []
        if keyring is not None:
            if saved.changed and saved.previous_sha256 is not None:
                _log_mission_change(conn, keyring, mission, saved.previous_sha256)
            started = start_logs(conn, keyring, mission)
    return InitResult(mission, saved.changed, generated, started)


def _log_mission_change(
    conn: Connection, keyring: KeyRing, mission: Mission, previous: str
) -> None:
    """A new mission file is an entry in every log this node can sign."""
    payload = {"mission_sha256": mission.sha256, "previous": previous}
    for contingent_id in ledger_repo.heads(conn):
        if keyring.has(contingent_id):
            append(
                conn,
                keyring,
                mission,
                contingent_id,
                actor="init",
                action=actions.MISSION_CHANGED,
                payload=payload,
            )
