"""Verifying a published report without trusting the server that produced it: from its signed
JSON, or from an HTML or PDF rendering that carries the same JSON (a data block; a PDF
attachment). The content must hash to the sha256 that every contingent's signed log entry
names, each entry's hash and Ed25519 signature must check against that contingent's key (the
mission's pinned keys, a keys file, or, with a warning, the keys the document itself
carries), and for HTML and PDF the words the reader sees must be the words of that content
rendered again in the document's language. Pure: bytes in, a typed result out."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

from truceline.domain import actions, keys
from truceline.domain.canonical import (
    canonical_json,
    canonical_sha256,
    no_duplicate_keys,
    sha256_hex,
)
from truceline.domain.ledger import entry_from_dict
from truceline.i18n import translator
from truceline.i18n.message import M, Mn
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
    keys_used: dict[str, str] = field(default_factory=dict)

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


def _why(exc: Exception) -> object:
    """An exception's message as it was made (a `Message` stays one)."""
    return exc.args[0] if len(exc.args) == 1 else str(exc)


# --- reading the document ----------------------------------------------------------------


def _kind(data: bytes) -> str:
    head = data.lstrip()[:512].lower()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"{"):
        return "json"
    if b"<html" in head or head.startswith(b"<!doctype html"):
        return "html"
    raise Unreadable(M("not a report: expected its JSON, HTML or PDF"))


def _record(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        record = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise Unreadable(M("{where}: not JSON: {reason}", where=where, reason=str(exc))) from None
    except ValueError as exc:  # a key given twice: a reader could be shown either value
        raise Unreadable(
            M("{where}: {reason}: a key given twice", where=where, reason=_why(exc))
        ) from None
    if not isinstance(record, dict) or "report" not in record or "signatures" not in record:
        raise Unreadable(
            M(
                "{where}: not a published report (a draft, or another file): it holds no "
                "signatures",
                where=where,
            )
        )
    if not isinstance(record["report"], dict) or not isinstance(record["signatures"], list):
        raise Unreadable(
            M("{where}: its report is not an object or its signatures not a list", where=where)
        )
    if not all(isinstance(x, dict) and isinstance(x.get("entry"), dict)
               for x in record["signatures"]):  # fmt: skip
        raise Unreadable(M("{where}: a signature that is not an object with an entry", where=where))
    return record


_OPEN = b'<script type="application/json" id="truceline-report">'


def _html_parts(data: bytes) -> tuple[dict[str, Any], str, Any]:
    """The page's signed JSON (found as text: it may be far larger than an HTML parser takes
    in one node; no `</` can be inside it) and the page without it, parsed."""
    start = data.find(_OPEN)
    end = data.find(b"</script>", start) if start >= 0 else -1
    if start < 0 or end < 0:
        raise Unreadable(M("an HTML page without the signed JSON of a report"))
    block = data[start + len(_OPEN) : end].decode("utf-8", "replace")
    record = _record(block.replace("<\\/", "</").replace("<\\!--", "<!--"), M("its JSON"))
    tree: Any = lxml_html.fromstring(data[:start] + data[end + len(b"</script>") :])
    report = tree.find_class("tl-report")
    if not report:
        raise Unreadable(M("an HTML page without a report's text"))
    return record, str(tree.get("lang") or ""), report[0]


def pdftotext_pages(data: bytes, pages: int) -> list[str] | None:
    """The PDF's text per page by poppler's `pdftotext -raw` (content order, as pypdf reads
    it, ten times faster), where it is installed; None where it is not or fails."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    try:
        ran = subprocess.run([tool, "-raw", "-enc", "UTF-8", "-", "-"], input=data,
                             capture_output=True, timeout=60, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    said = ran.stdout.decode("utf-8", "replace").split("\f")
    if said and said[-1] == "":
        said = said[:-1]
    return said if len(said) == pages else None


def _pdf_parts(data: bytes, *, fast: bool = True) -> tuple[dict[str, Any], str, list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from truceline.services.reports.pdf_renderer import ATTACHMENT

    try:
        reader = PdfReader(io.BytesIO(data))
        attached = reader.attachments.get(ATTACHMENT)
        root: Any = reader.trailer["/Root"]
        lang = str(root.get("/Lang") or "")
        pages = (pdftotext_pages(data, len(reader.pages)) if fast else None) or [
            page.extract_text() or "" for page in reader.pages
        ]
    except (PdfReadError, KeyError, ValueError, TypeError) as exc:
        raise Unreadable(M("an unreadable PDF: {reason}", reason=str(exc))) from None
    if not attached:
        raise Unreadable(M("a PDF without the signed report attached ({name})", name=ATTACHMENT))
    return _record(attached[0], ATTACHMENT), lang, pages


# --- the signatures ----------------------------------------------------------------------


def check_record(
    record: Mapping[str, Any], pinned: Mapping[str, str] | None, result: Verified
) -> None:
    """The content's hash and every signature; `pinned`: the keys by contingent that the
    reader trusts (else the document's own, with a warning)."""
    report, sha = record.get("report"), record.get("sha256")
    result.sha256, result.date = str(sha), str(record.get("date"))
    report_json = canonical_json(report)
    content_sha = sha256_hex(report_json)
    if content_sha != sha:
        result.problems.append(
            M(
                "the content does not hash to its sha256: it is {actual}, the report says {sha}",
                actual=content_sha,
                sha=sha,
            )
        )
    signed: set[str] = set()
    for n, s in enumerate(record.get("signatures") or []):
        where = M("signature {n}", n=n + 1)
        omitted = bool(s.get(OMITTED))
        try:
            held = dict(s["entry"])
            if omitted:  # the entry's copy of the report is the record's own
                held["payload"] = {**held["payload"], "report": _SPLICE}
            entry = entry_from_dict(held)
        except (KeyError, TypeError, ValueError) as exc:
            result.problems.append(
                M("{where}: not a log entry: {reason}", where=where, reason=str(exc))
            )
            continue
        contingent = entry.contingent
        where = M("{contingent}'s signature", contingent=contingent)
        key_text = (pinned or {}).get(contingent) if pinned is not None else s.get("public_key")
        if key_text is None:
            result.problems.append(
                M(
                    "{where}: no key of {contingent} to check it with",
                    where=where,
                    contingent=contingent,
                )
            )
            continue
        if pinned is not None and s.get("public_key") not in (None, key_text):
            result.warnings.append(
                M(
                    "{where}: the document carries another key than the one given for "
                    "{contingent}; checked with the one given",
                    where=where,
                    contingent=contingent,
                )
            )
        if _entry_hash(entry, report_json if omitted else None) != entry.hash:
            result.problems.append(
                M("{where}: the log entry does not hash to its hash", where=where)
            )
        try:
            public = keys.parse_public(str(key_text))
        except ValueError as exc:
            result.problems.append(M("{where}: {reason}", where=where, reason=_why(exc)))
            continue
        if not keys.verify(public, entry.hash, entry.sig):
            result.problems.append(
                M("{where}: the Ed25519 signature does not check with its key", where=where)
            )
            continue
        payload = entry.payload
        if entry.action != actions.REPORT_SIGNED:
            result.problems.append(
                M(
                    "{where}: the entry is a {action!r}, not a signature",
                    where=where,
                    action=entry.action,
                )
            )
        elif payload.get("sha256") != sha or (
            not omitted and canonical_sha256(payload.get("report")) != sha
        ):
            result.problems.append(
                M(
                    "{where}: it signs another report ({sha})",
                    where=where,
                    sha=payload.get("sha256"),
                )
            )
        elif payload.get("date") != record.get("date"):
            result.problems.append(
                M("{where}: it signs the report of {date}", where=where, date=payload.get("date"))
            )
        else:
            signed.add(contingent)
            result.keys_used[contingent] = str(key_text)
            result.signers.append((contingent, keys.fingerprint(str(key_text))))
    # every contingent the signed content names (its mission's), whoever's keys were given
    named = report.get("names", {}).get("contingents") if isinstance(report, dict) else None
    expected = set(named) if isinstance(named, dict) and named else set()
    if not expected:
        result.problems.append(M("the content names no contingent: nobody's signature counts"))
    if pinned is not None and not expected <= set(pinned):
        result.problems.append(
            M(
                "no key given for {contingents}: every contingent of the mission must have signed",
                contingents=", ".join(sorted(expected - set(pinned))),
            )
        )
    for missing in sorted(expected - signed):
        result.problems.append(M("{contingent} has not signed this report", contingent=missing))
    if isinstance(report, dict) and report.get("date") != record.get("date"):
        result.problems.append(
            M(
                "the content is the report of {date}, the file says {said}",
                date=report.get("date"),
                said=record.get("date"),
            )
        )
    if pinned is None:
        result.warnings.append(
            M(
                "checked with the keys the document carries: compare their fingerprints with the "
                "ones the contingents publish (or give --mission or --keys)"
            )
        )


_SPLICE = "\x00the report\x00"  # stands for the report in an entry, spliced in as bytes


def _entry_hash(entry: Any, report_json: bytes | None) -> str:
    """The entry's hash; its payload's report (when it stands as `_SPLICE`) hashed as the
    canonical bytes given, which are computed once for every entry."""
    body = canonical_json(entry.body())
    if report_json is not None:
        marker = canonical_json(_SPLICE)
        if body.count(marker) != 1:
            return ""
        body = body.replace(marker, report_json)
    return sha256_hex(body)


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


def _checked_record(record: Mapping[str, Any], result: Verified) -> dict[str, Any]:
    """The record as the verifier renders it: what the signed entries say, not what the file
    claims beside them (the checkpoint from the entries' own heads; each signature named by
    its entry's contingent and the key it was checked with)."""
    from truceline.domain.ledger import entry_from_dict
    from truceline.services.signing import checkpoint_of

    entries = []
    for s in record.get("signatures", []):
        held = dict(s["entry"])
        if s.get(OMITTED):
            held["payload"] = {**held.get("payload", {}), "report": record["report"]}
        try:
            entries.append(entry_from_dict(held))
        except (KeyError, TypeError, ValueError):
            continue
    checked = dict(record)
    checkpoint = checkpoint_of(entries)
    if record.get("checkpoint") != checkpoint:
        result.problems.append(M("the checkpoint beside the content is not the signers' own"))
    checked["checkpoint"] = checkpoint
    keys = dict(result.keys_used)
    checked["signatures"] = [
        {**s, "contingent": e.contingent, "public_key": keys.get(e.contingent, s.get("public_key"))}
        for s, e in zip(record.get("signatures", []), entries, strict=False)
    ]  # fmt: skip
    corrects = record["report"].get("corrects") if isinstance(record["report"], dict) else None
    checked["version"] = int(corrects["version"]) + 1 if isinstance(corrects, dict) else 1
    if record.get("version") not in (None, checked["version"]):
        result.problems.append(
            M(
                "the file says version {said}; its signed content is version {version}",
                said=record.get("version"),
                version=checked["version"],
            )
        )
    return checked


def _expected(record: Mapping[str, Any], lang: str, paper: bool = False) -> Any:
    from truceline.services.reports.html_renderer import render_fragment

    document = Document(
        dict(record["report"]), str(record["sha256"]), dict(record), record.get("version")
    )  # (the JSON read is in canonical order already)
    tree: Any = lxml_html.fromstring(render_fragment(document, lang, paper=paper))
    return tree.find_class("tl-report")[0]


def _compare_pdf(pages: list[str], expected: Any, result: Verified) -> None:
    """The PDF's text against the content rendered again. Without each page's running header
    and number, and a table's header repeated atop a page, the PDF must say every character
    of the text in its order, and nothing else but its drawings' characters (which a PDF
    draws after the text around them, in an order of its own)."""
    text, drawn = _visible(expected)
    heading = _SPACE.sub("", expected.findtext(".//h1") or "")
    headers = sorted(
        {
            _SPACE.sub("", "".join(th.text_content() for th in row.iter("th")))
            for row in expected.iter("tr")
            if row.find("th") is not None
        },
        key=len,
        reverse=True,
    )
    word = translator(str(expected.get("lang") or "en")).gettext("Page")
    footer = re.compile(re.escape(_SPACE.sub("", word)) + r"\d+/\d+$")
    got: list[str] = []
    seen = ""  # the pages before, as they are
    for n, page in enumerate(pages):
        flat = footer.sub("", _SPACE.sub("", page))  # "Page 3 / 4" at its end
        if heading and flat.endswith(heading):  # the running header, drawn last or first
            flat = flat[: -len(heading)]
        elif heading and flat.startswith(heading):
            flat = flat[len(heading) :]
        raw = flat
        if n:  # a table continued from the page before repeats its header (its first
            for header in headers:  # showing is on an earlier page)
                if header and flat.startswith(header) and header in seen:
                    flat = flat[len(header) :]
                    break
        seen += raw
        got.append(flat)
    said = "".join(got)
    written = "".join(c for c, d in zip(text, drawn, strict=True) if not d)
    # the text, in order (a leftmost match: it finds one whenever there is one)
    at, missing = 0, 0
    for c in written:
        found = said.find(c, at)
        if found < 0:
            missing += 1
        else:
            at = found + 1
    # and nothing else than the drawings' characters
    extra = Counter(said)
    extra.subtract(written)
    extra.subtract(c for c, d in zip(text, drawn, strict=True) if d)
    differs = missing + sum(abs(v) for v in extra.values())
    if differs:
        result.problems.append(
            Mn(
                "the PDF's visible text is not the signed content's: {n} character(s) differ "
                "from the content rendered again in {lang}",
                "the PDF's visible text is not the signed content's: {n} character(s) differ "
                "from the content rendered again in {lang}",
                differs,
                lang=result_lang(expected),
            )
        )


def result_lang(expected: Any) -> str:
    lang = expected.get("lang")
    return str(lang) if lang else M("its language")


def _compare_html(data: bytes, record: Mapping[str, Any], lang: str, result: Verified) -> None:
    """The page, byte for byte, against the same content rendered again in its language:
    nothing added (a script, a style that hides, a second text), nothing changed."""
    from truceline.services.reports.html_renderer import render_html

    document = Document(dict(record["report"]), str(record["sha256"]), dict(record),
                        record.get("version"))  # fmt: skip
    wanted = render_html(document, lang).encode("utf-8")
    if data != wanted:
        at = next((k for k, (a, b) in enumerate(zip(data, wanted, strict=False)) if a != b),
                  min(len(data), len(wanted)))  # fmt: skip
        shown = data[max(0, at - 20) : at + 40].decode("utf-8", "replace")
        result.problems.append(
            M(
                "the page is not the signed content rendered again (this truceline renders it "
                "otherwise from byte {at}: {shown!r})",
                at=at,
                shown=shown,
            )
        )


def signed_record(data: bytes) -> dict[str, Any]:
    """The signed JSON a published report's JSON, HTML or PDF holds."""
    kind = _kind(data)
    if kind == "json":
        return _record(data, M("the file"))
    return _html_parts(data)[0] if kind == "html" else _pdf_parts(data)[0]


def verify_document(
    data: bytes, pinned: Mapping[str, str] | None = None, *, fast: bool = True
) -> Verified:
    """Verify a published report's JSON, HTML or PDF. `pinned`: the trusted keys by
    contingent (from the mission file or a keys file); None uses the embedded ones. A PDF's
    text is read by pdftotext where it is installed (`fast`), else by pypdf."""
    kind = _kind(data)
    result = Verified(kind, keys_from="embedded" if pinned is None else "given")
    if kind == "json":
        record = _record(data, M("the file"))
        check_record(record, pinned, result)
        _checked_record(record, result)  # (what it says beside the content)
        return result
    if kind == "html":
        record, lang, _ = _html_parts(data)
        check_record(record, pinned, result)
        checked = _checked_record(record, result)
        _compare_html(data, checked, _language(record, lang, result), result)
        return result
    record, lang, pages = _pdf_parts(data, fast=fast)
    check_record(record, pinned, result)
    checked = _checked_record(record, result)
    _compare_pdf(pages, _expected(checked, _language(record, lang, result), paper=True), result)
    result.warnings.append(
        M(
            "a PDF's text was compared, not its drawing: to read the report, trust the HTML or "
            "this verifier's own rendering (report daily) rather than how a PDF looks"
        )
    )
    return result


def _language(record: Mapping[str, Any], lang: str, result: Verified) -> str:
    languages = [str(x) for x in record["report"].get("languages") or ["en"]]
    if lang in languages:
        return lang
    result.problems.append(
        M("the document's language {lang!r} is not one of the report's", lang=lang)
    )
    return languages[0]
