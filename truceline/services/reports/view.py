"""A report said in one language, as plain rows and sentences: what the text, HTML and PDF
renderings show, the same words in each (and what `report verify` compares a document's
visible text with)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from truceline.domain.keys import fingerprint
from truceline.services.reports import Document
from truceline.services.reports.period import PERIOD_FORMAT
from truceline.services.reports.words import Words

FIRE_ORDER = ("explosion", "projectile", "burst", "shot", "muzzle_flash")
ROWS = 50  # rows of a long list shown (findings without a case, restrictions); the rest: JSON


@dataclass
class Section:
    title: str
    intro: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    empty: str = ""


@dataclass
class View:
    lang: str
    title: str
    heading: str
    day: str
    period: str
    status: str
    sha256_line: str
    summary: list[str]
    sections: list[Section]
    signatures: Section
    words: Words
    version_note: str = ""
    changes: list[str] = field(default_factory=list)


def _finding_what(w: Words, f: dict[str, Any]) -> str:
    _ = w.tr.gettext
    if f.get("incident"):
        return _("incident {id}").format(id=f["incident"])
    if f.get("unit"):
        return _("unit {id}").format(id=f["unit"])
    return _("observation {id}").format(id=f.get("observation"))


def build(document: Document, lang: str) -> View:
    content = document.content
    w = Words(content, lang)
    _, n_ = w.tr.gettext, w.tr.ngettext
    incidents = content.get("incidents", [])
    findings = content.get("findings", [])
    confirmed = sum(1 for f in findings if (f.get("case") or {}).get("verdict") == "confirmed")
    n_incidents = len(incidents)
    n_fire = sum(1 for x in incidents if x["kind"] in FIRE_ORDER)
    n_findings = len(findings)
    totals = content.get("totals")  # (a period's: its lists are shortened)
    if totals is not None:
        n_incidents, n_fire = int(totals["incidents"]), int(totals["fire"])
        n_findings, confirmed = int(totals["findings"]), int(totals["confirmed"])
    summary = [
        (n_("{n} incident was recorded this day, {fire} of them ceasefire events (fire).",
            "{n} incidents were recorded this day, {fire} of them ceasefire events (fire).",
            len(incidents)) if content.get("format") != PERIOD_FORMAT else
         n_("{n} incident was recorded in the period, {fire} of them ceasefire events (fire).",
            "{n} incidents were recorded in the period, {fire} of them ceasefire events (fire).",
            n_incidents)).format(n=w.number(n_incidents), fire=w.number(n_fire)),
        n_("{n} possible violation was recorded; ", "{n} possible violations were recorded; ",
           n_findings).format(n=w.number(n_findings))
        + n_("{n} was confirmed by a joint verdict.", "{n} were confirmed by a joint verdict.",
             confirmed).format(n=w.number(confirmed)),
        _("Recorded means reported and checked against the agreement, not yet jointly "
          "verified; only a joint verdict of every contingent confirms a violation."),
    ]  # fmt: skip

    area = Section(
        _("Recorded ceasefire events by area"),
        intro=[w.counting_rule()],
        header=[_("Area"), _("Kind"), _("Incidents"), _("Events reported")],
        empty=_("No ceasefire event was recorded."),
    )
    for row in content.get("by_area", []):
        area.rows.append([
            w.zone(row["zone"]), w.kind(row["kind"], row["subtype"]),
            w.number(int(row["incidents"])), w.number(int(row["events"])),
        ])  # fmt: skip

    clauses = Section(
        _("The agreement, clause by clause"),
        intro=[
            _(
                "Coverage: the hours that the contingents' own units and observation posts "
                "watched the clause's zones this day."
            )
        ],
        header=[_("Clause"), _("Statement"), _("Coverage")],
    )
    for line in content.get("clauses", []):
        by = line["coverage"]["by_contingent"]
        covered = "; ".join(f"{w.contingent(c)}: {w.hours(int(s))}" for c, s in by.items())
        clauses.rows.append([w.clause(line["clause"]), w.statement(line), covered])

    # every finding with a case; of the others, the first ROWS (all are counted above, and
    # all are in the signed JSON)
    cased = [f for f in findings if f.get("case")]
    others = [f for f in findings if not f.get("case")]
    shown_findings = sorted(cased + others[:ROWS], key=lambda f: (f["start"], f["id"]))
    unlisted = (int(totals["uncased"]) if totals else len(others)) - min(len(others), ROWS)
    where = w.where_many(
        [f.get("lon") for f in shown_findings], [f.get("lat") for f in shown_findings]
    )
    listed = Section(
        _("Possible violations recorded, and their verification"),
        header=[_("No."), _("Time"), _("Clause"), _("Where"), _("Subject"), _("Verification")],
        empty=_("None was recorded."),
    )
    if unlisted > 0:
        listed.intro.append(
            n_("{n} more possible violation without a case is counted above and listed in the "
               "signed JSON.", "{n} more possible violations without a case are counted above "
               "and listed in the signed JSON.", unlisted,
               ).format(n=w.number(unlisted))
        )  # fmt: skip
    for f, place in zip(shown_findings, where, strict=True):
        case = f.get("case")
        if case is None:
            verification = _("no case opened yet")
        else:
            parts = [_("verdict: {v}").format(v=w.verdict(case["verdict"]))]
            if case["state"] == "reconsidering":
                parts.append(w.case_state("reconsidering"))
            for rnd in case["rounds"]:
                shown = ", ".join(
                    f"{w.contingent(a['contingent'])}: {w.verdict(a['verdict'])}"
                    for a in rnd["assessments"]
                )
                parts.append(
                    _("round {n}: {verdict}").format(
                        n=rnd["number"], verdict=w.verdict(rnd["verdict"])
                    )
                    + (f" ({shown})" if shown else "")
                )
            verification = "; ".join(parts)
        zone = w.zone(f["zone"]) if f.get("zone") else ""
        listed.rows.append([
            str(f["id"]), w.moment(f["start"]), w.clause(f["clause"]),
            ", ".join(x for x in (zone, place) if x), w.actor(f.get("subject")) + " — "
            + _finding_what(w, f), verification,
        ])  # fmt: skip

    every_restriction = content.get("restrictions", [])
    restrictions = every_restriction[:ROWS]
    n_restrictions = int(totals["restrictions"]) if totals else len(every_restriction)
    places = w.where_many([r["lon"] for r in restrictions], [r["lat"] for r in restrictions])
    moves = Section(
        _("Restrictions of the monitors' freedom of movement"),
        header=[_("Time"), _("Where"), _("Contingent"), _("What"), _("By whom")],
        empty=_("No restriction was recorded."),
    )
    if n_restrictions > len(restrictions):
        moves.intro.append(
            n_("{n} restriction was recorded; the first {shown} are listed, all are in the "
               "signed JSON.", "{n} restrictions were recorded; the first {shown} are listed, "
               "all are in the signed JSON.", n_restrictions,
               ).format(n=w.number(n_restrictions), shown=len(restrictions))
        )  # fmt: skip
    for r, place in zip(restrictions, places, strict=True):
        zone = w.zone(r["zone"]) if r["zone"] else ""
        moves.rows.append([
            w.moment(r["start"]), ", ".join(x for x in (zone, place) if x),
            ", ".join(w.contingent(c) for c in r["contingents"]),
            w.subtype(r["subtype"]) if r["subtype"] else w.kind("restriction"), w.actor(r["actor"]),
        ])  # fmt: skip

    complaints = Section(
        _("Complaints received"),
        header=[_("No."), _("Received"), _("From"), _("What"), _("Against"), _("Status")],
        empty=_("No complaint was received."),
    )
    for c in content.get("complaints", []):
        status = w.complaint_status(c["status"])
        if c.get("verdict"):
            status += " — " + _("verdict: {v}").format(v=w.verdict(c["verdict"]))
        complaints.rows.append([
            str(c["id"]), w.moment(c["received"]), w.actor(c["party"]), w.kind(c["kind"]),
            w.actor(c["against"]), status,
        ])  # fmt: skip

    signatures = Section(
        _("Signatures"),
        header=[_("Contingent"), _("Signed by"), _("Time"), _("Key fingerprint")],
    )
    if content.get("format") == PERIOD_FORMAT:
        return _period(document, w, summary, [area, clauses, listed, moves, complaints])
    if document.published is None:
        status = _("DRAFT — not yet signed by every contingent; not a published report.")
        signatures.empty = _("Not yet signed by every contingent.")
    else:
        status = _("Published: signed by every contingent.")
        for s in document.published["signatures"]:
            entry = s["entry"]
            signatures.rows.append([
                w.contingent(s["contingent"]), str(entry.get("actor", "")),
                w.moment(_iso_us(entry.get("time"))),
                fingerprint(s["public_key"]) if s.get("public_key") else "",
            ])  # fmt: skip
        points = document.published.get("checkpoint", {})
        signatures.intro.append(
            _("Checkpoint of the logs: {heads}.").format(
                heads="; ".join(
                    f"{w.contingent(c)} #{h['seq']} {h['hash'][:16]}…" for c, h in points.items()
                )
            )
        )
    sha_line = _("sha256 of the content (what each chief signs): {sha}").format(sha=document.sha256)
    note, changed = _correction(w, document)
    return View(
        lang=lang,
        title=w.mission(),
        heading=_("Daily report"),
        day=w.day(content["date"]),
        period=_("Reporting day from {start} to {end} ({zone})").format(
            start=w.moment(content["from"]), end=w.moment(content["to"]), zone=content["timezone"]
        ),
        status=status,
        sha256_line=sha_line,
        summary=summary,
        sections=[area, clauses, listed, moves, complaints],
        signatures=signatures,
        words=w,
        version_note=note,
        changes=changed,
    )


def _period(document: Document, w: Words, summary: list[str], sections: list[Section]) -> View:
    """A period's report: the days it is built from first; signed only day by day."""
    _, n_ = w.tr.gettext, w.tr.ngettext
    content = document.content
    days = Section(
        _("The published reports it is built from"),
        header=[_("Day"), _("Version"), _("sha256"), _("Published")],
        empty=_("No day of this period is published."),
    )
    for d in content.get("days", []):
        days.rows.append(
            [w.day(d["date"]), str(d["version"]), d["sha256"], w.moment(d["published"])]
        )
    missing = content.get("not_published", [])
    if missing:
        days.intro.append(
            n_("{n} day of the period is not published and is not counted: {days}.",
               "{n} days of the period are not published and are not counted: {days}.",
               len(missing)).format(n=len(missing), days=", ".join(w.day(d) for d in missing))
        )  # fmt: skip
    period = _("From {start} to {end} ({zone}).").format(
        start=w.moment(content.get("from")), end=w.moment(content.get("to")),
        zone=content["timezone"],
    )  # fmt: skip
    clauses = sections[1]
    clauses.intro = [_("Coverage: the hours that the contingents' own units and observation "
                       "posts watched the clause's zones, over the published days.")]  # fmt: skip
    clauses.rows = []
    for line in content.get("clauses", []):
        held = line["days"]
        said = n_("{n} possible violation was recorded.", "{n} possible violations were recorded.",
                  int(line["findings"])).format(n=w.number(int(line["findings"])))  # fmt: skip
        said += " " + _("Days: {recorded} with a possible violation recorded, {clear} with no "
                        "violation recorded, {unseen} not observed.").format(
            recorded=held.get("recorded", 0), clear=held.get("no_violation_recorded", 0),
            unseen=held.get("not_observed", 0),
        )  # fmt: skip
        by = line["coverage"]["by_contingent"]
        covered = "; ".join(f"{w.contingent(c)}: {w.hours(int(x))}" for c, x in by.items())
        clauses.rows.append([w.clause(line["clause"]), said, covered])
    signatures = Section(_("Signatures"), empty=_("Each day's signatures are in its own report."))
    return View(
        lang=w.lang,
        title=w.mission(),
        heading=_("Report for a period"),
        day=f"{w.day(content['from_date'])} – {w.day(content['to_date'])}",
        period=period,
        status=_(
            "Not signed again: every figure comes from the published reports listed, each "
            "signed by every contingent."
        ),
        sha256_line=_("sha256 of this period's content: {sha}").format(sha=document.sha256),
        summary=summary,
        sections=[days, *sections],
        signatures=signatures,
        words=w,
    )


def _verification(w: Words, state: dict[str, Any]) -> str:
    said = w.verdict(state.get("verdict"))
    if state.get("state") == "reconsidering":
        said += "; " + w.case_state("reconsidering")
    return said


def _correction(w: Words, document: Document) -> tuple[str, list[str]]:
    """ "Version 2, correcting version 1", and what changed: from the signed content alone
    (a correction names the version it corrects)."""
    _ = w.tr.gettext
    corrects = document.content.get("corrects")
    if not corrects:
        return (_("Version {n}.").format(n=1) if document.published is not None else ""), []
    note = _("Version {n}, correcting version {m} (sha256 {sha}).").format(
        n=int(corrects["version"]) + 1, m=corrects["version"],
        sha=str(corrects["sha256"])[:16] + "…",
    )  # fmt: skip
    return note, said_changes(w, corrects.get("changes", []))


def said_changes(w: Words, changes: list[dict[str, Any]]) -> list[str]:
    """What changed between two versions of a report (`signing.changes`), in words."""
    _ = w.tr.gettext
    said: list[str] = []
    for change in changes:
        what = change["what"]
        if what == "clause":
            said.append(_("{clause}: now “{after}”; it said “{before}”.").format(
                clause=w.clause(change["clause"]), after=w.statement(change["after"]),
                before=w.statement(change["before"]),
            ))  # fmt: skip
        elif what == "finding_added":
            said.append(_("Possible violation {id} added.").format(id=change["finding"]))
        elif what == "finding_withdrawn":
            said.append(_("Possible violation {id} withdrawn.").format(id=change["finding"]))
        elif what == "section":
            sections = {
                "incidents": _("the incidents"), "by_area": _("the ceasefire events by area"),
                "restrictions": _("the restrictions of movement"),
                "complaints": _("the complaints"),
            }  # fmt: skip
            said.append(_("Changed: {section}.").format(
                section=sections.get(change["section"], change["section"])
            ))  # fmt: skip
        elif what == "verification":
            text = _("Possible violation {id}: verification now “{after}”; it was “{before}”.")
            said.append(text.format(
                id=change["finding"], after=_verification(w, change["after"]),
                before=_verification(w, change["before"]),
            ))  # fmt: skip
    return said


def _iso_us(value: Any) -> str | None:
    from truceline.domain.timeutil import iso

    return None if value is None else iso(int(value))
