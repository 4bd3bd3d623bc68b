"""The mission in the database: the file as loaded (with its sha256) and its definitions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from truceline.domain.timeutil import to_us
from truceline.errors import TrucelineError
from truceline.i18n.message import M
from truceline.mission import Mission, parse_mission_document
from truceline.store import tables as t


@dataclass(frozen=True)
class SaveResult:
    changed: bool  # False: this exact mission was loaded already
    previous_sha256: str | None


def save_mission(
    conn: Connection, mission: Mission, *, source_name: str, source_text: str, now_us: int
) -> SaveResult:
    """Store the mission file and replace the definitions derived from it, in one transaction.

    A database holds one mission. Definitions that stored data refer to (a contingent that
    reported observations) cannot be removed by a new version of the file.
    """
    current = conn.execute(select(t.missions.c.id, t.missions.c.sha256)).first()
    if current is not None and current.id != mission.id:
        raise TrucelineError(
            M(
                "this database holds mission {held!r}; it cannot load mission {mission!r}",
                held=current.id,
                mission=mission.id,
            )
        )
    if current is not None and current.sha256 == mission.sha256:
        return SaveResult(changed=False, previous_sha256=current.sha256)
    known = conn.execute(
        select(t.mission_files.c.sha256).where(t.mission_files.c.sha256 == mission.sha256)
    ).first()
    if known is None:
        conn.execute(
            t.mission_files.insert().values(
                sha256=mission.sha256,
                mission_id=mission.id,
                source_name=source_name,
                source_text=source_text,
                document=json.dumps(mission.document, ensure_ascii=False, sort_keys=True),
                loaded_at_us=now_us,
            )
        )
    row = {"id": mission.id, "name": mission.name, "timezone": mission.timezone.key}
    if current is None:
        conn.execute(t.missions.insert().values(**row, sha256=mission.sha256))
    else:
        conn.execute(update(t.missions).values(**row, sha256=mission.sha256))
    try:
        _replace_definitions(conn, mission)
    except IntegrityError as exc:
        raise TrucelineError(
            M(
                "the new mission file removes a party, contingent or unit that stored data "
                "refers to; keep it in the file ({reason})",
                reason=str(exc.orig),
            )
        ) from None
    return SaveResult(changed=True, previous_sha256=None if current is None else current.sha256)


def _replace_definitions(conn: Connection, mission: Mission) -> None:
    conn.execute(delete(t.clause_versions))
    conn.execute(delete(t.zones))
    conn.execute(delete(t.units))
    _sync(conn, t.parties, [{"id": p.id, "name": p.name} for p in mission.parties.values()])
    _sync(
        conn,
        t.contingents,
        [
            {"id": c.id, "name": c.name, "public_key": c.public_key}
            for c in mission.contingents.values()
        ],
    )
    if mission.units:
        conn.execute(
            t.units.insert(),
            [
                {
                    "id": u.id,
                    "kind": u.kind,
                    "contingent": u.contingent,
                    "party": u.party,
                    "name": u.name,
                }
                for u in mission.units.values()
            ],
        )
    if mission.zones:
        conn.execute(
            t.zones.insert(),
            [
                {
                    "id": z.id,
                    "name": z.name,
                    "source_geometry": json.dumps(z.source_geometry),
                    "buffer_m": z.buffer_m,
                    "geometry": shapely.to_geojson(z.geometry),
                    "area_km2": z.area_km2,
                }
                for z in mission.zones.values()
            ],
        )
    versions = [
        {
            "clause_id": v.clause,
            "version": v.version,
            "rule": v.rule,
            "effective_us": None if v.effective is None else to_us(v.effective),
            "title": clause.title if v is clause.versions[-1] else _first(v.params.title),
            "params": v.params.model_dump_json(),
        }
        for clause in mission.clauses.values()
        for v in clause.versions
    ]
    if versions:
        conn.execute(t.clause_versions.insert(), versions)


def _sync(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Make `table` hold exactly `rows` (by id), updating in place so references stay valid."""
    existing = set(conn.execute(select(table.c.id)).scalars())
    wanted = {row["id"] for row in rows}
    for row in rows:
        if row["id"] in existing:
            conn.execute(update(table).where(table.c.id == row["id"]).values(**row))
        else:
            conn.execute(table.insert().values(**row))
    if existing - wanted:
        conn.execute(delete(table).where(table.c.id.in_(sorted(existing - wanted))))


def load_mission(conn: Connection) -> Mission:
    """The mission loaded by `init`, rebuilt from its stored, resolved document: validated
    once per process for each sha256 (a mission is immutable once loaded; a new version of
    the file has another sha256)."""
    sha256 = conn.execute(select(t.missions.c.sha256)).scalar()
    if sha256 is None:
        raise TrucelineError(M("no mission is loaded: run `truceline init MISSION` first"))
    cached = _LOADED.get(sha256)
    if cached is not None:
        return cached
    row = conn.execute(
        select(t.mission_files.c.document, t.mission_files.c.source_name).where(
            t.mission_files.c.sha256 == sha256
        )
    ).first()
    if row is None:
        raise TrucelineError(
            M("the mission file {sha}… is missing from the database", sha=sha256[:12])
        )
    mission = parse_mission_document(json.loads(row.document), source=row.source_name)
    if mission.sha256 == sha256:  # what was stored is what is named: keep it
        if len(_LOADED) >= _KEPT:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[sha256] = mission
    return mission


_LOADED: dict[str, Mission] = {}  # by sha256, for this process
_KEPT = 8


def _first(title: str | dict[str, str] | None) -> str | None:
    """A version's title as one string (a map of languages: its first)."""
    if isinstance(title, dict):
        return next(iter(title.values()), None)
    return title
