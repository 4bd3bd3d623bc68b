"""Verifying a published report without trusting the server that produced it: from its signed
JSON, or from an HTML or PDF rendering that carries the same JSON (a data block; a PDF
attachment). The content must hash to the sha256 that every contingent's signed log entry
names, each entry's hash and Ed25519 signature must check against that contingent's key (the
mission's pinned keys, a keys file, or, with a warning, the keys the document itself
carries), and for HTML and PDF the words the reader sees must be the words of that content
rendered again in the document's language. Pure: bytes in, a typed result out."""

from __future__ import annotations

import difflib
import io
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

from truceline.domain import actions, keys
from truceline.domain.canonical import canonical_sha256
from truceline.domain.ledger import entry_from_dict
from truceline.i18n import translator
from truceline.services.reports import Document
from truceline.services.reports.json_renderer import OMITTED

SVG_NS = "{http://www.w3.org/2000/svg}"
_SPACE = re.compile(r"\s+")


@dataclass
class Verified:
    kind: str  # json, html or pdf
    date: str | None = None
    sha256: str | None = None
    keys_from: str = "embedded"  # mission, keys or embedded
    signers: list[tuple[str, str]] = field(default_factory=list)  # (contingent, fingerprint)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "kind": self.kind, "date": self.date, "sha256": self.sha256,
            "keys_from": self.keys_from,
            "signers": [{"contingent": c, "fingerprint": f} for c, f in self.signers],
            "problems": self.problems, "warnings": self.warnings,
        }  # fmt: skip


class Unreadable(ValueError):
    """Not a report this verifier can read (named why)."""


# --- reading the document ----------------------------------------------------------------


def _kind(data: bytes) -> str:
    head = data.lstrip()[:512].lower()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"{"):
        return "json"
    if b"<html" in head or head.startswith(b"<!doctype html"):
        return "html"
    raise Unreadable("not a report: expected its JSON, HTML or PDF")


def _record(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{where}: not JSON: {exc}") from None
    if not isinstance(record, dict) or "report" not in record or "signatures" not in record:
        raise Unreadable(
            f"{where}: not a published report (a draft, or another file): it holds no signatures"
        )
    return record


_BLOCK = re.compile(rb'<script type="application/json" id="truceline-report">(.*?)</script>', re.S)


def _html_parts(data: bytes) -> tuple[dict[str, Any], str, Any]:
    """The page's signed JSON (found as text: it may be far larger than an HTML parser takes
    in one node; no `</` can be inside it) and the page without it, parsed."""
    found = _BLOCK.search(data)
    if found is None:
        raise Unreadable("an HTML page without the signed JSON of a report")
    block = found.group(1).decode("utf-8", "replace")
    record = _record(block.replace("<\\/", "</").replace("<\\!--", "<!--"), "its JSON")
    tree: Any = lxml_html.fromstring(data[: found.start()] + data[found.end() :])
    report = tree.find_class("tl-report")
    if not report:
        raise Unreadable("an HTML page without a report's text")
    return record, str(tree.get("lang") or ""), report[0]


def _pdf_parts(data: bytes) -> tuple[dict[str, Any], str, list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from truceline.services.reports.pdf_renderer import ATTACHMENT

    try:
        reader = PdfReader(io.BytesIO(data))
        attached = reader.attachments.get(ATTACHMENT)
        root: Any = reader.trailer["/Root"]
        lang = str(root.get("/Lang") or "")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, KeyError, ValueError, TypeError) as exc:
        raise Unreadable(f"an unreadable PDF: {exc}") from None
    if not attached:
        raise Unreadable(f"a PDF without the signed report attached ({ATTACHMENT})")
    return _record(attached[0], ATTACHMENT), lang, pages


# --- the signatures ----------------------------------------------------------------------


def check_record(
    record: Mapping[str, Any], pinned: Mapping[str, str] | None, result: Verified
) -> None:
    """The content's hash and every signature; `pinned`: the keys by contingent that the
    reader trusts (else the document's own, with a warning)."""
    report, sha = record.get("report"), record.get("sha256")
    result.sha256, result.date = str(sha), str(record.get("date"))
    if canonical_sha256(report) != sha:
        result.problems.append(
            f"the content does not hash to its sha256: it is {canonical_sha256(report)}, "
            f"the report says {sha}"
        )
    signed: set[str] = set()
    for n, s in enumerate(record.get("signatures") or []):
        where = f"signature {n + 1}"
        try:
            held = dict(s["entry"])
            if s.get(OMITTED):  # the entry's copy of the report is the record's own
                held["payload"] = {**held["payload"], "report": report}
            entry = entry_from_dict(held)
        except (KeyError, TypeError, ValueError) as exc:
            result.problems.append(f"{where}: not a log entry: {exc}")
            continue
        contingent = entry.contingent
        where = f"{contingent}'s signature"
        key_text = (pinned or {}).get(contingent) if pinned is not None else s.get("public_key")
        if key_text is None:
            result.problems.append(f"{where}: no key of {contingent} to check it with")
            continue
        if pinned is not None and s.get("public_key") not in (None, key_text):
            result.warnings.append(
                f"{where}: the document carries another key than the one given for "
                f"{contingent}; checked with the one given"
            )
        if entry.computed_hash() != entry.hash:
            result.problems.append(f"{where}: the log entry does not hash to its hash")
        try:
            public = keys.parse_public(str(key_text))
        except ValueError as exc:
            result.problems.append(f"{where}: {exc}")
            continue
        if not keys.verify(public, entry.hash, entry.sig):
            result.problems.append(f"{where}: the Ed25519 signature does not check with its key")
            continue
        payload = entry.payload
        if entry.action != actions.REPORT_SIGNED:
            result.problems.append(f"{where}: the entry is a {entry.action!r}, not a signature")
        elif payload.get("sha256") != sha or canonical_sha256(payload.get("report")) != sha:
            result.problems.append(f"{where}: it signs another report ({payload.get('sha256')})")
        elif payload.get("date") != record.get("date"):
            result.problems.append(f"{where}: it signs the report of {payload.get('date')}")
        else:
            signed.add(contingent)
            result.signers.append((contingent, keys.fingerprint(str(key_text))))
    expected = set(pinned) if pinned is not None else {
        str(s.get("contingent")) for s in record.get("signatures") or []
    }  # fmt: skip
    for missing in sorted(expected - signed):
        result.problems.append(f"{missing} has not signed this report")
    if pinned is None:
        result.warnings.append(
            "checked with the keys the document carries: compare their fingerprints with the "
            "ones the contingents publish (or give --mission or --keys)"
        )


# --- the words ---------------------------------------------------------------------------


_HIDDEN = frozenset({"title", f"{SVG_NS}title", "style", "script"})


def _visible(element: Any) -> tuple[str, list[bool]]:
    """An element's text as a reader sees it, in document order and without whitespace (no
    SVG tooltip, no style), with which characters are a drawing's."""
    chars: list[str] = []
    drawn: list[bool] = []

    def add(text: str | None, in_svg: bool) -> None:
        if text:
            flat = _SPACE.sub("", text)
            chars.append(flat)
            drawn.extend([in_svg] * len(flat))

    def walk(node: Any, in_svg: bool) -> None:
        tag = str(node.tag)
        inside = in_svg or tag in ("svg", f"{SVG_NS}svg")
        hidden = tag in _HIDDEN
        if not hidden:
            add(node.text, inside)
            for child in node:
                walk(child, inside)
        add(node.tail, in_svg)

    walk(element, False)
    # (the element's own tail is not its text)
    text = "".join(chars)
    tail = _SPACE.sub("", element.tail or "")
    if tail:
        text, drawn = text[: -len(tail)], drawn[: -len(tail)]
    return text, drawn


def _expected(record: Mapping[str, Any], lang: str) -> Any:
    from truceline.services.reports.html_renderer import render_fragment

    document = Document.of(dict(record["report"]), dict(record), record.get("version"))
    tree: Any = lxml_html.fromstring(render_fragment(document, lang))
    return tree.find_class("tl-report")[0]


def _compare_pdf(pages: list[str], expected: Any, result: Verified) -> None:
    """The PDF's text against the content rendered again: the same characters in the same
    order, but for each page's running header and number, a table's header repeated atop a
    page, and the order in which a drawing's words come out (its characters must all be
    there, and nothing else may move)."""
    text, drawn = _visible(expected)
    heading = _SPACE.sub("", expected.findtext(".//h1") or "")
    headers = {
        _SPACE.sub("", "".join(th.text_content() for th in row.iter("th")))
        for row in expected.iter("tr")
        if row.find("th") is not None
    }
    word = translator(str(expected.get("lang") or "en")).gettext("Page")
    footer = re.compile(re.escape(_SPACE.sub("", word)) + r"\d+/\d+$")
    got = ""
    for page in pages:
        flat = _SPACE.sub("", page)
        flat = footer.sub("", flat)  # "Page 3 / 4" at its end
        if heading and flat.endswith(heading):  # the running header, drawn last or first
            flat = flat[: -len(heading)]
        elif heading and flat.startswith(heading):
            flat = flat[len(heading) :]
        got += flat
    # The words in the order of the page, the drawings' words apart: a PDF draws its
    # drawings after the text around them, so only their characters are compared, not where
    # they come out.
    written = "".join(c for c, d in zip(text, drawn, strict=True) if not d)
    pool = Counter(c for c, d in zip(text, drawn, strict=True) if d)
    differs = 0
    matcher = difflib.SequenceMatcher(None, got, written, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        extra = got[a0:a1]
        if extra and extra in headers and b0 == b1:
            continue  # a table's header repeated atop a page
        pool.subtract(extra)  # a drawing's characters, or not
        differs += b1 - b0  # words of the text that the PDF does not say there
    differs += sum(abs(v) for v in pool.values())
    if differs:
        result.problems.append(
            f"the PDF's visible text is not the signed content's: {differs} character(s) differ "
            f"from the content rendered again in {result_lang(expected)}"
        )


def result_lang(expected: Any) -> str:
    return str(expected.get("lang") or "its language")


def _compare_html(page: Any, expected: Any, result: Verified) -> None:
    shown, _ = _visible(page)
    wanted, _ = _visible(expected)
    if shown != wanted:
        matcher = difflib.SequenceMatcher(None, shown, wanted, autojunk=False)
        first = next(op for op in matcher.get_opcodes() if op[0] != "equal")
        result.problems.append(
            "the page's visible text is not the signed content's: it says "
            f"{shown[first[1] : first[1] + 40]!r} where the content says "
            f"{wanted[first[3] : first[3] + 40]!r}"
        )


def signed_record(data: bytes) -> dict[str, Any]:
    """The signed JSON a published report's JSON, HTML or PDF holds."""
    kind = _kind(data)
    if kind == "json":
        return _record(data, "the file")
    return _html_parts(data)[0] if kind == "html" else _pdf_parts(data)[0]


def verify_document(data: bytes, pinned: Mapping[str, str] | None = None) -> Verified:
    """Verify a published report's JSON, HTML or PDF. `pinned`: the trusted keys by
    contingent (from the mission file or a keys file); None uses the embedded ones."""
    kind = _kind(data)
    result = Verified(kind, keys_from="embedded" if pinned is None else "given")
    if kind == "json":
        check_record(_record(data, "the file"), pinned, result)
        return result
    if kind == "html":
        record, lang, page = _html_parts(data)
        check_record(record, pinned, result)
        _compare_html(page, _expected(record, _language(record, lang, result)), result)
        return result
    record, lang, pages = _pdf_parts(data)
    check_record(record, pinned, result)
    _compare_pdf(pages, _expected(record, _language(record, lang, result)), result)
    return result


def _language(record: Mapping[str, Any], lang: str, result: Verified) -> str:
    languages = [str(x) for x in record["report"].get("languages") or ["en"]]
    if lang in languages:
        return lang
    result.problems.append(f"the document's language {lang!r} is not one of the report's")
    return languages[0]
