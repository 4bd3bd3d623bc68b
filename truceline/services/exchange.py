"""Exchanging logs between nodes: a bundle is every entry a node holds; importing one is a
union of entries. Nothing of a bundle is stored unless all of it is admitted (the sender is
never trusted: see `domain.ledger.admit`) and every new entry takes effect; the entries are
applied by the same projector as local changes, so there is no second writer."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from truceline.domain.ledger import Entry, admit, entry_from_dict
from truceline.errors import TrucelineError
from truceline.services.ledger import KeyRing, local_signers
from truceline.services.projector import apply_entry, causal_order
from truceline.services.verification import receive_complaints, reveal_ready
from truceline.store import ledger as repo
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

FORMAT = "truceline/bundle@2"


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


CLOCK_SKEW_S = int(os.environ.get("TRUCELINE_CLOCK_SKEW_S", "300"))


def import_bundle_data(
    engine: Engine,
    bundle: Any,
    name: str,
    *,
    keyring: KeyRing | None,
    skew_s: int = CLOCK_SKEW_S,
) -> ImportResult:
    """Import a bundle (as read from a file or received over HTTP, named `name` in errors):
    nothing of it is stored unless all of it is admitted and every new entry takes effect.
    Then this node's contingents react: they reveal their positions in rounds every
    contingent has now committed to, and log their own receipt of complaints received
    elsewhere."""
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
        file_keys = {c.id: c.public_key for c in mission.contingents.values()}
        admitted = admit(
            held, entries, file_keys=file_keys, contingents=list(mission.contingents),
            now_us=time.time_ns() // 1000, skew_us=skew_s * 1_000_000,
        )  # fmt: skip
        if admitted.faults:
            reasons = "; ".join(str(f) for f in admitted.faults[:5])
            raise TrucelineError(f"{name}: the bundle is refused, nothing imported: {reasons}")
        fresh = admitted.fresh
        for entry in sorted(fresh, key=lambda e: (e.contingent, e.seq)):
            repo.insert_entry(conn, entry)
        for contingent, head in admitted.heads.items():
            _set_head(conn, contingent, head)
        # Held entries are applied already and never depend on fresh ones: ordering the fresh
        # ones alone gives the order a rebuild from every entry gives them.
        for entry in causal_order(fresh):
            try:
                apply_entry(conn, mission, entry)
            except TrucelineError as exc:
                raise TrucelineError(
                    f"{name}: the bundle is refused, nothing imported: {exc}"
                ) from None
        signers = local_signers(conn, mission, keyring)
        revealed = reveal_ready(conn, mission, signers)
        receive_complaints(conn, mission, signers)
        c = t.cases
        ids = sorted(
            {int(i) for i in conn.execute(select(c.c.id).where(c.c.key.in_(revealed))).scalars()}
        )
        return ImportResult(len(entries), len(fresh), ids)


def _set_head(conn: Connection, contingent: str, head: tuple[int, str]) -> None:
    h = t.ledger_heads
    current = conn.execute(select(h.c.seq).where(h.c.contingent == contingent)).scalar()
    if current is None:
        conn.execute(insert(h).values(contingent=contingent, seq=head[0], hash=head[1]))
    elif int(current) < head[0]:
        conn.execute(
            update(h).where(h.c.contingent == contingent).values(seq=head[0], hash=head[1])
        )
