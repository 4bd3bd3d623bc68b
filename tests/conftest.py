"""Shared fixtures: databases (SQLite and PostgreSQL), missions, and a CLI runner."""

from __future__ import annotations

import copy
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text

# The tests read the CLI's English (a test that wants Russian asks for it): whatever the
# locale of the machine that runs them.
os.environ["TRUCELINE_LANG"] = "en"

from truceline.demo import MISSION_FILE
from truceline.mission.yamlstrict import load_yaml
from truceline.services.missions import init_database
from truceline.store import tables as t
from truceline.store.db import make_engine, migrate

PG_ADMIN_URL = os.environ.get(
    "TRUCELINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("TRUCELINE_REQUIRE_PG") == "1" or os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of its own on the PostgreSQL server for this test process."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"truceline_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is not there
        admin.dispose()
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _clear_postgresql(engine: Engine) -> None:
    names = ", ".join(table.name for table in reversed(t.ORDERED))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        _clear_postgresql(engine)
        yield engine


@pytest.fixture
def demo_engine(engine: Engine) -> Engine:
    """A database holding the demo mission."""
    init_database(engine, MISSION_FILE)
    return engine


@pytest.fixture
def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def demo_document() -> dict[str, Any]:
    """The demo mission as a dict with its geometry and places files inlined (for mutation in
    tests)."""
    import json

    doc = load_yaml(MISSION_FILE.read_text())
    for zone in doc["zones"]:
        if "geometry_file" in zone:
            feature = json.loads((MISSION_FILE.parent / zone.pop("geometry_file")).read_text())
            zone["geometry"] = feature["geometry"]
    if isinstance(doc.get("places"), str):
        doc["places"] = json.loads((MISSION_FILE.parent / doc["places"]).read_text())
    return doc


@pytest.fixture
def mission_doc() -> dict[str, Any]:
    return copy.deepcopy(demo_document())


@pytest.fixture
def write_mission(tmp_path: Path) -> Callable[[dict[str, Any] | str], Path]:
    def write(doc: dict[str, Any] | str) -> Path:
        path = tmp_path / "mission.yaml"
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """Run `truceline ARGS…` in this process through the real entry point."""
    from truceline.cli import main

    monkeypatch.setenv("COLUMNS", "250")

    def run(*args: Any) -> Ran:
        monkeypatch.setattr(sys, "argv", ["truceline", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


EXPLOSION_CSV = (
    "id,observed_at,lat,lon,kind,count,source_kind,source,reporter\n"
    "a1,2020-11-21T10:00:00+04:00,40.27,46.75,explosion,5,observation_post,OP-1,blue\n"
)


def signed_centre(
    engine: Engine,
    keyring: Any,
    folder: Path,
    *,
    csv: str = EXPLOSION_CSV,
    generate_keys: bool = True,
) -> int | None:
    """The demo mission with its logs started, `csv` imported and assessed (each signed);
    the id of the first finding, if any."""
    from sqlalchemy import select

    from truceline.services.assess import assess
    from truceline.services.ingest import ingest_observations

    init_database(engine, MISSION_FILE, keyring=keyring, generate_keys=generate_keys)
    path = folder / "centre-observations.csv"
    path.write_text(csv)
    ingest_observations(engine, path, keyring=keyring)
    assess(engine, keyring=keyring)
    with engine.connect() as conn:
        found = conn.execute(select(t.findings.c.id).order_by(t.findings.c.id)).first()
    return None if found is None else int(found[0])


def add_accounts(
    engine: Engine,
    keyring: Any,
    accounts: dict[str, tuple[str, str | None, str | None]],
    password: str,
) -> None:
    """Users by name → (role, contingent, party), all with one password."""
    from truceline.services.accounts import add_user

    for name, (role, contingent, party) in accounts.items():
        add_user(
            engine, name, role=role, password=password, contingent=contingent, party=party,
            keyring=keyring,
        )  # fmt: skip


def staffed_centre(
    folder: Path,
    users: dict[str, tuple[str, str | None, str | None]],
    password: str,
    name: str = "centre.db",
) -> tuple[str, Engine, Any, int | None]:
    """A centre in a SQLite file of its own, as the browser and page tests serve it: the demo
    mission, its logs started, EXPLOSION_CSV assessed, and `users` (all with `password`);
    its URL, engine, key ring and first finding."""
    from truceline.services.ledger import KeyRing

    url = f"sqlite:///{folder / name}"
    engine = make_engine(url)
    migrate(engine)
    keyring = KeyRing(folder / "keys")
    finding = signed_centre(engine, keyring, folder)
    add_accounts(engine, keyring, users, password)
    return url, engine, keyring, finding
