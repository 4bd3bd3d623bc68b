"""Complaints, cases and blind assessments: the joint verification of findings and
complaints. Every change is an entry in the acting contingent's log."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from truceline.domain.cases import POSITIONS, UNDETERMINED, Position, commitment, new_salt, verdict
from truceline.domain.timeutil import iso
from truceline.domain.vocabulary import KINDS, UNKNOWN_ACTOR
from truceline.errors import TrucelineError
from truceline.mission import Mission
from truceline.services.ledger import KeyRing, Signer, local_signers, signer
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

US = 1_000_000


def _now() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class ComplaintInput:
    party: str
    kind: str
    narrative: str
    observed_from_us: int
    observed_to_us: int
    against: str = UNKNOWN_ACTOR
    lat: float | None = None
    lon: float | None = None
    zone: str | None = None
    attachments: tuple[Path, ...] = ()
    filed_by: str = "liaison"


def _check_complaint(mission: Mission, c: ComplaintInput) -> None:
    problems = []
    if c.party not in mission.parties:
        problems.append(f"--party {c.party!r} is not a party ({', '.join(mission.parties)})")
    if c.kind not in KINDS:
        problems.append(f"--kind {c.kind!r} is not a kind ({', '.join(sorted(KINDS))})")
    if c.against != UNKNOWN_ACTOR and c.against not in mission.actors:
        problems.append(f"--against {c.against!r} is not a party or contingent")
    if c.zone is not None and c.zone not in mission.zones:
        problems.append(f"--zone {c.zone!r} is not a zone of the mission")
    if (c.lat is None) != (c.lon is None):
        problems.append("--lat and --lon go together")
    if c.lat is not None and not -90 <= c.lat <= 90:
        problems.append(f"--lat {c.lat} is outside -90..90")
    if c.lon is not None and not -180 <= c.lon <= 180:
        problems.append(f"--lon {c.lon} is outside -180..180")
    if c.lat is None and c.zone is None:
        problems.append("give the place: --lat/--lon or --zone")
    if c.observed_to_us < c.observed_from_us:
        problems.append("the time window ends before it starts")
    if not c.narrative.strip():
        problems.append("--narrative is empty")
    if problems:
        raise TrucelineError("the complaint is not filed: " + "; ".join(problems))


def file_complaint(
    engine: Engine, complaint: ComplaintInput, *, keyring: KeyRing | None, acting: str | None
) -> int:
    """Record a party's complaint, received by a contingent; its response clock starts now."""
    require_schema(engine)
    files = []
    for path in complaint.attachments:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise TrucelineError(f"{path}: cannot read the attachment: {exc.strerror}") from None
        files.append((path.name, hashlib.sha256(content).hexdigest(), content))
    with writing(engine) as conn:
        mission = load_mission(conn)
        _check_complaint(mission, complaint)
        sign = signer(conn, mission, keyring, acting)
        received_by = sign.contingent if sign else (acting or next(iter(mission.contingents)))
        stored = {row[0] for row in conn.execute(select(t.attachments.c.sha256))}
        for _, digest, content in files:
            if digest not in stored:
                conn.execute(
                    insert(t.attachments).values(sha256=digest, size=len(content), content=content)
                )
                stored.add(digest)
        now = _now()
        listing = [
            {"name": name, "sha256": digest, "size": len(content)}
            for name, digest, content in files
        ]
        result = conn.execute(
            insert(t.complaints).values(
                party=complaint.party,
                received_at_us=now,
                due_us=now + int(mission.response_hours * 3600 * US),
                observed_from_us=complaint.observed_from_us,
                observed_to_us=complaint.observed_to_us,
                lat_e7=None if complaint.lat is None else round(complaint.lat * 1e7),
                lon_e7=None if complaint.lon is None else round(complaint.lon * 1e7),
                zone=complaint.zone,
                kind=complaint.kind,
                against=complaint.against,
                narrative=complaint.narrative,
                attachments=json.dumps(listing),
                filed_by=complaint.filed_by,
                received_by=received_by,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        complaint_id = int(key[0])
        if sign is not None:
            payload = {
                "complaint": complaint_id, "party": complaint.party, "kind": complaint.kind,
                "against": complaint.against,
                "narrative_sha256": hashlib.sha256(complaint.narrative.encode()).hexdigest(),
                "attachments": [a["sha256"] for a in listing],
            }  # fmt: skip
            sign.log(conn, mission, "complaint_received", payload)
    return complaint_id


def complaint_dict(row: Any, now_us: int, answered_at: int | None) -> dict[str, Any]:
    if answered_at is not None and answered_at <= row.due_us:
        status = "answered"
    elif answered_at is not None:
        status = "answered late"
    else:
        status = "overdue" if now_us > row.due_us else "awaiting a joint verdict"
    return {
        "id": row.id, "party": row.party, "kind": row.kind, "against": row.against,
        "received": iso(row.received_at_us), "due": iso(row.due_us),
        "observed_from": iso(row.observed_from_us), "observed_to": iso(row.observed_to_us),
        "lat": None if row.lat_e7 is None else row.lat_e7 / 1e7,
        "lon": None if row.lon_e7 is None else row.lon_e7 / 1e7,
        "zone": row.zone, "narrative": row.narrative, "attachments": json.loads(row.attachments),
        "received_by": row.received_by, "status": status, "overdue": status == "overdue",
    }  # fmt: skip


def list_complaints(
    conn: Connection, *, now_us: int | None = None, party: str | None = None, overdue: bool = False
) -> list[dict[str, Any]]:
    """Complaints with their response status: answered (by a joint verdict in time), answered
    late, awaiting a joint verdict, or overdue."""
    now_us = _now() if now_us is None else now_us
    mission = load_mission(conn)
    query = select(t.complaints).order_by(t.complaints.c.id)
    if party is not None:
        query = query.where(t.complaints.c.party == party)
    result = []
    for row in conn.execute(query):
        case = conn.execute(select(t.cases).where(t.cases.c.complaint_id == row.id)).first()
        answered = None
        if case is not None and case.revealed_at_us is not None:
            decided = _verdict(conn, mission, int(case.id)) != "pending"
            answered = int(case.revealed_at_us) if decided else None
        item = complaint_dict(row, now_us, answered)
        if not overdue or item["overdue"]:
            result.append(item)
    return result


def _subject(conn: Connection, finding: int | None, complaint: int | None) -> dict[str, Any]:
    """What a case is about, named so that every node can tell."""
    if finding is not None:
        row = conn.execute(select(t.findings.c.key).where(t.findings.c.id == finding)).first()
        if row is None:
            raise TrucelineError(f"no finding {finding}")
        return {"finding": row.key}
    row = conn.execute(select(t.complaints).where(t.complaints.c.id == complaint)).first()
    if row is None:
        raise TrucelineError(f"no complaint {complaint}")
    return {
        "complaint": {
            "party": row.party, "kind": row.kind, "received": iso(row.received_at_us),
            "narrative_sha256": hashlib.sha256(row.narrative.encode()).hexdigest(),
        }
    }  # fmt: skip


def open_case(
    engine: Engine,
    *,
    finding: int | None = None,
    complaint: int | None = None,
    keyring: KeyRing | None,
    acting: str | None,
) -> dict[str, Any]:
    if (finding is None) == (complaint is None):
        raise TrucelineError(
            "open a case on one finding (--finding) or one complaint (--complaint)"
        )
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        subject = _subject(conn, finding, complaint)
        sign = signer(conn, mission, keyring, acting)
        opened_by = sign.contingent if sign else (acting or next(iter(mission.contingents)))
        existing = conn.execute(
            select(t.cases.c.id).where(
                t.cases.c.finding_id == finding
                if finding is not None
                else t.cases.c.complaint_id == complaint
            )
        ).scalar()
        what = f"finding {finding}" if finding is not None else f"complaint {complaint}"
        if existing is not None:
            raise TrucelineError(f"case {existing} is open on {what} already")
        key = None
        if sign is not None:
            key = sign.log(conn, mission, "case_opened", {"subject": subject}).hash
        try:
            result = conn.execute(
                insert(t.cases).values(
                    key=key,
                    subject=json.dumps(subject),
                    finding_id=finding,
                    complaint_id=complaint,
                    opened_at_us=_now(),
                    opened_by=opened_by,
                )
            )
        except IntegrityError:  # another opened it between the check and here
            raise TrucelineError(f"a case is open on {what} already") from None
        inserted = result.inserted_primary_key
        assert inserted is not None
        return case_view(conn, mission, int(inserted[0]), viewer=opened_by)


def _current(conn: Connection, case_id: int) -> dict[str, Any]:
    """Each contingent's current (not superseded) filing of the case."""
    a = t.assessments
    rows = conn.execute(
        select(a).where(a.c.case_id == case_id, a.c.superseded_by.is_(None)).order_by(a.c.id)
    )
    return {row.contingent: row for row in rows}


def _verdict(conn: Connection, mission: Mission, case_id: int) -> str:
    """Derived from the positions once every contingent has filed and every current position
    is known here (a position filed on another node arrives with its reveal)."""
    current = {
        c: Position(row.verdict, row.attribution, row.rationale)
        for c, row in _current(conn, case_id).items()
        if row.verdict is not None
    }
    return verdict(list(mission.contingents), current)


def reveal_ready(
    conn: Connection, mission: Mission, case_id: int, signers: dict[str, Signer]
) -> None:
    """Once every contingent has filed, reveal the positions filed here: each in its own
    contingent's log (when the logs are started), all at once."""
    current = _current(conn, case_id)
    if not all(c in current for c in mission.contingents):
        return
    case = conn.execute(select(t.cases).where(t.cases.c.id == case_id)).one()
    a = t.assessments
    for contingent, row in current.items():
        if row.revealed or row.verdict is None:
            continue
        sign = signers.get(contingent)
        if sign is not None and case.key is not None:
            payload = {
                "case": case.key, "commitment": row.commitment, "verdict": row.verdict,
                "attribution": row.attribution, "rationale": row.rationale, "salt": row.salt,
            }  # fmt: skip
            sign.log(conn, mission, "assessment_revealed", payload)
        elif signers:
            continue  # this contingent's key is on another node: it reveals there
        conn.execute(update(a).where(a.c.id == row.id).values(revealed=True))
    conn.execute(
        update(t.cases)
        .where(t.cases.c.id == case_id, t.cases.c.revealed_at_us.is_(None))
        .values(revealed_at_us=_now())
    )


def file_assessment(
    engine: Engine,
    case_id: int,
    *,
    contingent: str,
    position: Position,
    actor: str,
    keyring: KeyRing | None,
) -> dict[str, Any]:
    """File (or supersede) `contingent`'s assessment of a case. Its log entry carries only a
    commitment; the position is revealed (to the other contingents, and in the log) once
    every contingent has filed, all together."""
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        if contingent not in mission.contingents:
            raise TrucelineError(
                f"--as {contingent!r} is not a contingent ({', '.join(mission.contingents)})"
            )
        if position.verdict not in POSITIONS:
            raise TrucelineError(
                f"--verdict {position.verdict!r} is not one of {', '.join(POSITIONS)}"
            )
        if position.attribution != UNDETERMINED and position.attribution not in mission.parties:
            parties = ", ".join(mission.parties)
            raise TrucelineError(
                f"--attribution {position.attribution!r} is not a party ({parties}) "
                f"or {UNDETERMINED}"
            )
        if not position.rationale.strip():
            raise TrucelineError("--rationale is empty: say why")
        # Filings of one case take turns (the row lock), so the last one sees every other
        # and reveals the case; SQLite's write transactions take turns anyway.
        locked = select(t.cases).where(t.cases.c.id == case_id).with_for_update()
        case = conn.execute(locked).first()
        if case is None:
            raise TrucelineError(f"no case {case_id}")
        sign = signer(conn, mission, keyring, contingent)
        salt = new_salt()
        sealed = commitment(position, salt)
        previous = _current(conn, case_id).get(contingent)
        record_filing(
            conn, case_id, contingent, sealed, actor=actor, at=_now(),
            previous=None if previous is None else previous.commitment,
            position=position, salt=salt,
        )  # fmt: skip
        if sign is not None:
            payload = {
                "case": case.key, "commitment": sealed,
                "supersedes": None if previous is None else previous.commitment,
            }  # fmt: skip
            sign.log(conn, mission, "assessment_filed", payload)
        reveal_ready(conn, mission, case_id, local_signers(conn, mission, keyring))
        return case_view(conn, mission, case_id, viewer=contingent)


def record_filing(
    conn: Connection,
    case_id: int,
    contingent: str,
    sealed: str,
    *,
    actor: str,
    at: int,
    previous: str | None,
    position: Position | None = None,
    salt: str | None = None,
) -> None:
    """Store a filing (its position only when known here), superseding `previous`."""
    a = t.assessments
    result = conn.execute(
        insert(a).values(
            case_id=case_id,
            contingent=contingent,
            commitment=sealed,
            filed_at_us=at,
            actor=actor,
            verdict=None if position is None else position.verdict,
            attribution=None if position is None else position.attribution,
            rationale=None if position is None else position.rationale,
            salt=salt,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    if previous is not None:
        moved = conn.execute(
            update(a)
            .where(a.c.commitment == previous, a.c.superseded_by.is_(None))
            .values(superseded_by=int(key[0]))
        )
        if moved.rowcount != 1:
            raise TrucelineError(
                f"{contingent}'s assessment of case {case_id} changed meanwhile; try again"
            )


def case_view(
    conn: Connection, mission: Mission, case_id: int, viewer: str | None
) -> dict[str, Any]:
    """A case as `viewer` (a contingent, or None for anyone else) may see it: before every
    contingent has filed, only who has filed and the viewer's own assessment."""
    case = conn.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
    if case is None:
        raise TrucelineError(f"no case {case_id}")
    current = _current(conn, case_id)
    revealed = case.revealed_at_us is not None
    a = t.assessments
    history = conn.execute(select(a).where(a.c.case_id == case_id).order_by(a.c.id)).all()

    def shown(row: Any) -> dict[str, Any]:
        return {
            "id": row.id, "contingent": row.contingent, "verdict": row.verdict,
            "attribution": row.attribution, "rationale": row.rationale,
            "filed": iso(row.filed_at_us), "superseded_by": row.superseded_by,
            "known": row.verdict is not None,
        }  # fmt: skip

    visible = [shown(r) for r in history if revealed or r.contingent == viewer]
    waiting = [c for c in mission.contingents if c not in current]
    if revealed:
        unknown = [c for c, row in current.items() if row.verdict is None]
        note = "every contingent has filed; all assessments are shown"
        if unknown:
            note += f" (awaiting the reveal of {', '.join(unknown)} from its node)"
    else:
        filed = ", ".join(c for c in mission.contingents if c in current) or "nobody"
        note = (
            f"{filed} filed; assessments open when all have filed "
            f"(waiting for {', '.join(waiting)})"
        )
    return {
        "id": case.id, "key": case.key,
        "subject": json.loads(case.subject) if case.subject else None,
        "finding": case.finding_id, "complaint": case.complaint_id,
        "opened": iso(case.opened_at_us), "opened_by": case.opened_by,
        "verdict": _verdict(conn, mission, case_id),
        "filed": [c for c in mission.contingents if c in current],
        "waiting_for": waiting, "revealed": revealed,
        "revealed_at": None if case.revealed_at_us is None else iso(case.revealed_at_us),
        "assessments": [v for v in visible if v["superseded_by"] is None],
        "history": visible, "note": note,
    }  # fmt: skip


def list_cases(conn: Connection, viewer: str | None = None) -> list[dict[str, Any]]:
    mission = load_mission(conn)
    ids = [int(i) for i in conn.execute(select(t.cases.c.id).order_by(t.cases.c.id)).scalars()]
    return [case_view(conn, mission, i, viewer) for i in ids]


def verdicts(conn: Connection, mission: Mission) -> tuple[dict[int, str], dict[int, str]]:
    """The verdict of every finding with a case, and of every incident through its findings'
    cases (the first case of an incident speaks for it). Verdicts derive from revealed
    positions only, so they read the same to everyone."""
    c, f = t.cases, t.findings
    rows = conn.execute(
        select(c.c.id, c.c.finding_id, f.c.incident_id)
        .join(f, c.c.finding_id == f.c.id)
        .order_by(c.c.id)
    ).all()
    by_finding: dict[int, str] = {}
    by_incident: dict[int, str] = {}
    for case_id, finding, incident in rows:
        outcome = _verdict(conn, mission, int(case_id))
        by_finding[int(finding)] = outcome
        if incident is not None:
            by_incident.setdefault(int(incident), outcome)
    return by_finding, by_incident


def cases_of_findings(conn: Connection, findings: list[int]) -> dict[int, int]:
    """The case open on each of these findings (finding id → case id)."""
    c = t.cases
    rows = conn.execute(select(c.c.finding_id, c.c.id).where(c.c.finding_id.in_(findings)))
    return {int(finding): int(case) for finding, case in rows}
