"""Signed daily reports. A report is the daily summary of a reporting day with the verdicts of
the cases on its findings. A contingent's chief signs it: an entry `report_signed` in that
contingent's log carries the day, the report's sha256 (canonical JSON) and the report itself,
so every node holding the logs holds the signed text. A report is published once every
contingent has signed the same sha256 for the day; the latest version so agreed is the one
published. A chief signs what was read: signing names the sha256, and a report that changed
since (new findings, a new verdict) is refused, not signed unseen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from truceline.domain import actions
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import Entry
from truceline.domain.timeutil import iso, to_us
from truceline.errors import Conflict, FieldError
from truceline.i18n.message import M
from truceline.mission import Mission
from truceline.services.ledger import KeyRing, append, pinned_key
from truceline.services.projector import apply_entry
from truceline.services.reports import Document
from truceline.services.reports.content import day_content
from truceline.store import ledger as repo
from truceline.store import tables as t
from truceline.store.db import require_schema, snapshot, writing
from truceline.store.missions import load_mission

SIGNED = actions.REPORT_SIGNED
ATTEMPTS = 3  # content computed in a snapshot, then found stale, before computing under the lock


def report_content(engine: Engine, day: date) -> dict[str, Any]:
    """The report of a reporting day as it stands now, read in a snapshot that holds up no
    writer."""
    require_schema(engine)
    with snapshot(engine) as conn:
        return current_content(conn, load_mission(conn), day)


def current_content(conn: Connection, mission: Mission, day: date) -> dict[str, Any]:
    """The day's content (`reports.content`); when a version of the day is published and the
    record has changed since, with what it corrects: that version's number and sha256 and
    what changed, inside the signed content, so a reader can check the correction too."""
    base = day_content(conn, mission, day)
    public = published(conn, mission, day)
    if public is None:
        return base
    signed = public["report"]
    if {k: v for k, v in signed.items() if k != "corrects"} == base:
        return dict(signed)  # the published version, as it was signed
    return {**base, "corrects": {
        "version": public["version"], "sha256": public["sha256"],
        "changes": changes(signed, base),
    }}  # fmt: skip


_WATERMARK = select(
    select(t.missions.c.sha256).limit(1).scalar_subquery(),
    select(func.max(t.assessment_runs.c.id)).scalar_subquery(),
    select(func.max(t.observations.c.id)).scalar_subquery(),
    select(func.max(t.positions.c.id)).scalar_subquery(),
    select(func.count()).select_from(t.retractions).scalar_subquery(),
)


def watermark(conn: Connection) -> tuple[Any, ...]:
    """What a report's content depends on, in a few cheap reads: the heads of the logs (cases,
    rounds, complaints, signed imports), the last assessment run (incidents and findings) and
    the newest observation and position (imports without a log). Equal watermarks, equal
    content."""
    row = conn.execute(_WATERMARK).one()  # one round trip: every page asks for it
    return (row[0], tuple(sorted(repo.heads(conn).items())), *row[1:])


@dataclass(frozen=True)
class Signature:
    contingent: str
    sha256: str
    entry: Entry


def all_signatures(conn: Connection, day: date | None = None) -> dict[str, list[Signature]]:
    """Every report signature in the logs (of one day, if given), by day, in the order they
    were made. A signature whose report does not hash to the sha256 it names counts for
    nothing (and `ledger verify` names it): the text published is always the text every
    contingent signed."""
    e = t.ledger_entries
    query = select(e).where(e.c.action == SIGNED)
    if day is not None:  # (the day's own entries only: each carries a whole report)
        query = query.where(e.c.subject == day.isoformat())
    rows = conn.execute(query.order_by(e.c.time_us, e.c.contingent, e.c.seq))
    by_day: dict[str, list[Signature]] = {}
    for x in repo.entries_of(rows):
        when = str(x.payload.get("date"))
        if day is not None and when != day.isoformat():
            continue
        if canonical_sha256(x.payload.get("report")) != x.payload.get("sha256"):
            continue
        by_day.setdefault(when, []).append(Signature(x.contingent, str(x.payload["sha256"]), x))
    return by_day


def signatures(conn: Connection, day: date) -> list[Signature]:
    """Every signature of the day's report, in the order they were made."""
    return all_signatures(conn, day).get(day.isoformat(), [])


@dataclass(frozen=True)
class Read:
    """A version of a day's report as an account last read it."""

    sha256: str
    content: dict[str, Any] | None  # None when it is the version the caller holds
    read_at_us: int


def last_read(conn: Connection, user_id: int, day: date, holding: str | None = None) -> Read | None:
    """The version of the day's report the account last read (None: never). Its content is
    read (a whole report, megabytes for a busy day) only when it is not the version whose
    sha256 the caller holds already: a reader who reads the same version again costs one
    small query."""
    r = t.report_reads
    content = r.c.content if holding is None else case((r.c.sha256 == holding, None),
                                                       else_=r.c.content)  # fmt: skip
    row = conn.execute(
        select(r.c.sha256, r.c.read_at_us, content.label("content"))
        .where(r.c.user_id == user_id, r.c.day == day.isoformat())
    ).first()  # fmt: skip
    if row is None:
        return None
    known = None if row.content is None else json.loads(row.content)
    return Read(row.sha256, known, row.read_at_us)


def note_read(
    engine: Engine,
    user_id: int,
    day: date,
    sha256: str,
    content: dict[str, Any],
    now_us: int | None = None,
) -> None:
    """Record that the account read this version of the day's report (the report page then
    says what changed since), in a short write of its own; two views at the same moment
    record one of them."""
    r = t.report_reads
    key = (r.c.user_id == user_id) & (r.c.day == day.isoformat())
    try:
        with writing(engine) as conn:
            conn.execute(delete(r).where(key))
            conn.execute(insert(r).values(
                user_id=user_id, day=day.isoformat(), sha256=sha256,
                read_at_us=to_us(datetime.now(UTC)) if now_us is None else now_us,
                content=json.dumps(content, sort_keys=True, separators=(",", ":")),
            ))  # fmt: skip
    except IntegrityError:  # the other view's row is there: the same version, read now
        return


def last_signed(conn: Connection, day: date, contingent: str) -> Signature | None:
    """The contingent's latest signature of the day's report, if any."""
    mine = [s for s in signatures(conn, day) if s.contingent == contingent]
    return mine[-1] if mine else None


def published(
    conn: Connection, mission: Mission, day: date, version: int | None = None
) -> dict[str, Any] | None:
    """The published report of the day (the latest version every contingent signed, or the
    version asked for), with the signed log entries that anyone can check against the pinned
    keys; None if none."""
    return _published(conn, mission, day, signatures(conn, day), version)


def _versions(mission: Mission, signed: list[Signature]) -> list[dict[str, Signature]]:
    """The published versions of a day, in the order they were completed: a version is
    published when every contingent's *latest* signature names its sha256. So a contingent
    that signs an older version later brings nothing back: the others have moved on."""
    latest: dict[str, Signature] = {}
    completed: list[dict[str, Signature]] = []
    for s in signed:
        latest[s.contingent] = s
        if set(latest) != set(mission.contingents):
            continue
        if any(x.sha256 != s.sha256 for x in latest.values()):
            continue
        if completed and next(iter(completed[-1].values())).sha256 == s.sha256:
            continue  # (the same version signed again)
        completed.append({c: latest[c] for c in mission.contingents})
    return completed


def _published(
    conn: Connection,
    mission: Mission,
    day: date,
    signed: list[Signature],
    version: int | None = None,
) -> dict[str, Any] | None:
    """The published report of the day: its latest version, or the one asked for (1, 2, …),
    with what it corrects. Every version stays published and verifiable."""
    versions = _versions(mission, signed)
    if not versions or (version is not None and not 1 <= version <= len(versions)):
        return None
    number = len(versions) if version is None else version
    holders = versions[number - 1]
    first = holders[next(iter(mission.contingents))].entry
    listed = [
        {"version": n, "sha256": next(iter(h.values())).sha256,
         "published": iso(max(x.entry.time for x in h.values()))}
        for n, h in enumerate(versions, start=1)
    ]  # fmt: skip
    record: dict[str, Any] = {
        "date": day.isoformat(),
        "sha256": first.payload["sha256"],
        "version": number,
        "versions": listed,
        "checkpoint": checkpoint_of([s.entry for s in holders.values()]),
        "published": listed[number - 1]["published"],
        "report": first.payload["report"],
        "signatures": [
            {"contingent": c, "public_key": pinned_key(conn, mission, c),
             "entry": holders[c].entry.as_dict()}
            for c in mission.contingents
        ],
    }  # fmt: skip
    return record


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What a correction changed, as data (the renderers say it): clause statements, findings
    added or withdrawn, and verdicts or case states that moved."""
    out: list[dict[str, Any]] = []
    old_lines = {c["clause"]: c for c in before.get("clauses", [])}
    for line in after.get("clauses", []):
        was = old_lines.get(line["clause"])
        if was is not None and (was["status"], was["findings"]) != (
            line["status"],
            line["findings"],
        ):
            out.append({"what": "clause", "clause": line["clause"], "before": was, "after": line})
    old = {f["key"]: f for f in before.get("findings", [])}
    new = {f["key"]: f for f in after.get("findings", [])}
    for key in sorted(new.keys() - old.keys()):
        out.append({"what": "finding_added", "finding": new[key]["id"]})
    for key in sorted(old.keys() - new.keys()):
        out.append({"what": "finding_withdrawn", "finding": old[key]["id"]})
    for key in sorted(new.keys() & old.keys()):
        a, b = old[key].get("case") or {}, new[key].get("case") or {}
        if (a.get("verdict"), a.get("state")) != (b.get("verdict"), b.get("state")):
            out.append({
                "what": "verification", "finding": new[key]["id"],
                "before": {"verdict": a.get("verdict"), "state": a.get("state")},
                "after": {"verdict": b.get("verdict"), "state": b.get("state")},
            })  # fmt: skip
    for key in ("incidents", "by_area", "restrictions", "complaints"):
        if canonical_sha256(before.get(key)) != canonical_sha256(after.get(key)):
            out.append({"what": "section", "section": key})
    return out


def checkpoint_of(signed: list[Entry]) -> dict[str, dict[str, Any]]:
    """The heads of the logs the signers had seen, and their own signing entries: whoever
    holds a published report can tell a log rolled back below it (`ledger verify
    --checkpoint`). It sits beside the signed content, not inside it."""
    best: dict[str, tuple[int, str]] = {}
    for entry in signed:
        seen = {
            c: (int(h["seq"]), str(h["hash"])) for c, h in entry.payload.get("heads", {}).items()
        }
        seen[entry.contingent] = (entry.seq, entry.hash)
        for contingent, head in seen.items():
            if contingent not in best or head[0] > best[contingent][0]:
                best[contingent] = head
    return {c: {"seq": s, "hash": h} for c, (s, h) in sorted(best.items())}


def report_state(engine: Engine, day: date) -> dict[str, Any]:
    """The report as it stands (for the centre's staff): its sha256, who signed this version,
    who signed another, and whether a version is published."""
    require_schema(engine)
    with snapshot(engine) as conn:
        mission = load_mission(conn)
        return _state(conn, mission, day, current_content(conn, mission, day))


def _state(
    conn: Connection, mission: Mission, day: date, content: dict[str, Any]
) -> dict[str, Any]:
    sha = canonical_sha256(content)
    signed = signatures(conn, day)
    public = _published(conn, mission, day, signed)
    latest = {s.contingent: s.sha256 for s in signed}  # each contingent's last signature
    return {
        "date": day.isoformat(),
        "sha256": sha,
        "report": content,
        "signed_by": [c for c in mission.contingents if latest.get(c) == sha],
        "signed_other_version": [
            c for c in mission.contingents if c in latest and latest[c] != sha
        ],
        "waiting_for": [c for c in mission.contingents if latest.get(c) != sha],
        "published": public is not None,
        "published_sha256": None if public is None else public["sha256"],
    }


def sign_report(
    engine: Engine, day: date, *, sha256: str, contingent: str, actor: str, keyring: KeyRing
) -> dict[str, Any]:
    """`contingent` signs the day's report whose sha256 its chief read: the current report, or
    a version another contingent signed (a report computed on another node). Answers the
    report's state after.

    The content is computed in a read snapshot; the short write transaction then checks that
    nothing it depends on changed since (`watermark`), so signing never holds the write lock
    while a feed is writing. After `ATTEMPTS` such races it is computed under the lock."""
    require_schema(engine)
    for attempt in range(ATTEMPTS + 1):
        if attempt < ATTEMPTS:
            with snapshot(engine) as conn:
                mission = load_mission(conn)
                current, mark = current_content(conn, mission, day), watermark(conn)
        with writing(engine) as conn:
            if attempt == ATTEMPTS:
                mission = load_mission(conn)
                current, mark = current_content(conn, mission, day), watermark(conn)
            elif watermark(conn) != mark:
                continue  # the record changed while the content was computed: again
            return _sign(conn, mission, day, current, sha256=sha256, contingent=contingent,
                         actor=actor, keyring=keyring)  # fmt: skip
    raise AssertionError("unreachable: the last attempt signs under the write lock")


def _sign(
    conn: Connection,
    mission: Mission,
    day: date,
    current: dict[str, Any],
    *,
    sha256: str,
    contingent: str,
    actor: str,
    keyring: KeyRing,
) -> dict[str, Any]:
    if contingent not in mission.contingents:
        raise FieldError(
            "contingent", M("{contingent!r} is not a contingent", contingent=contingent)
        )
    if not repo.started(conn):
        raise Conflict(M("the logs are not started: a report cannot be signed"))
    signed = signatures(conn, day)
    content, current_sha = current, canonical_sha256(current)
    if sha256 != current_sha:
        # a version another contingent signed last (computed on its node), never one that
        # every other contingent has moved on from
        latest = {s.contingent: s for s in signed}
        others = {s.sha256: s for c, s in latest.items() if c != contingent}
        if sha256 not in others:
            raise Conflict(
                M(
                    "the report of {day} changed since it was read (it is now {current}…, not "
                    "{read}…): read it again",
                    day=day.isoformat(),
                    current=current_sha[:12],
                    read=sha256[:12],
                )
            )
        content = others[sha256].entry.payload["report"]
    mine = [s for s in signed if s.contingent == contingent]
    if mine and mine[-1].sha256 == sha256:
        raise Conflict(M("{contingent} has already signed this report", contingent=contingent))
    key = keyring.load(contingent, pinned_key(conn, mission, contingent))
    heads = {c: {"seq": s, "hash": h} for c, (s, h) in repo.heads(conn).items()}
    payload = {"date": day.isoformat(), "sha256": sha256, "report": content, "heads": heads}
    entry = append(
        conn, keyring, mission, contingent, actor=actor, action=SIGNED, payload=payload, key=key
    )
    apply_entry(conn, mission, entry)
    return _state(conn, mission, day, current)


def published_days(conn: Connection, mission: Mission) -> list[dict[str, Any]]:
    """Every reporting day with a published report, newest first."""
    listed = []
    for day, signed in sorted(all_signatures(conn).items(), reverse=True):
        try:
            when = date.fromisoformat(day)
        except ValueError:
            continue  # not a day: such an entry publishes nothing
        found = _published(conn, mission, when, signed)
        if found is not None:
            listed.append({k: found[k] for k in ("date", "sha256", "published", "version")})
    return listed


def report_draft(engine: Engine, day: date) -> tuple[Document, dict[str, Any]]:
    """The day's report to render and its state (as `report_document` and `report_state`),
    from one snapshot and one making of the content; the state without its copy of the
    report (the document holds it: a page keeps this pair while the record stands)."""
    require_schema(engine)
    with snapshot(engine) as conn:
        mission = load_mission(conn)
        content = current_content(conn, mission, day)
        public = published(conn, mission, day)
        state = _state(conn, mission, day, content)
    document = Document.of(content)
    if public is not None and public["sha256"] == document.sha256:
        document = Document.of(content, public, public.get("version"))
    return document, {k: v for k, v in state.items() if k != "report"}


def report_document(engine: Engine, day: date) -> Document:
    """The day's report as it stands, to render: with its signatures when this very content
    is the published version, else a draft."""
    require_schema(engine)
    with snapshot(engine) as conn:
        mission = load_mission(conn)
        content = current_content(conn, mission, day)
        public = published(conn, mission, day)
    document = Document.of(content)
    if public is not None and public["sha256"] == document.sha256:
        return Document.of(content, public, public.get("version"))
    return document


def published_document(
    conn: Connection, mission: Mission, day: date, version: int | None = None
) -> Document | None:
    """The published report of the day (its latest version, or the one asked for), to
    render; None while none is published."""
    public = published(conn, mission, day, version)
    if public is None:
        return None
    return Document.of(public["report"], public, public.get("version"))
