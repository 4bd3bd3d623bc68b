"""Keys and the contingents' logs: starting them, appending to them, verifying them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, select

from truceline.domain import actions, keys
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import GENESIS, Entry, Fault, make_entry, pinned_keys, verify_chains
from truceline.errors import FieldError, TrucelineError
from truceline.i18n.message import M
from truceline.mission import Mission
from truceline.store import imports, projection
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
            raise TrucelineError(
                M("{path} exists already; a key is never overwritten", path=str(path))
            )
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
                M(
                    "no private key for contingent {contingent!r}: looked for {path}",
                    contingent=contingent,
                    path=str(path),
                )
            ) from None
        except (OSError, ValueError) as exc:
            raise TrucelineError(
                M(
                    "{path}: not a usable Ed25519 private key ({reason})",
                    path=str(path),
                    reason=str(exc),
                )
            ) from None
        actual = keys.public_text(key)
        if pinned is not None and actual != pinned:
            raise TrucelineError(
                M(
                    "{path} holds key {actual}, but {contingent!r}'s pinned key is {pinned}; "
                    "refused",
                    path=str(path),
                    actual=actual,
                    contingent=contingent,
                    pinned=pinned,
                )
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
    repo.lock_head(conn, contingent)
    for _ in range(5):
        current = repo.heads(conn)
        head = current.get(contingent)
        # A log's clock never goes back, even when this machine's does.
        now = max(time.time_ns() // 1000, repo.time_of(conn, contingent, head))
        seen = {c: h for c, (_, h) in current.items() if c != contingent}
        entry = make_entry(
            key,
            contingent=contingent,
            seq=0 if head is None else head[0] + 1,
            prev=None if head is None else head[1],
            seen=seen,
            time=now,
            actor=actor,
            action=action,
            payload=payload,
        )
        if repo.advance_head(conn, contingent, head, (entry.seq, entry.hash)):
            repo.insert_entry(conn, entry)
            return entry
    raise TrucelineError(M("{contingent}'s log is busy; try again", contingent=contingent))


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
            known = ", ".join(mission.contingents)
            raise FieldError(
                "acting", M("{wanted!r} is not a contingent ({known})", wanted=wanted, known=known)
            )
        return wanted
    present = [c for c in mission.contingents if keyring.has(c)]
    if not present:
        looked = ", ".join(str(keyring.path(c)) for c in mission.contingents)
        raise TrucelineError(
            M("no contingent's private key found: looked for {looked}", looked=looked)
        )
    return present[0]


@dataclass(frozen=True)
class Signer:
    contingent: str
    key: Ed25519PrivateKey
    keyring: KeyRing

    def log(
        self,
        conn: Connection,
        mission: Mission,
        action: str,
        payload: dict[str, Any],
        *,
        actor: str | None = None,
    ) -> Entry:
        return append(
            conn, self.keyring, mission, self.contingent, actor=actor or self.contingent,
            action=action, payload=payload, key=self.key,
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
            M("this centre's logs are started: the change must be signed (give --key-dir)")
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

    def problems(self) -> list[dict[str, Any]]:
        found = [
            {"contingent": f.contingent, "seq": f.seq, "problem": f.problem} for f in self.faults
        ]
        if not self.started:
            found.insert(
                0, {"contingent": None, "seq": None, "problem": M("the logs are not started")}
            )
        return found

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


def verify_ledger(
    conn: Connection,
    mission: Mission,
    *,
    checkpoints: list[dict[str, tuple[int, str]]] | None = None,
) -> LedgerReport:
    """Every chain, signature and pinned key; `seen` references and the heads; the mission
    files the logs name; the evidence (import batches' rows, attachments, the findings and
    incidents of the engine, recomputed); every projection re-derived from the entries alone
    and compared with the tables; and no log shorter than, or different from, a checkpoint."""
    from truceline.services import projector

    entries = repo.all_entries(conn)
    if not entries:
        return LedgerReport(started=False)
    file_keys = {c.id: c.public_key for c in mission.contingents.values()}
    chains = verify_chains(entries, file_keys, contingents=list(mission.contingents))
    report = LedgerReport(list(chains.faults), chains.heads, len(entries))
    report.faults += _head_faults(conn, chains.heads)
    report.faults += _mission_faults(conn, entries)
    report.faults += _batch_faults(conn, entries)
    report.faults += _attachment_faults(conn)
    report.faults += _run_faults(conn, entries)
    report.faults += _sealed_faults(conn)
    report.faults += _engine_faults(conn, mission)
    derived, replay = projector.derive(conn, mission, entries)
    report.faults += replay.faults
    report.faults += projector.differences(projection.snapshot(conn), derived)
    for checkpoint in checkpoints or []:
        report.faults += checkpoint_faults(entries, checkpoint)
    report.faults.sort(key=lambda f: (f.contingent, -1 if f.seq is None else f.seq))
    return report


def checkpoint_faults(entries: list[Entry], checkpoint: dict[str, tuple[int, str]]) -> list[Fault]:
    """A log shorter than a checkpoint someone holds was rolled back; another hash at its seq
    is an equivocation."""
    at = {(e.contingent, e.seq): e.hash for e in entries}
    faults = []
    for contingent, (seq, digest) in sorted(checkpoint.items()):
        held = at.get((contingent, seq))
        if held is None:
            faults.append(
                Fault(contingent, seq, M("the checkpoint holds this entry; the log here is "
                                         "shorter (rolled back)"))
            )  # fmt: skip
        elif held != digest:
            faults.append(
                Fault(contingent, seq, M("equivocation: the checkpoint has {digest}… here, "
                                         "the log has {held}…", digest=digest[:12],
                                         held=held[:12]))
            )  # fmt: skip
    return faults


def _head_faults(conn: Connection, heads: dict[str, tuple[int, str]]) -> list[Fault]:
    """`ledger_heads` must name the last entry of every log: entries deleted from the end of
    a log (with the head left, or rewound) show here or in another log's `seen`."""
    stored = repo.heads(conn)
    faults = []
    for contingent in sorted(set(stored) | set(heads)):
        table, chain = stored.get(contingent), heads.get(contingent)
        if table != chain:
            faults.append(
                Fault(contingent, None if table is None else table[0],
                      M("ledger_heads says {table}, the last entry held is {chain}",
                        table=table, chain=chain))
            )  # fmt: skip
    return faults


def _attachment_faults(conn: Connection) -> list[Fault]:
    a = t.attachments
    faults = []
    for digest, content in conn.execute(select(a.c.sha256, a.c.content)):
        if hashlib.sha256(bytes(content)).hexdigest() != digest:
            faults.append(
                Fault(
                    "attachments", None, M("attachment {digest}… was changed", digest=digest[:12])
                )
            )
    return faults


def _run_faults(conn: Connection, entries: list[Entry]) -> list[Fault]:
    """Every assessment run of this node is logged."""
    here = conn.execute(select(t.nodes.c.id)).scalar()
    logged = {
        int(e.payload["run"])
        for e in entries
        if e.action == actions.ASSESSMENT_RUN and e.payload.get("node", here) == here
    }
    r = t.assessment_runs
    return [
        Fault("assessment_runs", None, M("assessment run {run} is in no contingent's log", run=run))
        for (run,) in conn.execute(select(r.c.id).order_by(r.c.id))
        if int(run) not in logged
    ]


def _sealed_faults(conn: Connection) -> list[Fault]:
    """A position sealed here must still open its commitment."""
    from truceline.domain.cases import Position, commitment

    s, a = t.sealed_positions, t.assessments
    rows = conn.execute(
        select(s, a.c.case_key, a.c.round, a.c.contingent).join(
            a, a.c.commitment == s.c.commitment, isouter=True
        )
    )
    faults = []
    for row in rows:
        position = Position(row.verdict, row.attribution, row.rationale)
        if (
            row.case_key is None
            or commitment(
                position,
                row.salt,
                case=row.case_key,
                round=int(row.round),
                contingent=row.contingent,
            )
            != row.commitment
        ):
            faults.append(
                Fault("sealed_positions", None,
                      M("the sealed position {commitment}… no longer opens its commitment",
                        commitment=row.commitment[:12]))
            )  # fmt: skip
    return faults


def _engine_faults(conn: Connection, mission: Mission) -> list[Fault]:
    """The active incidents and findings must be what the engine makes of the evidence now
    held (it is a pure function of the mission, the observations, the positions and the
    retractions): an edited finding or incident shows as a difference."""
    from truceline.services.assess import assess_window
    from truceline.store import compliance

    last = compliance.last_run(conn)
    if last is None:
        return []
    if compliance.new_data_window(conn, last.last_observation_id, last.last_position_id):
        return []  # evidence not assessed yet: the findings are checked once `assess` has run
    result = assess_window(conn, mission, None, None)
    expected = {f.key: f for f in result.findings}
    stored = compliance.active_findings_for_check(conn)
    faults = []
    for key in sorted(set(expected) | set(stored)):
        if key not in stored:
            faults.append(
                Fault(
                    "findings", None, M("finding {key}: the evidence makes it, not stored", key=key)
                )
            )
        elif key not in expected:
            faults.append(
                Fault(
                    "findings",
                    None,
                    M("finding {key}: stored, the evidence does not make it", key=key),
                )
            )
        elif compliance.finding_facts(expected[key]) != stored[key]:
            faults.append(
                Fault(
                    "findings",
                    None,
                    M("finding {key}: stored otherwise than the evidence makes it", key=key),
                )
            )
    made = {compliance.incident_facts(i) for i in result.incidents}
    held = set(compliance.active_incidents_for_check(conn))
    for facts in sorted(held - made):
        faults.append(Fault("incidents", None, M("incident {incident}: stored, the evidence "
                            "makes it otherwise or not at all: {facts}", incident=facts[0],
                            facts=facts)))  # fmt: skip
    for facts in sorted(made - held):
        faults.append(Fault("incidents", None, M("incident {incident}: the evidence makes it, "
                            "not stored so: {facts}", incident=facts[0],
                            facts=facts)))  # fmt: skip
    return faults


def _mission_faults(conn: Connection, entries: list[Entry]) -> list[Fault]:
    faults = []
    stored = {
        row.sha256: row.document
        for row in conn.execute(select(t.mission_files.c.sha256, t.mission_files.c.document))
    }
    logged: set[str] = set()
    for entry in entries:
        sha = entry.payload.get("mission_sha256")
        if entry.action not in (GENESIS, actions.MISSION_CHANGED) or not isinstance(sha, str):
            continue
        logged.add(sha)
        document = stored.get(sha)
        if document is None:
            faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    M("the mission file {sha}… it names is not stored", sha=sha[:12]),
                )
            )
        elif canonical_sha256(json.loads(document)) != sha:
            faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    M("the mission file {sha}… was changed after this entry", sha=sha[:12]),
                )
            )
    current = conn.execute(select(t.missions.c.sha256)).scalar()
    if current is not None and current not in logged:
        faults.append(
            Fault(
                "mission", None, M("the mission in force ({sha}…) is in no log", sha=current[:12])
            )
        )
    return faults


def _batch_faults(conn: Connection, entries: list[Entry]) -> list[Fault]:
    """Every logged import batch's rows are held here (this node's own, or stored from a
    bundle) and still hash to what its entry says; every batch held is logged."""
    faults = []
    here = conn.execute(select(t.nodes.c.id)).scalar()  # verifying writes nothing
    b = t.import_batches
    held = {  # (None for this node, or the other node; its batch number there) → batch here
        (node, int(origin if node else ident)): int(ident)
        for ident, node, origin in conn.execute(select(b.c.id, b.c.origin_node, b.c.origin_batch))
    }
    logged: set[tuple[str | None, int]] = set()
    for entry in entries:
        if entry.action != actions.IMPORT_BATCH:
            continue
        p = entry.payload
        node, batch, kind = str(p["node"]), int(p["batch"]), str(p["kind"])
        name = (None if node == here else node, batch)
        logged.add(name)
        where = (
            M("import batch {batch}", batch=batch) if node == here
            else M("import batch {batch} of node {node}", batch=batch, node=node)
        )  # fmt: skip
        if name not in held:
            faults.append(
                Fault(
                    entry.contingent, entry.seq, M("the rows of {batch} are not held", batch=where)
                )
            )
            continue
        spec = imports.SPECS[kind]
        rows, sha = imports.batch_digest(spec, imports.batch_rows(conn, spec, held[name]))
        if (rows, sha) != (p["rows"], p["sha256"]):
            faults.append(
                Fault(
                    entry.contingent,
                    entry.seq,
                    M(
                        "the stored {kind} of {batch} do not match the logged hash ({rows} rows "
                        "now, {logged} logged): changed after import",
                        kind=kind,
                        batch=where,
                        rows=rows,
                        logged=p["rows"],
                    ),
                )
            )
    for name, batch in sorted(held.items(), key=lambda item: item[1]):
        if name not in logged:
            faults.append(
                Fault(
                    "import", None, M("import batch {batch} is in no contingent's log", batch=batch)
                )
            )
    return faults


CHECKPOINT_IN_HTML = re.compile(
    r'<script type="application/json" id="truceline-checkpoint">(.*?)</script>', re.S
)


def read_checkpoint(path: Path) -> dict[str, tuple[int, str]]:
    """The checkpoint `{contingent: (seq, hash)}` of a published report (its JSON's
    `checkpoint`, or the signed JSON its HTML or PDF carries, or the published page's), or of
    a bundle (the last entry of each log it holds)."""
    from truceline.services.reports.verify import Unreadable, signed_record

    try:
        raw = path.read_bytes()
        if raw.startswith(b"%PDF-") or b'id="truceline-report"' in raw:
            try:  # a rendered report: the signed JSON it carries
                data: Any = signed_record(raw)
            except Unreadable as exc:
                raise TrucelineError(
                    M("{path}: {reason}", path=str(path), reason=exc.args[0] if exc.args else "")
                ) from None
        else:
            text = raw.decode("utf-8")
            embedded = CHECKPOINT_IN_HTML.search(text) if text.lstrip().startswith("<") else None
            data = {"checkpoint": json.loads(embedded.group(1))} if embedded else json.loads(text)
    except OSError as exc:
        raise TrucelineError(
            M("{path}: cannot read: {reason}", path=str(path), reason=exc.strerror)
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TrucelineError(
            M("{path}: not a checkpoint (a published report's JSON, or a bundle)", path=str(path))
        ) from None
    try:
        if isinstance(data, dict) and isinstance(data.get("checkpoint"), dict):
            return {str(c): (int(h["seq"]), str(h["hash"])) for c, h in data["checkpoint"].items()}
        if isinstance(data, dict) and isinstance(data.get("entries"), list):
            heads: dict[str, tuple[int, str]] = {}
            for item in data["entries"]:
                c, seq = str(item["contingent"]), int(item["seq"])
                if c not in heads or seq > heads[c][0]:
                    heads[c] = (seq, str(item["hash"]))
            return heads
    except (KeyError, TypeError, ValueError) as exc:
        raise TrucelineError(
            M("{path}: a malformed checkpoint ({reason})", path=str(path), reason=str(exc))
        ) from None
    raise TrucelineError(
        M("{path}: holds no checkpoint (a published report's JSON, or a bundle)", path=str(path))
    )
