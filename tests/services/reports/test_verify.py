"""A reader verifies a published report without trusting us: its JSON, HTML or PDF passes
when co-signed, and fails when one byte of the content, a signature, a key or the visible
text is changed. And the JSON verifies with only `cryptography` and the documented steps."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from truceline.domain.keys import generate, public_text
from truceline.services.reports import Document, renderer_for
from truceline.services.reports.html_renderer import render_html
from truceline.services.reports.json_renderer import signed_json
from truceline.services.reports.verify import Unreadable, verify_document

Published = tuple[Engine, Document]


def pinned(mission_file: Path) -> dict[str, str]:
    from truceline.services.missions import read_mission

    mission, _ = read_mission(mission_file)
    return {c.id: str(c.public_key) for c in mission.contingents.values()}


def test_a_co_signed_report_verifies_as_json_html_and_pdf(
    published: Published, mission_file: Path
) -> None:
    _, document = published
    keys = pinned(mission_file)
    for fmt in ("json", "html", "pdf"):
        data = renderer_for(fmt).report(document, "ru" if fmt != "json" else "en")
        result = verify_document(data, keys)
        assert result.ok, (fmt, result.problems)
        assert [c for c, _ in result.signers] == ["blue", "green"]
        assert result.sha256 == document.sha256
        assert all("PDF" in w for w in result.warnings) and bool(result.warnings) == (fmt == "pdf")
    alone = verify_document(signed_json(document).encode())
    assert alone.ok and any("fingerprints" in w for w in alone.warnings)


def _record(document: Document) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(signed_json(document))
    return record


def test_one_changed_byte_a_signature_or_a_key_fails_the_json(
    published: Published, mission_file: Path
) -> None:
    _, document = published
    keys = pinned(mission_file)
    text = signed_json(document)
    changed = text.replace('"counting": "incidents"', '"counting": "incidentS"', 1)
    assert changed != text
    assert not verify_document(changed.encode(), keys).ok  # one byte of the content
    record = _record(document)
    sig = record["signatures"][1]["entry"]["sig"]
    record["signatures"][1]["entry"]["sig"] = ("B" if sig[0] != "B" else "C") + sig[1:]
    result = verify_document(json.dumps(record).encode(), keys)
    assert not result.ok and any("green" in p and "signature" in p for p in result.problems)
    other = {**keys, "blue": public_text(generate())}  # a key that is not blue's
    result = verify_document(signed_json(document).encode(), other)
    assert not result.ok and any("blue" in p for p in result.problems)
    # a forged report signed with a key the document itself carries still fails against the
    # pinned keys: a reader who gives --mission is not fooled by embedded keys
    record = _record(document)
    del record["signatures"][1]
    result = verify_document(json.dumps(record).encode(), keys)
    assert not result.ok and "green has not signed this report" in result.problems


def test_a_page_whose_words_were_changed_fails_though_its_json_is_intact(
    published: Published, mission_file: Path
) -> None:
    _, document = published
    keys = pinned(mission_file)
    page = render_html(document, "en")
    assert "Not observed: nobody watched its zones this day." in page
    lie = page.replace(
        "Not observed: nobody watched its zones this day.",
        "No violation was recorded (24 h of coverage).", 1,
    )  # fmt: skip
    result = verify_document(lie.encode(), keys)
    assert not result.ok and any("not the signed content" in p for p in result.problems)
    broken = page.replace(document.sha256, "0" * 64)  # the JSON block's and the page's sha256
    assert not verify_document(broken.encode(), keys).ok
    # a script, a style that hides the report, a second text: the page is not ours
    for added in (
        '<script>document.body.innerHTML="<h1>FAKE</h1>"</script>',
        "<style>.tl-report{display:none}</style><div>No violation at all.</div>",
    ):
        forged = page.replace("</main>", added + "</main>", 1)
        assert not verify_document(forged.encode(), keys).ok, added
    # an unsigned key in the data block that closes the script for a browser
    block = '<script type="application/json" id="truceline-report">{'
    sneaky = page.replace(block, block + '"x":"</SCRIPT><h1>FAKE</h1>",', 1)
    assert not verify_document(sneaky.encode(), keys).ok


def test_a_report_missing_a_contingents_signature_or_key_fails_whatever_keys_are_given(
    published: Published, mission_file: Path
) -> None:
    _, document = published
    keys = pinned(mission_file)
    record = _record(document)
    record["signatures"] = record["signatures"][:1]  # blue signed, green did not
    alone = json.dumps(record).encode()
    assert not verify_document(alone).ok  # embedded keys: still every contingent
    result = verify_document(alone, {"blue": keys["blue"]})
    assert not result.ok and any("no key given for green" in p for p in result.problems)
    empty = _record(document)
    empty["signatures"] = []
    assert not verify_document(json.dumps(empty).encode()).ok
    twice = signed_json(document).replace('{\n  "date"', '{\n  "report": {}, "date"', 1)
    with pytest.raises(Unreadable, match="twice"):
        verify_document(twice.encode(), keys)
    forged = _record(document)
    forged["checkpoint"] = {"blue": {"seq": 1, "hash": "0" * 64}}
    page = render_html(Document(document.content, document.sha256, forged), "en")
    result = verify_document(page.encode(), keys)
    assert not result.ok and any("checkpoint" in p for p in result.problems)


def test_a_pdf_whose_words_were_changed_fails_though_its_attachment_is_intact(
    published: Published, mission_file: Path
) -> None:
    import weasyprint

    from truceline.services.reports.pdf_renderer import ATTACHMENT

    _, document = published
    keys = pinned(mission_file)
    counts = [r for r in document.content["by_area"] if r["incidents"] >= 1]
    assert counts
    page = render_html(document, "tr")
    lie = page.replace(
        "<td>Madde 3 (Kelbecer ilçesinin iadesi)</td>", "<td>Madde 3 (Kelbecer ilçesi)</td>", 1
    )
    assert lie != page
    pdf = weasyprint.HTML(string=lie).write_pdf(
        attachments=[weasyprint.Attachment(string=signed_json(document), name=ATTACHMENT)]
    )
    result = verify_document(pdf, keys)
    assert not result.ok and any("visible text" in p for p in result.problems)
    slow = verify_document(pdf, keys, fast=False)  # pypdf, as where pdftotext is missing
    assert not slow.ok and any("visible text" in p for p in slow.problems)
    honest = weasyprint.HTML(string=page).write_pdf(
        attachments=[weasyprint.Attachment(string=signed_json(document), name=ATTACHMENT)]
    )
    assert verify_document(honest, keys).ok and verify_document(honest, keys, fast=False).ok


def test_a_draft_or_another_file_is_refused_by_name(published: Published) -> None:
    engine, _ = published
    from datetime import date

    from truceline.services.signing import report_document

    draft = report_document(engine, date(2020, 11, 20))
    assert draft.draft
    with pytest.raises(Unreadable, match="not a published report"):
        verify_document(renderer_for("json").report(draft, "en"))
    with pytest.raises(Unreadable, match="not a report"):
        verify_document(b"PK\x03\x04 a zip")
    with pytest.raises(Unreadable, match="without the signed report attached"):
        import weasyprint

        verify_document(weasyprint.HTML(string="<p>x</p>").write_pdf())


# --- the documented steps, with only `cryptography` ----------------------------------------


def _canonical(value: Any) -> bytes:
    """docs/verification.md, step 1: RFC 8785 for these values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_json_verifies_by_the_documented_steps_with_only_cryptography(
    published: Published, mission_file: Path
) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    _, document = published
    record = json.loads(signed_json(document))
    keys = pinned(mission_file)

    def verified(record: dict[str, Any]) -> bool:
        sha = hashlib.sha256(_canonical(record["report"])).hexdigest()
        if sha != record["sha256"]:
            return False
        signed = set()
        for s in record["signatures"]:
            entry = dict(s["entry"])
            if s.get("report_omitted"):  # step 3: the entry's payload holds the report
                entry["payload"] = {**entry["payload"], "report": record["report"]}
            digest, sig = entry.pop("hash"), entry.pop("sig")
            if hashlib.sha256(_canonical(entry)).hexdigest() != digest:
                return False
            key = Ed25519PublicKey.from_public_bytes(
                base64.b64decode(keys[entry["contingent"]].removeprefix("ed25519:"))
            )
            try:
                key.verify(base64.b64decode(sig), bytes.fromhex(digest))
            except InvalidSignature:
                return False
            payload = entry["payload"]
            if entry["action"] != "report_signed" or payload["sha256"] != sha:
                return False
            if payload["date"] != record["date"]:
                return False
            signed.add(entry["contingent"])
        return signed == set(keys)

    assert verified(record)
    record["report"]["counting"] = "incidentS"
    assert not verified(record)
