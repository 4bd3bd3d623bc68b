"""Complaints, cases and blind rounds: the joint verification of findings and complaints.
Every change is an entry in the acting contingent's log, applied by the one projector; what a
viewer may see of a case (nobody sees another contingent's pending position) is decided here."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select

from truceline.domain import actions
from truceline.domain.actions.complaint_received import NARRATIVE_MAX, Attachment, Complaint
from truceline.domain.cases import (
    COMMITTING,
    DECIDED,
    POSITIONS,
    RECONSIDERING,
    REVEALED,
    SEALED,
    UNDETERMINED,
    Position,
    commitment,
    new_salt,
)
from truceline.domain.limits import (
    ATTACHMENT_MAX,
    ATTACHMENTS_MAX,
    ATTACHMENTS_TOTAL_MAX,
    NAME_MAX,
)
from truceline.domain.records import LAST_US
from truceline.domain.reporting import FIRST_YEAR, LAST_YEAR
from truceline.domain.timeutil import iso
from truceline.domain.vocabulary import KINDS, UNKNOWN_ACTOR
from truceline.errors import Conflict, FieldError, NotFound, TrucelineError
from truceline.i18n.message import M
from truceline.mission import Mission
from truceline.services.ledger import KeyRing, Signer, local_signers, signer
from truceline.services.projector import record
from truceline.store import tables as t
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

US = 1_000_000


def _now() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Upload:
    """A file attached to a complaint, as it was given: its name (no directory) and bytes."""

    name: str
    content: bytes

    @classmethod
    def read(cls, path: Path) -> Upload:
        """A file on this machine (the CLI's `--attach`); refused by name if unreadable."""
        try:
            return cls(path.name, path.read_bytes())
        except OSError as exc:
            raise TrucelineError(
                M(
                    "{path}: cannot read the attachment: {reason}",
                    path=str(path),
                    reason=exc.strerror,
                )
            ) from None


# A file name holds none of these: control and format characters (a right-to-left override
# turns "inv\u202egpj.exe" into what reads as "invexe.jpg") and line or paragraph breaks.
HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})


def visible_name(name: str) -> str:
    """A file name as pages and downloads show it: each hidden character (HIDDEN) as U+FFFD.
    Names filed here are refused with one; a peer's log may still carry one."""
    return "".join("\ufffd" if unicodedata.category(ch) in HIDDEN else ch for ch in name)


def _attachment_problems(uploads: tuple[Upload, ...]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if len(uploads) > ATTACHMENTS_MAX:
        problems.append(("attachments", M("at most {n} files can be attached", n=ATTACHMENTS_MAX)))
    if sum(len(u.content) for u in uploads) > ATTACHMENTS_TOTAL_MAX:
        problems.append(
            ("attachments", M("the files are larger than {n:,} bytes in all",
                              n=ATTACHMENTS_TOTAL_MAX))
        )  # fmt: skip
    for upload in uploads:
        name = upload.name
        if (
            not name
            or len(name) > 255
            or name != unicodedata.normalize("NFC", name)
            or any(ch in "/\\" or unicodedata.category(ch) in HIDDEN for ch in name)
        ):
            problems.append(("attachments", M("{name!r} is not a file name", name=name[:80])))
        elif len(upload.content) > ATTACHMENT_MAX:
            problems.append(
                (
                    "attachments",
                    M("{name}: larger than {n:,} bytes", name=name, n=ATTACHMENT_MAX),
                )
            )
    return problems


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
    attachments: tuple[Upload, ...] = ()
    filed_by: str = "liaison"


def _check_complaint(mission: Mission, c: ComplaintInput) -> None:
    problems: list[tuple[str, str]] = []
    if c.party not in mission.parties:
        problems.append(
            (
                "party",
                M(
                    "{party!r} is not a party ({parties})",
                    party=c.party,
                    parties=", ".join(mission.parties),
                ),
            )
        )
    if c.kind not in KINDS:
        problems.append(
            (
                "kind",
                M("{kind!r} is not a kind ({kinds})", kind=c.kind, kinds=", ".join(sorted(KINDS))),
            )
        )
    if c.against != UNKNOWN_ACTOR and c.against not in mission.actors:
        problems.append(
            ("against", M("{against!r} is not a party or contingent", against=c.against))
        )
    if c.zone is not None and c.zone not in mission.zones:
        problems.append(("zone", M("{zone!r} is not a zone of the mission", zone=c.zone)))
    if (c.lat is None) != (c.lon is None):
        problems.append(("lat", M("lat and lon go together")))
    if c.lat is not None and not -90 <= c.lat <= 90:
        problems.append(("lat", M("{lat} is outside -90..90", lat=c.lat)))
    if c.lon is not None and not -180 <= c.lon <= 180:
        problems.append(("lon", M("{lon} is outside -180..180", lon=c.lon)))
    if c.lat is None and c.zone is None:
        problems.append(("zone", M("give the place: a point (lat, lon) or a zone")))
    for name, moment in (("observed_from", c.observed_from_us), ("observed_to", c.observed_to_us)):
        if not 0 <= moment < LAST_US:
            problems.append(
                (name, M("lies outside the years {first}–{last}", first=FIRST_YEAR, last=LAST_YEAR))
            )
    if c.observed_to_us < c.observed_from_us:
        problems.append(("observed_to", M("the time window ends before it starts")))
    if not c.narrative.strip():
        problems.append(("narrative", M("is empty")))
    if len(c.narrative) > NARRATIVE_MAX:
        problems.append(("narrative", M("is longer than {n:,} characters", n=NARRATIVE_MAX)))
    if len(c.filed_by) > NAME_MAX:
        problems.append(("filed_by", M("is longer than {n} characters", n=NAME_MAX)))
    problems += _attachment_problems(c.attachments)
    if problems:
        raise FieldError(*problems[0], *problems[1:], headline=M("the complaint is not filed"))


@dataclass(frozen=True)
class Receipt:
    """What a liaison is given: the complaint's number here, its sha256 (the same on every
    node), when it was received and when a joint answer is due; who received it."""

    id: int
    sha256: str
    received: str
    due: str
    received_by: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "sha256": self.sha256, "received": self.received, "due": self.due,
            "received_by": self.received_by,
        }  # fmt: skip


def _receivers(
    conn: Connection, mission: Mission, keyring: KeyRing | None, acting: str | None
) -> list[Signer | None]:
    """Who receives a complaint here: the contingent named, else every contingent whose key
    this node holds (neutral: no contingent is preferred), else, before the logs start, none
    signs."""
    if acting is not None:
        return [signer(conn, mission, keyring, acting)]
    held = local_signers(conn, mission, keyring)
    if held:
        return list(held.values())
    return [signer(conn, mission, keyring, None)]


def file_complaint(
    engine: Engine, complaint: ComplaintInput, *, keyring: KeyRing | None, acting: str | None
) -> Receipt:
    """Record a party's complaint: received in the log of every contingent whose key is here
    (or the one named), each entry naming the same complaint sha256; its clock starts now."""
    require_schema(engine)
    files = [
        (u.name, hashlib.sha256(u.content).hexdigest(), u.content) for u in complaint.attachments
    ]
    with writing(engine) as conn:
        mission = load_mission(conn)
        _check_complaint(mission, complaint)
        receivers = _receivers(conn, mission, keyring, acting)
        digests = [digest for _, digest, _ in files]
        stored = set(
            conn.execute(
                select(t.attachments.c.sha256).where(t.attachments.c.sha256.in_(digests))
            ).scalars()
        )
        for _, digest, content in files:
            if digest not in stored:
                conn.execute(
                    insert(t.attachments).values(sha256=digest, size=len(content), content=content)
                )
                stored.add(digest)
        document = Complaint(
            party=complaint.party, kind=complaint.kind, against=complaint.against,
            observed_from=complaint.observed_from_us, observed_to=complaint.observed_to_us,
            lat_e7=None if complaint.lat is None else round(complaint.lat * 1e7),
            lon_e7=None if complaint.lon is None else round(complaint.lon * 1e7),
            zone=complaint.zone, narrative=complaint.narrative,
            attachments=[Attachment(name=n, sha256=d, size=len(c)) for n, d, c in files],
            filed_by=complaint.filed_by, nonce=secrets.token_hex(8),
        )  # fmt: skip
        key = document.sha256()
        payload = {"complaint": key, "document": document.model_dump(mode="json")}
        first = next(iter(mission.contingents))
        for sign in receivers:
            record(
                conn, mission, sign, actions.COMPLAINT_RECEIVED, payload,
                acting=sign.contingent if sign else (acting or first), actor=complaint.filed_by,
            )  # fmt: skip
        return receipt(conn, key)


def receipt(conn: Connection, key: str) -> Receipt:
    c, r = t.complaints, t.complaint_receipts
    row = conn.execute(select(c).where(c.c.key == key)).one()
    by = conn.execute(
        select(r.c.contingent).where(r.c.complaint_key == key).order_by(r.c.contingent)
    ).scalars()
    return Receipt(int(row.id), key, iso(row.received_at_us), iso(row.due_us), list(by))


def receive_complaints(conn: Connection, mission: Mission, signers: dict[str, Signer]) -> int:
    """Complaints another node received that this node's contingents have not: each logs its
    own receipt (of the same document) when it syncs. The number of receipts logged."""
    c, r, e = t.complaints, t.complaint_receipts, t.ledger_entries
    missing: dict[str, list[str]] = {}
    for contingent in signers:
        mine = select(r.c.complaint_key).where(r.c.contingent == contingent)
        for key in conn.execute(select(c.c.key).where(c.c.key.not_in(mine))).scalars():
            missing.setdefault(key, []).append(contingent)
    if not missing:
        return 0
    # The document as received elsewhere: from the first receipt's entry of each complaint.
    documents: dict[str, dict[str, Any]] = {}
    rows = conn.execute(
        select(e.c.payload).where(e.c.action == actions.COMPLAINT_RECEIVED).order_by(e.c.id)
    ).scalars()
    for text in rows:
        payload = json.loads(text)
        if payload["complaint"] in missing:
            documents.setdefault(payload["complaint"], payload)
    for key, contingents in missing.items():
        for contingent in contingents:
            record(
                conn, mission, signers[contingent], actions.COMPLAINT_RECEIVED, documents[key],
                acting=contingent, actor="sync",
            )  # fmt: skip
    return sum(len(v) for v in missing.values())


def complaint_dict(row: Any, now_us: int, answered_at: int | None) -> dict[str, Any]:
    if answered_at is not None and answered_at <= row.due_us:
        status = "answered"
    elif answered_at is not None:
        status = "answered late"
    else:
        status = "overdue" if now_us > row.due_us else "awaiting a joint verdict"
    return {
        "id": row.id, "sha256": row.key, "party": row.party, "kind": row.kind,
        "against": row.against, "received": iso(row.received_at_us), "due": iso(row.due_us),
        "observed_from": iso(row.observed_from_us), "observed_to": iso(row.observed_to_us),
        "lat": None if row.lat_e7 is None else row.lat_e7 / 1e7,
        "lon": None if row.lon_e7 is None else row.lon_e7 / 1e7,
        "zone": row.zone, "narrative": row.narrative,
        "attachments": [{**a, "name": visible_name(str(a["name"]))}
                        for a in json.loads(row.attachments)],
        "received_by": row.received_by, "status": status, "overdue": status == "overdue",
    }  # fmt: skip


def _primary(subject_key: Any) -> Any:
    c = t.cases
    return and_(c.c.subject_key == subject_key, c.c.duplicate_of.is_(None))


def list_complaints(
    conn: Connection,
    *,
    now_us: int | None = None,
    party: str | None = None,
    overdue: bool = False,
    complaint_id: int | None = None,
) -> list[dict[str, Any]]:
    """Complaints with their response status: answered (by a joint verdict in time), answered
    late, awaiting a joint verdict, or overdue; with their case and its verdict (one
    complaint's, with `complaint_id`)."""
    now_us = _now() if now_us is None else now_us
    p, c, r = t.complaints, t.cases, t.rounds
    query = (
        select(p, c.c.id.label("case_id"), c.c.verdict.label("case_verdict"),
               r.c.revealed_at_us.label("answered_at"))
        .join(c, _primary("complaint:" + p.c.key), isouter=True)
        .join(r, and_(r.c.case_key == c.c.key, r.c.number == 1), isouter=True)
        .order_by(p.c.id)
    )  # fmt: skip
    if party is not None:
        query = query.where(p.c.party == party)
    if complaint_id is not None:
        query = query.where(p.c.id == complaint_id)
    result = []
    for row in conn.execute(query):
        answered = None if row.answered_at is None else int(row.answered_at)
        item = complaint_dict(row, now_us, answered)
        item["case"] = None if row.case_id is None else int(row.case_id)
        item["verdict"] = row.case_verdict
        if not overdue or item["overdue"]:
            result.append(item)
    return result


def get_complaint(
    conn: Connection, complaint_id: int, *, party: str | None = None
) -> dict[str, Any]:
    """One complaint as listed, with the contingents whose logs received it (a liaison's
    reading: `party`, its own party's only; another's is not found, as if it did not exist)."""
    found = list_complaints(conn, party=party, complaint_id=complaint_id)
    if not found:
        raise NotFound(M("no complaint {complaint}", complaint=complaint_id))
    item = found[0]
    r = t.complaint_receipts
    item["receipts"] = [
        {"contingent": row.contingent, "received": iso(row.received_at_us)}
        for row in conn.execute(
            select(r.c.contingent, r.c.received_at_us)
            .where(r.c.complaint_key == item["sha256"])
            .order_by(r.c.received_at_us, r.c.contingent)
        )
    ]
    return item


def attachment_of(
    conn: Connection, complaint_id: int, sha256: str, *, party: str | None = None
) -> tuple[str, bytes]:
    """A file attached to a complaint: its name and bytes. Only one the complaint names (a
    digest alone opens nothing), and for a liaison only of its own party's complaint."""
    complaint = get_complaint(conn, complaint_id, party=party)
    named = next((a for a in complaint["attachments"] if a["sha256"] == sha256), None)
    if named is None:
        raise NotFound(M("complaint {complaint} has no such attachment", complaint=complaint_id))
    content = conn.execute(
        select(t.attachments.c.content).where(t.attachments.c.sha256 == sha256)
    ).scalar_one_or_none()
    if content is None:  # named in the log, its bytes not (yet) on this node
        raise NotFound(M("the attachment {digest}… is not on this node", digest=sha256[:12]))
    return named["name"], bytes(content)


def _subject(conn: Connection, finding: int | None, complaint: int | None) -> dict[str, Any]:
    """What a case is about, named so that every node can tell."""
    if finding is not None:
        row = conn.execute(select(t.findings.c.key).where(t.findings.c.id == finding)).first()
        if row is None:
            raise NotFound(M("no finding {finding}", finding=finding))
        return {"finding": row.key}
    row = conn.execute(select(t.complaints.c.key).where(t.complaints.c.id == complaint)).first()
    if row is None:
        raise NotFound(M("no complaint {complaint}", complaint=complaint))
    return {"complaint": row.key}


def _case_id(conn: Connection, key: str) -> int:
    return int(conn.execute(select(t.cases.c.id).where(t.cases.c.key == key)).scalar_one())


def open_case(
    engine: Engine,
    *,
    finding: int | None = None,
    complaint: int | None = None,
    keyring: KeyRing | None,
    acting: str | None,
) -> dict[str, Any]:
    if (finding is None) == (complaint is None):
        raise FieldError("finding", M("open a case on one finding or one complaint"))
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        subject = _subject(conn, finding, complaint)
        sign = signer(conn, mission, keyring, acting)
        opened_by = sign.contingent if sign else (acting or next(iter(mission.contingents)))
        what = (
            M("finding {finding}", finding=finding) if finding is not None
            else M("complaint {complaint}", complaint=complaint)
        )  # fmt: skip
        subject_key = next(f"{k}:{v}" for k, v in subject.items())
        # Openings take turns on the subject's row lock (PostgreSQL); SQLite's writers do anyway.
        locked = (
            select(t.findings.c.id).where(t.findings.c.id == finding)
            if finding is not None
            else select(t.complaints.c.id).where(t.complaints.c.id == complaint)
        )
        conn.execute(locked.with_for_update())
        existing = conn.execute(select(t.cases.c.id).where(_primary(subject_key))).scalar()
        if existing is not None:
            raise Conflict(M("case {case} is open on {what} already", case=existing, what=what))
        entry = record(
            conn, mission, sign, actions.CASE_OPENED, {"subject": subject}, acting=opened_by
        )
        return case_view(conn, mission, _case_id(conn, entry.hash), viewer=opened_by)


def _case_row(conn: Connection, case_id: int, *, lock: bool = False) -> Any:
    query = select(t.cases).where(t.cases.c.id == case_id)
    case = conn.execute(query.with_for_update() if lock else query).first()
    if case is None:
        raise NotFound(M("no case {case}", case=case_id))
    return case


def _check_position(mission: Mission, position: Position) -> None:
    if position.verdict not in POSITIONS:
        raise FieldError(
            "verdict",
            M(
                "{verdict!r} is not one of {verdicts}",
                verdict=position.verdict,
                verdicts=", ".join(POSITIONS),
            ),
        )
    if position.attribution != UNDETERMINED and position.attribution not in mission.parties:
        parties = ", ".join(mission.parties)
        raise FieldError(
            "attribution",
            M(
                "{attribution!r} is not a party ({parties}) or {undetermined}",
                attribution=position.attribution,
                parties=parties,
                undetermined=UNDETERMINED,
            ),
        )
    if not position.rationale.strip():
        raise FieldError("rationale", M("is empty: say why"))
    if len(position.rationale) > NARRATIVE_MAX:
        raise FieldError("rationale", M("is longer than {n:,} characters", n=NARRATIVE_MAX))


def file_assessment(
    engine: Engine,
    case_id: int,
    *,
    contingent: str,
    position: Position,
    actor: str,
    keyring: KeyRing | None,
    round: int | None = None,
) -> dict[str, Any]:
    """File `contingent`'s position in the open round of a case (or the round named, which
    must be the open one). The log entry carries only a commitment, which binds: no second
    filing in the round. Once every contingent has committed, the positions filed here are
    revealed, each in its own contingent's log."""
    require_schema(engine)
    with writing(engine) as conn:
        mission = load_mission(conn)
        if contingent not in mission.contingents:
            raise FieldError(
                "contingent",
                M(
                    "{contingent!r} is not a contingent ({known})",
                    contingent=contingent,
                    known=", ".join(mission.contingents),
                ),
            )
        _check_position(mission, position)
        case = _case_row(conn, case_id, lock=True)
        if case.duplicate_of is not None:
            raise Conflict(
                M(
                    "case {case} is a duplicate of case {first}: file there",
                    case=case_id,
                    first=_case_id(conn, case.duplicate_of),
                )
            )
        number = int(case.round)
        if round is not None and round != number:
            raise Conflict(
                M(
                    "round {round} is not open: case {case}'s open round is {open}",
                    round=round,
                    case=case_id,
                    open=number,
                )
            )
        state = conn.execute(
            select(t.rounds.c.state).where(
                t.rounds.c.case_key == case.key, t.rounds.c.number == number
            )
        ).scalar_one()
        if state != COMMITTING:
            raise Conflict(
                M(
                    "every contingent has filed in round {round} of case {case}: a filing binds; "
                    "open a new round to reconsider",
                    round=number,
                    case=case_id,
                )
            )
        a = t.assessments
        if conn.execute(
            select(a.c.id).where(a.c.case_key == case.key, a.c.round == number,
                                 a.c.contingent == contingent)
        ).first() is not None:  # fmt: skip
            raise Conflict(
                M(
                    "{contingent} has filed in round {round} of case {case} already: a filing "
                    "binds its contingent for the round",
                    contingent=contingent,
                    round=number,
                    case=case_id,
                )
            )
        sign = signer(conn, mission, keyring, contingent)
        salt = new_salt()
        sealed = commitment(position, salt, case=case.key, round=number, contingent=contingent)
        conn.execute(
            insert(t.sealed_positions).values(
                commitment=sealed, verdict=position.verdict, attribution=position.attribution,
                rationale=position.rationale, salt=salt,
            )
        )  # fmt: skip
        payload = {"case": case.key, "round": number, "commitment": sealed}
        record(
            conn, mission, sign, actions.ASSESSMENT_FILED, payload, acting=contingent, actor=actor
        )
        reveal_ready(conn, mission, local_signers(conn, mission, keyring), unsigned=sign is None)
        return case_view(conn, mission, case_id, viewer=contingent)


def reconsider(
    engine: Engine,
    case_id: int,
    *,
    contingent: str,
    reason: str,
    actor: str,
    keyring: KeyRing | None,
) -> dict[str, Any]:
    """Open the next round of a decided case: every contingent files again, blind again; the
    previous verdict stands until the new round completes."""
    require_schema(engine)
    if not reason.strip():
        raise FieldError("reason", M("is empty: say why the case is reconsidered"))
    if len(reason) > NARRATIVE_MAX:
        raise FieldError("reason", M("is longer than {n:,} characters", n=NARRATIVE_MAX))
    with writing(engine) as conn:
        mission = load_mission(conn)
        if contingent not in mission.contingents:
            raise FieldError(
                "contingent", M("{contingent!r} is not a contingent", contingent=contingent)
            )
        case = _case_row(conn, case_id, lock=True)
        if case.state != DECIDED:
            raise Conflict(
                M(
                    "case {case} has no complete round to reconsider yet (its round {round} is "
                    "open)",
                    case=case_id,
                    round=case.round,
                )
            )
        sign = signer(conn, mission, keyring, contingent)
        payload = {"case": case.key, "round": int(case.round) + 1, "reason": reason.strip()}
        record(conn, mission, sign, actions.ROUND_OPENED, payload, acting=contingent, actor=actor)
        return case_view(conn, mission, case_id, viewer=contingent)


def reveal_ready(
    conn: Connection, mission: Mission, signers: dict[str, Signer], *, unsigned: bool = False
) -> list[str]:
    """Reveal every position sealed here whose round every contingent has committed to, each
    in its own contingent's log (on a node holding that key). The case keys revealed in."""
    s, a, r = t.sealed_positions, t.assessments, t.rounds
    rows = conn.execute(
        select(s, a.c.case_key, a.c.round, a.c.contingent)
        .join(a, a.c.commitment == s.c.commitment)
        .join(r, and_(r.c.case_key == a.c.case_key, r.c.number == a.c.round))
        .where(r.c.state == SEALED)
        .order_by(a.c.id)
    ).all()
    touched = []
    for row in rows:
        sign = signers.get(row.contingent)
        if sign is None and not unsigned:
            continue  # its key is on another node: it reveals there
        payload = {
            "case": row.case_key, "round": int(row.round), "commitment": row.commitment,
            "verdict": row.verdict, "attribution": row.attribution, "rationale": row.rationale,
            "salt": row.salt,
        }  # fmt: skip
        record(conn, mission, sign, actions.ASSESSMENT_REVEALED, payload, acting=row.contingent)
        touched.append(row.case_key)
    return touched


def case_view(
    conn: Connection, mission: Mission, case_id: int, viewer: str | None
) -> dict[str, Any]:
    """A case as `viewer` (a contingent, or None for anyone else) may see it: every round with
    who has filed; a position only once revealed, or the viewer's own."""
    case = _case_row(conn, case_id)
    a, r, s = t.assessments, t.rounds, t.sealed_positions
    rounds = conn.execute(select(r).where(r.c.case_key == case.key).order_by(r.c.number)).all()
    filings = conn.execute(
        select(a, s.c.verdict.label("own_verdict"), s.c.attribution.label("own_attribution"),
               s.c.rationale.label("own_rationale"))
        .join(s, s.c.commitment == a.c.commitment, isouter=True)
        .where(a.c.case_key == case.key)
        .order_by(a.c.round, a.c.id)
    ).all()  # fmt: skip

    def shown(row: Any) -> dict[str, Any]:
        known = row.revealed_at_us is not None
        own = viewer is not None and row.contingent == viewer and row.own_verdict is not None
        return {
            "id": row.id, "round": int(row.round), "contingent": row.contingent,
            "verdict": row.verdict if known else (row.own_verdict if own else None),
            "attribution": row.attribution if known else (row.own_attribution if own else None),
            "rationale": row.rationale if known else (row.own_rationale if own else None),
            "filed": iso(row.filed_at_us), "known": known or own, "revealed": known,
        }  # fmt: skip

    def visible(row: Any) -> bool:
        return row.revealed_at_us is not None or (viewer is not None and row.contingent == viewer)

    listed = []
    for rnd in rounds:
        mine = [f for f in filings if int(f.round) == int(rnd.number)]
        filed = [c for c in mission.contingents if any(f.contingent == c for f in mine)]
        unrevealed = [f.contingent for f in mine if f.revealed_at_us is None]
        listed.append({
            "number": int(rnd.number), "state": rnd.state, "opened": iso(rnd.opened_at_us),
            "opened_by": rnd.opened_by, "reason": rnd.reason, "verdict": rnd.verdict,
            "filed": filed, "waiting_for": [c for c in mission.contingents if c not in filed],
            "awaiting_reveal": unrevealed if rnd.state == SEALED else [],
            "assessments": [shown(f) for f in mine if visible(f)],
        })  # fmt: skip
    latest = listed[-1]
    if latest["state"] == COMMITTING:
        filed_text = ", ".join(latest["filed"]) or M("nobody")
        note = M(
            "round {round}: {filed} filed; positions open when all have filed (waiting for "
            "{waiting})", round=latest["number"], filed=filed_text,
            waiting=", ".join(latest["waiting_for"]),
        )  # fmt: skip
    elif latest["state"] == SEALED:
        note = M(
            "round {round}: every contingent has filed; awaiting the reveal of {awaiting} from "
            "its node", round=latest["number"], awaiting=", ".join(latest["awaiting_reveal"]),
        )  # fmt: skip
    else:
        note = M(
            "round {round}: every contingent has filed; all positions are shown",
            round=latest["number"],
        )
    if case.state == RECONSIDERING:
        note = M("under reconsideration: the verdict of the previous round stands. {note}",
                 note=note)  # fmt: skip
    subject = json.loads(case.subject)
    finding = complaint = None
    if "finding" in subject:
        finding = conn.execute(
            select(t.findings.c.id).where(t.findings.c.key == subject["finding"])
        ).scalar()
    complaint_row = None
    if "complaint" in subject:
        complaint_row = conn.execute(
            select(t.complaints).where(t.complaints.c.key == subject["complaint"])
        ).first()
        complaint = None if complaint_row is None else int(complaint_row.id)
    duplicate_of = None if case.duplicate_of is None else _case_id(conn, case.duplicate_of)
    decided = [x for x in listed if x["state"] == REVEALED]
    return {
        "id": case.id, "key": case.key, "subject": subject,
        "finding": None if finding is None else int(finding), "complaint": complaint,
        "complaint_detail": None if complaint_row is None
        else complaint_dict(complaint_row, _now(), None),
        "opened": iso(case.opened_at_us), "opened_by": case.opened_by, "state": case.state,
        "verdict": case.verdict, "under_reconsideration": case.state == RECONSIDERING,
        "duplicate_of": duplicate_of, "round": latest["number"], "rounds": listed,
        "filed": latest["filed"], "waiting_for": latest["waiting_for"],
        "revealed": bool(decided),
        "can_file": viewer is not None and duplicate_of is None
        and latest["state"] == COMMITTING and viewer not in latest["filed"],
        "can_reconsider": viewer is not None and case.state == DECIDED and duplicate_of is None,
        "assessments": decided[-1]["assessments"] if decided else [
            x for x in latest["assessments"]
        ],
        "history": [shown(f) for f in filings if visible(f)],
        "note": note,
    }  # fmt: skip


def list_cases(conn: Connection, viewer: str | None = None) -> list[dict[str, Any]]:
    mission = load_mission(conn)
    ids = [int(i) for i in conn.execute(select(t.cases.c.id).order_by(t.cases.c.id)).scalars()]
    return [case_view(conn, mission, i, viewer) for i in ids]


def _finding_of_case(c: Any) -> Any:
    """A case's finding, found by the finding's unique key (the case's subject without its
    `finding:`): from each case to its finding by the index, where comparing the subject with
    `'finding:' || key` would read every finding for every case (107 ms at a million
    observations, on every list and map)."""
    return and_(
        c.c.subject_key.like("finding:%"),
        t.findings.c.key == func.substr(c.c.subject_key, len("finding:") + 1),
    )


def verdicts(conn: Connection, mission: Mission) -> tuple[dict[int, str], dict[int, str]]:
    """The verdict of every finding with a case, and of every incident through its findings'
    cases (the first case of an incident speaks for it). Verdicts derive from revealed
    positions only, so they read the same to everyone."""
    c, f = t.cases, t.findings
    rows = conn.execute(
        select(c.c.verdict, f.c.id, f.c.incident_id)
        .join(f, _finding_of_case(c))
        .where(c.c.duplicate_of.is_(None))
        .order_by(c.c.id)
    ).all()
    by_finding: dict[int, str] = {}
    by_incident: dict[int, str] = {}
    for outcome, finding, incident in rows:
        by_finding[int(finding)] = outcome
        if incident is not None:
            by_incident.setdefault(int(incident), outcome)
    return by_finding, by_incident


def cases_of_findings(conn: Connection, findings: list[int]) -> dict[int, int]:
    """The case open on each of these findings (finding id → case id)."""
    c, f = t.cases, t.findings
    rows = conn.execute(
        select(f.c.id, c.c.id)
        .join(f, _finding_of_case(c))
        .where(f.c.id.in_(findings), c.c.duplicate_of.is_(None))
    )
    return {int(finding): int(case) for finding, case in rows}


def cases_on_findings(conn: Connection, findings: list[int]) -> list[int]:
    """The case ids on these findings, in order."""
    return sorted(cases_of_findings(conn, findings).values())
