"""Exchanging logs between nodes: a bundle is every entry a node holds; importing one is a
union of entries. Nothing of a bundle is stored unless all of it verifies: the sender is never
trusted. Cases, filings and revealed positions that other nodes logged are derived here from
their entries; once every contingent has filed a case, the positions filed on this node are
revealed in their contingents' logs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from truceline.domain.cases import Position, commitment
from truceline.domain.ledger import Entry, entry_from_dict, verify_chains
from truceline.errors import TrucelineError
from truceline.services.ledger import KeyRing, local_signers
from truceline.services.verification import record_filing, reveal_ready
from truceline.store import ledger as repo
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

FORMAT = "truceline/bundle@1"


def bundle_of(engine: Engine) -> dict[str, Any]:
    """Every entry of every log held here, as a bundle."""
    require_schema(engine)
    with engine.connect() as conn:
        mission = load_mission(conn)
        entries = repo.all_entries(conn)
    return {
        "format": FORMAT,
        "mission": mission.id,
        "mission_sha256": mission.sha256,
        "entries": [e.as_dict() for e in entries],
    }


def export_bundle(engine: Engine, path: Path) -> int:
    """Write every entry of every log held here; the number written."""
    bundle = bundle_of(engine)
    path.write_text(json.dumps(bundle, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return len(bundle["entries"])


@dataclass
class ImportResult:
    received: int
    new: int
    revealed: list[int]  # local case ids revealed by this import


def _read(path: Path) -> Any:
    try:
        bundle: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrucelineError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrucelineError(f"{path}: not a bundle (not JSON: {exc})") from None
    return bundle


def _entries_of(bundle: Any, name: str) -> list[Entry]:
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise TrucelineError(f"{name}: not a bundle of format {FORMAT}")
    try:
        return [entry_from_dict(item) for item in bundle["entries"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise TrucelineError(f"{name}: a malformed entry ({exc}); nothing imported") from None


def import_bundle(engine: Engine, path: Path, *, keyring: KeyRing | None) -> ImportResult:
    return import_bundle_data(engine, _read(path), str(path), keyring=keyring)


def import_bundle_data(
    engine: Engine, bundle: Any, name: str, *, keyring: KeyRing | None
) -> ImportResult:
    """Import a bundle (as read from a file or received over HTTP, named `name` in errors):
    nothing of it is stored unless all of it verifies."""
    entries = _entries_of(bundle, name)
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        if bundle.get("mission_sha256") != mission.sha256:
            raise TrucelineError(
                f"{name}: the bundle is for mission file "
                f"{str(bundle.get('mission_sha256'))[:12]}…, "
                f"this node holds {mission.sha256[:12]}…; nothing imported"
            )
        held = repo.all_entries(conn)
        known = {e.hash for e in held}
        fresh = [e for e in entries if e.hash not in known]
        file_keys = {c.id: c.public_key for c in mission.contingents.values()}
        report = verify_chains([*held, *fresh], file_keys)
        if not report.ok:
            reasons = "; ".join(str(f) for f in report.faults[:5])
            raise TrucelineError(f"{name}: the bundle does not verify, nothing imported: {reasons}")
        for entry in sorted(fresh, key=lambda e: (e.contingent, e.seq)):
            repo.insert_entry(conn, entry)
        for contingent, head in report.heads.items():
            _set_head(conn, contingent, head)
        touched = _apply(conn, sorted(fresh, key=lambda e: (e.time, e.contingent, e.seq)))
        signers = local_signers(conn, mission, keyring)
        revealed = []
        for case_id in sorted(touched):
            before = conn.execute(
                select(t.cases.c.revealed_at_us).where(t.cases.c.id == case_id)
            ).scalar()
            reveal_ready(conn, mission, case_id, signers)
            if (
                before is None
                and conn.execute(
                    select(t.cases.c.revealed_at_us).where(t.cases.c.id == case_id)
                ).scalar()
                is not None
            ):
                revealed.append(case_id)
        return ImportResult(len(entries), len(fresh), revealed)


def _set_head(conn: Connection, contingent: str, head: tuple[int, str]) -> None:
    h = t.ledger_heads
    current = conn.execute(select(h.c.seq).where(h.c.contingent == contingent)).scalar()
    if current is None:
        conn.execute(insert(h).values(contingent=contingent, seq=head[0], hash=head[1]))
    elif int(current) < head[0]:
        conn.execute(
            update(h).where(h.c.contingent == contingent).values(seq=head[0], hash=head[1])
        )


def _apply(conn: Connection, entries: list[Entry]) -> set[int]:
    """Derive cases, filings and revealed positions from other nodes' entries; the local case
    ids touched."""
    c, a = t.cases, t.assessments
    touched: set[int] = set()
    for entry in entries:
        p = entry.payload
        if entry.action == "case_opened":
            if conn.execute(select(c.c.id).where(c.c.key == entry.hash)).first() is None:
                subject = p.get("subject") or {}
                finding = None
                if isinstance(subject.get("finding"), str):
                    finding = conn.execute(
                        select(t.findings.c.id).where(t.findings.c.key == subject["finding"])
                    ).scalar()
                    taken = conn.execute(select(c.c.id).where(c.c.finding_id == finding)).first()
                    finding = None if taken else finding
                result = conn.execute(
                    insert(c).values(
                        key=entry.hash,
                        subject=json.dumps(subject),
                        finding_id=finding,
                        opened_at_us=entry.time,
                        opened_by=entry.contingent,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                touched.add(int(key[0]))
        elif entry.action == "assessment_filed":
            case_id = conn.execute(select(c.c.id).where(c.c.key == p["case"])).scalar()
            if case_id is None:
                raise TrucelineError(
                    f"{entry.contingent}#{entry.seq} files an assessment of an unknown case"
                )
            if (
                conn.execute(select(a.c.id).where(a.c.commitment == p["commitment"])).first()
                is None
            ):
                record_filing(
                    conn, int(case_id), entry.contingent, p["commitment"], actor=entry.actor,
                    at=entry.time, previous=p.get("supersedes"),
                )  # fmt: skip
            touched.add(int(case_id))
        elif entry.action == "assessment_revealed":
            position = Position(p["verdict"], p["attribution"], p["rationale"])
            if commitment(position, p["salt"]) != p["commitment"]:
                raise TrucelineError(
                    f"{entry.contingent}#{entry.seq} reveals a position it did not commit to; "
                    "nothing imported"
                )
            row = conn.execute(select(a).where(a.c.commitment == p["commitment"])).first()
            if row is None:
                raise TrucelineError(
                    f"{entry.contingent}#{entry.seq} reveals an assessment never filed"
                )
            conn.execute(
                update(a)
                .where(a.c.id == row.id)
                .values(
                    verdict=position.verdict,
                    attribution=position.attribution,
                    rationale=position.rationale,
                    salt=p["salt"],
                    revealed=True,
                )
            )
            touched.add(int(row.case_id))
    return touched
