"""Exchanging logs between nodes: a bundle is every entry a node holds; importing one is a
union of entries. Nothing of a bundle is stored unless all of it is admitted (the sender is
never trusted: see `domain.ledger.admit`) and every new entry takes effect; the entries are
applied by the same projector as local changes, so there is no second writer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from truceline.domain import actions
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import Entry, Fault, admit, entry_from_dict
from truceline.errors import TrucelineError
from truceline.i18n.message import M, Message, joined
from truceline.mission import Mission
from truceline.services.ledger import KeyRing, local_signers
from truceline.services.projector import apply_entry, causal_order
from truceline.services.verification import receive_complaints, reveal_ready
from truceline.store import imports
from truceline.store import ledger as repo
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

FORMAT = "truceline/bundle@2"


PAGE_MAX = 5000  # entries in one page of a bundle over HTTP


def bundle_of(
    engine: Engine, *, after: dict[str, int] | None = None, limit: int | None = None
) -> dict[str, Any]:
    """The entries held here (those after `after`, `{contingent: seq}`, when given; at most
    `limit`, in causal order, so that every page stands on the pages before it) with the
    evidence they name: the mission files, every import batch's rows, the attachments of
    complaints. `next` is the cursor of the following page, or None."""
    require_schema(engine)
    after = after or {}
    with engine.connect() as conn:
        mission = load_mission(conn)
        here = conn.execute(select(t.nodes.c.id)).scalar()
        wanted = [e for e in repo.all_entries(conn) if e.seq > after.get(e.contingent, -1)]
        ordered = causal_order(wanted)
        page = ordered if limit is None else ordered[:limit]
        evidence = [_evidence(conn, here, e) for e in page if e.action == actions.IMPORT_BATCH]
        attachments = _attachments(conn, page)
        files = [
            {str(k): v for k, v in row._asdict().items()}  # plain names (not quoted_name)
            for row in conn.execute(select(t.mission_files))
        ]
    cursor = dict(after)
    for entry in page:
        cursor[entry.contingent] = max(cursor.get(entry.contingent, -1), entry.seq)
    more = limit is not None and len(ordered) > limit
    return {
        "format": FORMAT,
        "mission": mission.id,
        "mission_sha256": mission.sha256,
        "mission_files": files,
        "entries": [e.as_dict() for e in page],
        "evidence": [x for x in evidence if x is not None],
        "attachments": attachments,
        "next": format_cursor(cursor) if more else None,
    }


def format_cursor(cursor: dict[str, int]) -> str:
    return ",".join(f"{c}:{seq}" for c, seq in sorted(cursor.items()))


def parse_cursor(text: str | None) -> dict[str, int]:
    """`blue:5,green:3` → {"blue": 5, "green": 3}: the last seq of each log already held."""
    if not text:
        return {}
    cursor = {}
    for part in text.split(","):
        contingent, _, seq = part.partition(":")
        if not contingent or not seq.isdigit() or len(seq) > 18:
            raise TrucelineError(
                M("after={text!r}: write contingent:seq,… (e.g. blue:5,green:3)", text=text)
            )
        cursor[contingent] = int(seq)
    return cursor


def _evidence(conn: Connection, here: str | None, entry: Entry) -> dict[str, Any] | None:
    p = entry.payload
    node, batch, kind = str(p["node"]), int(p["batch"]), str(p["kind"])
    local = imports.local_batch(conn, here, node, batch)
    if local is None:
        return None  # not held here: the receiver refuses the entry, naming it
    rows = imports.batch_rows(conn, imports.SPECS[kind], local)
    return {"node": node, "batch": batch, "kind": kind, "rows": [list(r) for r in rows]}


def _attachments(conn: Connection, page: list[Entry]) -> dict[str, str]:
    wanted = {
        a["sha256"]
        for e in page
        if e.action == actions.COMPLAINT_RECEIVED
        for a in e.payload["document"].get("attachments", [])
    }
    a = t.attachments
    rows = conn.execute(select(a.c.sha256, a.c.content).where(a.c.sha256.in_(sorted(wanted))))
    return {digest: base64.b64encode(bytes(content)).decode() for digest, content in rows}


def export_bundle(engine: Engine, path: Path) -> int:
    """Write every entry of every log held here, with its evidence; the number written."""
    bundle = bundle_of(engine)
    path.write_text(json.dumps(bundle, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return len(bundle["entries"])


@dataclass
class ImportResult:
    received: int
    new: int
    revealed: list[int]  # local case ids revealed by this import
    evidence: int = 0  # rows of other nodes' import batches stored
    differing: list[str] = field(default_factory=list)  # runs whose findings this node differs on


def _read(path: Path) -> Any:
    try:
        bundle: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrucelineError(
            M("{path}: cannot read: {reason}", path=str(path), reason=exc.strerror)
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrucelineError(
            M("{path}: not a bundle (not JSON: {reason})", path=str(path), reason=str(exc))
        ) from None
    return bundle


def _entries_of(bundle: Any, name: str) -> list[Entry]:
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise TrucelineError(M("{name}: not a bundle of format {format}", name=name, format=FORMAT))
    try:
        return [entry_from_dict(item) for item in bundle["entries"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise TrucelineError(
            M("{name}: a malformed entry ({reason}); nothing imported", name=name, reason=str(exc))
        ) from None


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
                M(
                    "{name}: the bundle is for mission file {theirs}…, this node holds {ours}…; "
                    "nothing imported",
                    name=name,
                    theirs=str(bundle.get("mission_sha256"))[:12],
                    ours=mission.sha256[:12],
                )
            )
        held = repo.all_entries(conn)
        file_keys = {c.id: c.public_key for c in mission.contingents.values()}
        admitted = admit(
            held, entries, file_keys=file_keys, contingents=list(mission.contingents),
            now_us=time.time_ns() // 1000, skew_us=skew_s * 1_000_000,
        )  # fmt: skip
        if admitted.faults:
            reasons = joined([_fault(f) for f in admitted.faults[:5]])
            raise TrucelineError(_refused(name, reasons))
        fresh = admitted.fresh
        try:
            stored = _store_evidence(conn, bundle, held, fresh)
        except TrucelineError as exc:
            raise TrucelineError(_refused(name, exc)) from None
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
                raise TrucelineError(_refused(name, exc)) from None
        differing = _differing_runs(conn, mission, [*held, *fresh], fresh)
        signers = local_signers(conn, mission, keyring)
        revealed = reveal_ready(conn, mission, signers)
        receive_complaints(conn, mission, signers)
        c = t.cases
        ids = sorted(
            {int(i) for i in conn.execute(select(c.c.id).where(c.c.key.in_(revealed))).scalars()}
        )
        return ImportResult(len(entries), len(fresh), ids, stored, differing)


def _fault(fault: Fault) -> Message:
    """A fault as `str(fault)` says it (`blue#3: why`), its problem said in the reader's
    language."""
    seq = fault.seq
    where = f"{fault.contingent}#{seq}" if seq is not None else fault.contingent
    return M("{where}: {problem}", where=where, problem=fault.problem)


def _refused(name: str, reason: object) -> Message:
    """A bundle refused (nothing imported), and why: a message, or a refusal's message."""
    if isinstance(reason, TrucelineError):
        reason = reason.args[0] if reason.args else ""
    return M("{name}: the bundle is refused, nothing imported: {reason}", name=name,
             reason=reason)  # fmt: skip


def _set_head(conn: Connection, contingent: str, head: tuple[int, str]) -> None:
    h = t.ledger_heads
    current = conn.execute(select(h.c.seq).where(h.c.contingent == contingent)).scalar()
    if current is None:
        conn.execute(insert(h).values(contingent=contingent, seq=head[0], hash=head[1]))
    elif int(current) < head[0]:
        conn.execute(
            update(h).where(h.c.contingent == contingent).values(seq=head[0], hash=head[1])
        )


def _store_evidence(
    conn: Connection, bundle: dict[str, Any], held: list[Entry], fresh: list[Entry]
) -> int:
    """Store what the fresh entries name and this node does not hold: mission files, import
    batches' rows, attachments, each checked against its hash first. Refused, naming the
    entry, when the bundle lacks it or it does not match, or when an entry claims an import
    batch another entry names already, or one of this node's own. The rows stored."""
    _store_mission_files(conn, bundle)
    stored = _store_batches(conn, bundle, held, fresh)
    _store_attachments(conn, bundle, fresh)
    return stored


def _store_mission_files(conn: Connection, bundle: dict[str, Any]) -> None:
    files = {f.get("sha256"): f for f in _list(bundle, "mission_files") if isinstance(f, dict)}
    held_files = set(conn.execute(select(t.mission_files.c.sha256)).scalars())
    for sha, row in files.items():
        if sha in held_files:
            continue
        try:
            if canonical_sha256(json.loads(row["document"])) != sha:
                raise TrucelineError(
                    M("mission file {sha}… does not match its sha256", sha=str(sha)[:12])
                )
            conn.execute(insert(t.mission_files).values(**{
                k: row[k] for k in ("sha256", "mission_id", "source_name", "source_text",
                                    "document", "loaded_at_us")
            }))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise TrucelineError(
                M("a malformed mission file ({reason})", reason=str(exc))
            ) from None


def _store_batches(
    conn: Connection, bundle: dict[str, Any], held: list[Entry], fresh: list[Entry]
) -> int:
    here = conn.execute(select(t.nodes.c.id)).scalar()
    claimed = {
        (str(e.payload.get("node")), e.payload.get("batch")): f"{e.contingent}#{e.seq}"
        for e in held
        if e.action == actions.IMPORT_BATCH
    }
    evidence = {}
    for item in _list(bundle, "evidence"):
        if isinstance(item, dict):
            evidence[(str(item.get("node")), item.get("batch"))] = item
    stored = 0
    now = time.time_ns() // 1000
    for entry in fresh:
        if entry.action != actions.IMPORT_BATCH:
            continue
        p = entry.payload
        node, batch, kind = str(p.get("node")), p.get("batch"), p.get("kind")
        where = f"{entry.contingent}#{entry.seq}"
        if kind not in imports.SPECS or not isinstance(batch, int):
            raise TrucelineError(
                M("{where}: not an import batch of observations or positions", where=where)
            )
        if (node, batch) in claimed:
            raise TrucelineError(
                M(
                    "{where} claims import batch {batch} of node {node}, which {other} names "
                    "already",
                    where=where,
                    batch=batch,
                    node=node,
                    other=claimed[(node, batch)],
                )
            )
        claimed[(node, batch)] = where
        if node == here:
            raise TrucelineError(
                M(
                    "{where} names an import batch of this node ({batch}) that no log here holds",
                    where=where,
                    batch=batch,
                )
            )
        item = evidence.get((node, batch))
        if item is None or not isinstance(item.get("rows"), list):
            raise TrucelineError(
                M("{where}: the bundle carries no rows for its import batch", where=where)
            )
        spec = imports.SPECS[kind]
        rows = []
        for index, row in enumerate(item["rows"]):
            problem = imports.row_problem(spec, row)
            if problem:
                raise TrucelineError(
                    M(
                        "{where}: row {index} of its import batch: {problem}",
                        where=where,
                        index=index,
                        problem=problem,
                    )
                )
            rows.append(tuple(row))
        if imports.batch_digest(spec, rows) != (p.get("rows"), p.get("sha256")):
            raise TrucelineError(
                M("{where}: the rows carried do not match its logged hash", where=where)
            )
        if len({imports.uid_of(spec, r) for r in rows}) != len(rows):
            raise TrucelineError(M("{where}: its import batch names one row twice", where=where))
        conflicts = imports.store_foreign_batch(
            conn, spec, node=node, batch=batch, kind=kind, rows=rows, now_us=now
        )
        if conflicts:
            raise TrucelineError(
                M(
                    "{where}: row {row} of its import batch is held here with other "
                    "content (the same source and id)",
                    where=where,
                    row=conflicts[0],
                )
            )
        stored += len(rows)
    return stored


def _store_attachments(conn: Connection, bundle: dict[str, Any], fresh: list[Entry]) -> None:
    given = bundle.get("attachments")
    carried: dict[str, Any] = given if isinstance(given, dict) else {}
    have = set(conn.execute(select(t.attachments.c.sha256)).scalars())
    for entry in fresh:
        if entry.action != actions.COMPLAINT_RECEIVED:
            continue
        for listed in entry.payload.get("document", {}).get("attachments", []):
            digest = str(listed.get("sha256")) if isinstance(listed, dict) else ""
            if digest in have:
                continue
            try:
                content = base64.b64decode(carried[digest], validate=True)
            except (KeyError, TypeError, binascii.Error):
                where = f"{entry.contingent}#{entry.seq}"
                raise TrucelineError(
                    M(
                        "{where}: the bundle carries no attachment {digest}…",
                        where=where,
                        digest=str(digest)[:12],
                    )
                ) from None
            if hashlib.sha256(content).hexdigest() != digest:
                raise TrucelineError(
                    M("attachment {digest}… does not match its sha256", digest=str(digest)[:12])
                )
            conn.execute(
                insert(t.attachments).values(sha256=digest, size=len(content), content=content)
            )
            have.add(digest)


def _list(bundle: dict[str, Any], key: str) -> list[Any]:
    value = bundle.get(key, [])
    if not isinstance(value, list):
        raise TrucelineError(M("{key} is not a list", key=key))
    return value


EVIDENCE = (actions.IMPORT_BATCH, actions.OBSERVATION_RETRACTED)


def _differing_runs(
    conn: Connection, mission: Mission, every: list[Entry], fresh: list[Entry]
) -> list[str]:
    """Each new assessment run of another node whose author had seen all the evidence this
    node holds is run again here over the same window: findings that hash otherwise are
    named (the evidence is the same, so the engines must agree)."""
    from truceline.services.assess import assess_window, findings_digest

    here = conn.execute(select(t.nodes.c.id)).scalar()
    seq_of = {(e.contingent, e.hash): e.seq for e in every}
    evidence = [e for e in every if e.action in EVIDENCE]
    differing: list[str] = []
    for run in fresh:
        if run.action != actions.ASSESSMENT_RUN or run.payload.get("node") == here:
            continue
        bound = {c: seq_of.get((c, h), -1) for c, h in run.seen.items()}
        bound[run.contingent] = run.seq
        if any(e.seq > bound.get(e.contingent, -1) for e in evidence):
            continue  # this node holds evidence the run had not seen
        p = run.payload
        found = assess_window(conn, mission, p.get("window_from"), p.get("window_to"))
        if findings_digest(found.findings) != p.get("sha256"):
            where = f"{run.contingent}#{run.seq}"
            differing.append(
                M(
                    "{where}: its assessment run found other findings than this node's engine "
                    "makes of the same evidence",
                    where=where,
                )
            )
    return differing
