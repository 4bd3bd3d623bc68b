"""Build the illustrative demo centre: write its files, then load them the ordinary way."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

from sqlalchemy import Engine, inspect, select, text

from truceline.demo import MISSION_FILE
from truceline.demo.generator import generate
from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.errors import TrucelineError
from truceline.i18n.message import M, Mn
from truceline.services.accounts import add_user
from truceline.services.assess import assess
from truceline.services.ingest import ingest_observations, ingest_positions
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.missions import init_database, read_mission
from truceline.store import tables as t
from truceline.store.db import is_sqlite

NOTE = M("The demo's zones are illustrative, not authoritative borders or lines.")
# Demo accounts only: a real centre adds its users with `truceline users add`.
DEMO_PASSWORD = "demo-ceasefire"


def demo_accounts() -> list[tuple[str, str, str | None, str | None]]:
    """(name, role, contingent, party): an officer and a chief per contingent, a liaison per
    party, and an admin."""
    accounts: list[tuple[str, str, str | None, str | None]] = []
    for contingent in ("blue", "green"):
        accounts += [(f"{contingent}-officer", "officer", contingent, None),
                     (f"{contingent}-chief", "chief", contingent, None)]  # fmt: skip
    accounts += [(f"{party}-liaison", "liaison", None, party) for party in ("east", "west")]
    return [*accounts, ("admin", "admin", None, None)]


def holds_demo(engine: Engine) -> bool:
    return _holds_data(engine) == "demo"


def _holds_data(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("missions"):
            return None
        value = conn.execute(select(t.missions.c.id)).scalar()
        return None if value is None else str(value)


def clear_database(engine: Engine) -> None:
    """Remove every truceline table (used by `demo --force` only)."""
    if is_sqlite(engine) and engine.url.database and engine.url.database != ":memory:":
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(engine.url.database + suffix).unlink(missing_ok=True)
        return
    with engine.begin() as conn:
        t.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def write_demo_files(data_dir: Path, days: int, seed: int) -> dict[str, Path]:
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(MISSION_FILE, data_dir / "mission.yaml")
    shutil.copytree(MISSION_FILE.parent / "zones", data_dir / "zones", dirs_exist_ok=True)
    data = generate(days=days, seed=seed)
    files = {
        "mission": data_dir / "mission.yaml",
        "observations": data_dir / "observations.csv",
        "uav": data_dir / "uav-observations.geojson",
        "positions": data_dir / "positions.csv",  # blue's units and the parties', by blue
        "green_positions": data_dir / "green-positions.csv",  # green's own units, by green
    }
    with files["observations"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(obs.COLUMNS))
        writer.writeheader()
        writer.writerows(data.observations)
    files["uav"].write_text(
        json.dumps({"type": "FeatureCollection", "features": data.uav_features}, indent=1),
        encoding="utf-8",
    )
    # A contingent records only its own units' positions (and the parties'): each file is
    # imported as the contingent whose units it holds.
    green = {u.id for u in read_mission(MISSION_FILE)[0].units.values() if u.contingent == "green"}
    for name, rows in (
        ("positions", [p for p in data.positions if p["unit"] not in green]),
        ("green_positions", [p for p in data.positions if p["unit"] in green]),
    ):
        with files[name].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(pos.COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
    return files


def pin_keys(mission_file: Path, keyring: KeyRing) -> None:
    """Make each contingent's key (if missing) and pin it in the demo's mission file, as a
    centre should: a log re-keyed later is then refused."""
    from truceline.domain import keys

    mission, text = read_mission(mission_file)
    for contingent in mission.contingents:
        if not keyring.has(contingent):
            keyring.generate(contingent)
        public = keys.public_text(keyring.load(contingent, None))
        # The demo file writes each contingent on one line: `- {id: blue, name: …}`.
        text, found = re.subn(
            rf"(- \{{id: {re.escape(contingent)},)(?! public_key)",
            rf'\1 public_key: "{public}",',
            text,
        )
        if found != 1:
            raise TrucelineError(
                M(
                    "{file}: cannot pin {contingent}'s key",
                    file=str(mission_file),
                    contingent=contingent,
                )
            )
    mission_file.write_text(text, encoding="utf-8")


def build_demo(
    engine: Engine,
    *,
    days: int,
    seed: int,
    data_dir: Path,
    force: bool,
    key_dir: Path | None = None,
) -> list[str]:
    """Write the demo's files, load the mission and start both contingents' logs (the demo is
    a single server holding every contingent's key, in `key_dir`, default DATA_DIR/keys), then
    import and assess the data, each change signed by a contingent."""
    existing = _holds_data(engine)
    if existing is not None:
        if not force:
            raise TrucelineError(
                M(
                    "database {url!r} already holds mission {mission!r}; "
                    "use --force to replace it, or --db for another database",
                    url=engine.url,
                    mission=existing,
                )
            )
        clear_database(engine)
    files = write_demo_files(data_dir, days, seed)
    keyring = KeyRing(key_dir or data_dir / "keys")
    pin_keys(files["mission"], keyring)
    result = init_database(engine, files["mission"], keyring=keyring)
    lines: list[str] = [
        Mn(
            "demo mission {mission!r} ({name}): {n} day(s), seed {seed}",
            "demo mission {mission!r} ({name}): {n} day(s), seed {seed}",
            days,
            mission=result.mission.id,
            name=result.mission.name,
            seed=seed,
        ),
        NOTE,
        M("files in {folder}/", folder=str(data_dir)),
    ]
    lines.append(
        M(
            "keys in {folder}/; logs started: {started}",
            folder=str(keyring.folder),
            started=", ".join(result.started) or M("none new"),
        )
    )
    lines.append(
        ingest_observations(engine, files["observations"], keyring=keyring, acting="blue").summary()
    )
    lines.append(
        ingest_observations(engine, files["uav"], keyring=keyring, acting="green").summary()
    )
    lines.append(
        ingest_positions(engine, files["positions"], keyring=keyring, acting="blue").summary()
    )
    lines.append(
        ingest_positions(
            engine, files["green_positions"], keyring=keyring, acting="green"
        ).summary()
    )
    report = assess(engine, keyring=keyring, acting="green")
    lines.append(
        M(
            "assessed: {incidents}, {findings}",
            incidents=Mn("{n} incident(s)", "{n} incident(s)", report.active_incidents),
            findings=Mn("{n} finding(s)", "{n} finding(s)", sum(report.active_findings.values())),
        )
    )
    for clause in result.mission.clauses.values():
        found = report.active_findings.get(clause.id, 0)
        lines.append(
            Mn(
                "  clause {clause:<3} {rule:<15} {n:>4} finding(s)  {title}",
                "  clause {clause:<3} {rule:<15} {n:>4} finding(s)  {title}",
                found,
                clause=clause.id,
                rule=clause.rule,
                title=clause.title or "",
            )
        )
    for name, role, contingent, party in demo_accounts():
        add_user(
            engine, name, role=role, password=DEMO_PASSWORD, contingent=contingent, party=party,
            keyring=keyring, acting="blue",
        )  # fmt: skip
    with engine.connect() as conn:
        verified = verify_ledger(conn, result.mission)
    state = (
        M("intact") if verified.ok
        else Mn("NOT intact ({n} problem(s))", "NOT intact ({n} problem(s))", len(verified.faults))
    )  # fmt: skip
    lines.append(
        Mn(
            "ledger: {n} signed entries, {state}",
            "ledger: {n} signed entries, {state}",
            verified.entries,
            state=state,
        )
    )
    return lines
