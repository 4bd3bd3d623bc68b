"""Keys and the contingents' logs: starting them, appending to them, verifying them."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, select

from truceline.domain import keys
from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import GENESIS, Entry, Fault, make_entry, pinned_keys, verify_chains
from truceline.errors import TrucelineError
from truceline.mission import Mission
from truceline.store import imports
from truceline.store import ledger as repo
from truceline.store import tables as t


class KeyRing:
    """Private keys in a folder: `<contingent>.key` (PEM, mode 0600). Never in the database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, contingent: str) -> Path:
        return self.folder / f"{contingent}.key"

    def has(self, contingent: str) -> bool:
        return self.path(contingent).is_file()

    def generate(self, contingent: str) -> str:
        path = self.path(contingent)
        if path.exists():
            raise TrucelineError(f"{path} exists already; a key is never overwritten")
        self.folder.mkdir(parents=True, exist_ok=True)
        key = keys.generate()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(keys.private_pem(key))
        return keys.public_text(key)

    def load(self, contingent: str, pinned: str | None) -> Ed25519PrivateKey:
        path = self.path(contingent)
        try:
            key = keys.load_private_pem(path.read_bytes())
        except FileNotFoundError:
            raise TrucelineError(
                f"no private key for contingent {contingent!r}: looked for {path}"
            ) from None
        except (OSError, ValueError) as exc:
            raise TrucelineError(f"{path}: not a usable Ed25519 private key ({exc})") from None
        actual = keys.public_text(key)
        if pinned is not None and actual != pinned:
            raise TrucelineError(
                f"{path} holds key {actual}, but {contingent!r}'s pinned key is {pinned}; refused"
            )
        return key


def node_id(conn: Connection) -> str:
    """This database's own id (made once): it tells its import batches from other nodes'."""
    existing = conn.execute(select(t.nodes.c.id)).scalar()
    if existing is not None:
        return str(existing)
    made = secrets.token_hex(8)
    conn.execute(insert(t.nodes).values(id=made))
    return made


def pinned_key(conn: Connection, mission: Mission, contingent: str) -> str | None:
    file_keys = {c.id: c.public_key for c in mission.contingents.values()}
    return pinned_keys(file_keys, repo.genesis_entries(conn)).get(contingent)


def append(
    conn: Connection,
    keyring: KeyRing,
    mission: Mission,
    contingent: str,
    *,
    actor: str,
    action: str,
    payload: dict[str, Any],
    key: Ed25519PrivateKey | None = None,
) -> Entry:
    """Append a signed entry to `contingent`'s log (in the caller's transaction)."""
    key = key or keyring.load(contingent, pinned_key(conn, mission, contingent))
    for _ in range(5):
        current = repo.heads(conn)
        head = current.get(contingent)
        seen = {c: h for c, (_, h) in current.items() if c != contingent}
        entry = make_entry(
            key,
            contingent=contingent,
            seq=0 if head is None else head[0] + 1,
            prev=None if head is None else head[1],
            seen=seen,
            time=time.time_ns() // 1000,
            actor=actor,
            action=action,
            payload=payload,
        )
        if repo.advance_head(conn, contingent, head, (entry.seq, entry.hash)):
            repo.insert_entry(conn, entry)
            return entry
    raise TrucelineError(f"{contingent}'s log is busy; try again")


def start_logs(conn: Connection, keyring: KeyRing, mission: Mission) -> list[str]:
    """Write the genesis entry of every contingent whose key is here and whose log has none:
    it carries the mission's sha256 and the pinned public keys."""
    current = repo.heads(conn)
    started = []
    for contingent in mission.contingents.values():
        if contingent.id in current or not keyring.has(contingent.id):
            continue
        key = keyring.load(contingent.id, contingent.public_key)
        own = keys.public_text(key)
        public_keys = {c.id: c.public_key for c in mission.contingents.values() if c.public_key}
        public_keys[contingent.id] = own
        payload = {
            "mission": mission.id,
            "mission_sha256": mission.sha256,
            "public_keys": public_keys,
        }
        append(
            conn,
            keyring,
            mission,
            contingent.id,
            actor="init",
            action=GENESIS,
            payload=payload,
            key=key,
        )
        started.append(contingent.id)
    return started


def acting_contingent(keyring: KeyRing, mission: Mission, wanted: str | None) -> str:
    """Who signs: the one named, else the only contingent whose key is here, else the first
    (in the mission's order) whose key is here."""
    if wanted is not None:
        if wanted not in mission.contingents:
            raise TrucelineError(
                f"--as {wanted!r} is not a contingent ({', '.join(mission.contingents)})"
            )
        return wanted
    present = [c for c in mission.contingents if keyring.has(c)]
    if not present:
        looked = ", ".join(str(keyring.path(c)) for c in mission.contingents)
        raise TrucelineError(f"no contingent's private key found: looked for {looked}")
    return present[0]


@dataclass(frozen=True)
class Signer:
    contingent: str
    key: Ed25519PrivateKey
    keyring: KeyRing

    def log(
        self, conn: Connection, mission: Mission, action: str, payload: dict[str, Any]
    ) -> Entry:
        return append(
            conn, self.keyring, mission, self.contingent, actor=self.contingent, action=action,
            payload=payload, key=self.key,
        )  # fmt: skip


def signer(
    conn: Connection, mission: Mission, keyring: KeyRing | None, acting: str | None
) -> Signer | None:
    """Who signs a state change, once the logs are started (None before): the key is loaded
    and checked against the pinned key before any work is done."""
    if not repo.started(conn):
        return None
    if keyring is None:
        raise TrucelineError(
            "this centre's logs are started: the change must be signed (give --key-dir)"
        )
    contingent = acting_contingent(keyring, mission, acting)
    key = keyring.load(contingent, pinned_key(conn, mission, contingent))
    return Signer(contingent, key, keyring)


def local_signers(conn: Connection, mission: Mission, keyring: KeyRing | None) -> dict[str, Signer]:
    """A signer for every contingent whose key is here (none before the logs start)."""
    if keyring is None or not repo.started(conn):
        return {}
    return {
        c: Signer(c, keyring.load(c, pinned_key(conn, mission, c)), keyring)
        for c in mission.contingents
        if keyring.has(c)
    }


@dataclass
class LedgerReport:
    faults: list[Fault] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    entries: int = 0
    started: bool = True

    @property
    def ok(self) -> bool:
        return self.started and not self.faults

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "started": self.started,
            "entries": self.entries,
            "heads": {c: {"seq": s, "hash": h} for c, (s, h) in self.heads.items()},
            "faults": [
                {"contingent": f.contingent, "seq": f.seq, "problem": f.problem}
                for f in self.faults
            ],
        }


def verify_ledger(conn: Connection, mission: Mission) -> LedgerReport:
    """Every chain, signature and pinned key; the mission files the logs name; and every
    import batch's rows against the hash its log entry carries."""
    entries = repo.all_entries(conn)
    if not entries:
        return LedgerReport(started=False)
    file_keys = {c.id: c.public_key for c in mission.contingents.values()}
    chains = verify_chains(entries, file_keys)
    report = LedgerReport(list(chains.faults), chains.heads, len(entries))
    report.faults += _mission_faults(conn, entries)
    report.faults += _batch_faults(conn, entries)
    report.faults += _assessment_faults(conn, entries)
    report.faults += _report_faults(entries)
    report.faults.sort(key=lambda f: (f.contingent, -1 if f.seq is None else f.seq))
    return report


def _report_faults(entries: list[Entry]) -> list[Fault]:
    """A signed report must hash to the sha256 its entry names (readers check that)."""
    return [
        Fault(entry.contingent, entry.seq, "the signed report does not match its sha256")
        for entry in entries
        if entry.action == "report_signed"
        and canonical_sha256(entry.payload.get("report")) != entry.payload.get("sha256")
    ]


def _mission_faults(conn: Connection, entries: list[Entry]) -> list[Fault]:
    faults = []
    stored = {
        row.sha256: row.document
        for row in conn.execute(select(t.mission_files.c.sha256, t.mission_files.c.document))
    }
    logged: set[str] = set()
    for entry in entries:
        sha = entry.payload.get("mission_sha256")
        if entry.action not in (GENESIS, "mission_changed") or not isinstance(sha, str):
            continue
        logged.add(sha)
        document = stored.get(sha)
        if document is None:
            faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    f"the mission file {sha[:12]}… it names is not stored",
                )
            )
        elif canonical_sha256(json.loads(document)) != sha:
            faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    f"the mission file {sha[:12]}… was changed after this entry",
                )
            )
    current = conn.execute(select(t.missions.c.sha256)).scalar()
    if current is not None and current not in logged:
        faults.append(
            Fault("mission", None, f"the mission in force ({current[:12]}…) is in no log")
        )
    return faults


def batch_hash_from_rows(conn: Connection, kind: str, batch: int) -> tuple[int, str]:
    """(rows, sha256) of an import batch, recomputed from the stored rows."""
    spec = imports.OBSERVATIONS if kind == "observations" else imports.POSITIONS
    table = spec.table
    rehash = obs.row_hash if kind == "observations" else pos.row_hash
    digest = imports.BatchHash()
    query = (
        select(*[table.c[f] for f in spec.fields])
        .where(table.c.batch_id == batch)
        .order_by(table.c.id)
    )
    hashes = [rehash(tuple(row)) for row in conn.execute(query)]
    digest.add(hashes)
    return len(hashes), digest.hexdigest()


def _batch_faults(conn: Connection, entries: list[Entry]) -> list[Fault]:
    """Import batches of this node (other nodes keep their own rows)."""
    faults = []
    logged: set[int] = set()
    here = conn.execute(select(t.nodes.c.id)).scalar()  # verifying writes nothing
    for entry in entries:
        if entry.action != "import_batch" or entry.payload.get("node") != here:
            continue
        payload = entry.payload
        batch = int(payload["batch"])
        logged.add(batch)
        rows, sha = batch_hash_from_rows(conn, str(payload["kind"]), batch)
        if (rows, sha) != (payload["rows"], payload["sha256"]):
            faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    f"the stored {payload['kind']} of import batch {batch} do not match the logged "
                    f"hash ({rows} rows now, {payload['rows']} logged): changed after import",
                )
            )
    b = t.import_batches
    for (batch,) in conn.execute(select(b.c.id).order_by(b.c.id)):
        if int(batch) not in logged:
            faults.append(Fault("import", None, f"import batch {batch} is in no contingent's log"))
    return faults


def _assessment_faults(conn: Connection, entries: list[Entry]) -> list[Fault]:
    """A revealed position must hash to the commitment filed before it; a stored position
    must still match its commitment."""
    from truceline.domain.cases import Position, commitment

    a = t.assessments
    faults = []
    for entry in entries:
        p = entry.payload
        if entry.action == "assessment_revealed":
            position = Position(p["verdict"], p["attribution"], p["rationale"])
            if commitment(position, p["salt"]) != p["commitment"]:
                faults.append(
                    Fault(
                        entry.contingent,
                        entry.seq,
                        "the revealed position is not the one committed to",
                    )
                )
        if entry.action != "assessment_filed":
            continue
        row = conn.execute(select(a).where(a.c.commitment == p["commitment"])).first()
        if row is None:
            faults.append(
                Fault(entry.contingent, entry.seq, "the assessment it commits to is not stored")
            )
        elif row.verdict is not None:
            stored = Position(row.verdict, row.attribution, row.rationale)
            if commitment(stored, row.salt) != p["commitment"]:
                faults.append(
                    Fault(
                        entry.contingent,
                        entry.seq,
                        f"assessment {row.id} was changed after it was filed",
                    )
                )
    return faults
