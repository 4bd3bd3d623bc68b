"""Every rendering of a report, in every language of the mission: the text says the clause
statements and counts, the PDF holds them (pdftotext) in Cyrillic and Turkish, the HTML opens
from a file with no request and fits an A4 page, and every message has its translations."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from lxml import html as lxml_html
from sqlalchemy import Engine

from truceline.domain.canonical import canonical_sha256
from truceline.i18n import catalog_path
from truceline.services.reports import REGISTERED, Document, renderer_for
from truceline.services.reports.html_renderer import DATA_BLOCK_ID, render_html

DAY = date(2020, 11, 21)
ROOT = Path(__file__).resolve().parents[3]
LANGUAGES = ("en", "ru", "tr")
# what each language must say (a clause statement, the heading) in its own script
SAYS = {
    "en": ("Daily report", "Not observed", "Clause 3"),
    "ru": ("Ежедневный отчёт", "Пункт 3", "Прекращение огня"),
    "tr": ("Günlük rapor", "Madde 3", "Ateşkes"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_text_rendering_says_each_clause_statement_and_the_sha256_in_each_language(
    published: tuple[Engine, Document], lang: str
) -> None:
    _, document = published
    text = renderer_for("text").report(document, lang).decode()
    for words in SAYS[lang]:
        assert words in text
    assert document.sha256 in text
    statements = [c["status"] for c in document.content["clauses"]]
    assert {"recorded", "not_observed", "no_violation_recorded"} <= set(statements)


def test_the_json_rendering_is_the_published_record_and_the_same_in_every_language(
    published: tuple[Engine, Document],
) -> None:
    _, document = published
    bodies = {renderer_for("json").report(document, lang) for lang in LANGUAGES}
    assert len(bodies) == 1  # the signed content is language-free
    record = json.loads(bodies.pop())
    assert canonical_sha256(record["report"]) == record["sha256"] == document.sha256
    assert [s["contingent"] for s in record["signatures"]] == ["blue", "green"]


def test_the_pdf_holds_the_statements_counts_and_each_languages_letters(
    published: tuple[Engine, Document], tmp_path: Path
) -> None:
    _, document = published
    incidents = str(len(document.content["incidents"]))
    for lang in LANGUAGES:
        pdf = renderer_for("pdf").report(document, lang)
        assert pdf.startswith(b"%PDF-")
        path = tmp_path / f"r-{lang}.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
        flat = re.sub(r"\s+", " ", text)
        for words in SAYS[lang]:
            assert words in flat, (lang, words)
        assert incidents in flat and document.sha256 in flat.replace(" ", "")
        if lang == "ru":
            assert re.search("[а-яё]{6,}", flat)
        if lang == "tr":
            assert re.search("[çğıöşü]", flat)
        pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
        assert "595.276 x 841.89 pts (A4)" in pages


def test_the_html_is_self_contained_and_carries_the_signed_json(
    published: tuple[Engine, Document],
) -> None:
    _, document = published
    page = render_html(document, "ru")
    tree = lxml_html.fromstring(page)
    assert tree.get("lang") == "ru"
    for element in tree.iter():
        for name, value in element.attrib.items():
            if name in ("href", "src", "xlink:href", "{http://www.w3.org/1999/xlink}href"):
                assert value.startswith("#"), (element.tag, value)
    scripts = tree.findall(".//script")
    assert [s.get("type") for s in scripts] == ["application/json"]
    embedded = json.loads(tree.get_element_by_id(DATA_BLOCK_ID).text)
    assert embedded["sha256"] == document.sha256 == canonical_sha256(embedded["report"])
    assert len(tree.findall(".//svg")) == 3  # the map and two charts


def test_a_name_holding_markup_is_shown_as_text_in_every_rendering(
    published: tuple[Engine, Document],
) -> None:
    _, document = published
    content = copy.deepcopy(document.content)
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    content["names"]["zones"]["contact-line"] = {"en": evil}
    content["names"]["mission"] = {"en": evil}
    changed = replace(document, content=content)
    tree = lxml_html.fromstring(render_html(changed, "en"))
    assert [s.get("type") for s in tree.findall(".//script")] == ["application/json"]
    assert not tree.findall(".//img") and evil in tree.text_content()


def test_an_unknown_format_or_language_is_refused_by_name(
    published: tuple[Engine, Document],
) -> None:
    from truceline.errors import FieldError
    from truceline.services.reports import language_for

    _, document = published
    with pytest.raises(FieldError, match="'docx' is not one of text, json, html, pdf, csv"):
        renderer_for("docx")
    with pytest.raises(FieldError, match="csv exports records"):
        renderer_for("csv").report(document, "en")
    with pytest.raises(FieldError, match="not a language of the mission"):
        language_for(document.content, "de")
    assert set(REGISTERED) == {"text", "json", "html", "pdf", "csv", "geojson", "kml", "acled",
                               "cot"}  # fmt: skip


def test_the_html_opens_from_a_file_with_no_request_and_fits_an_a4_page(
    published: tuple[Engine, Document], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.security.serving import BROWSER_ARGS

    _, document = published
    path = tmp_path / "report.html"
    path.write_text(render_html(document, "tr"), encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        page.emulate_media(media="print")
        width = page.evaluate("document.documentElement.scrollWidth")
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('td, th, p, h1, h2')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
        )
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(path.as_uri())
        phone_width = phone.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert requests == [path.as_uri()] and not errors
    assert width <= 794 and clipped == []
    assert phone_width <= 390


def _extracted() -> set[str]:
    """Every message of the source, extracted as `make messages` does."""
    keywords = {
        "gettext": None,
        "ngettext": (1, 2),
        "n_": (1, 2),
        "_": None,
        "N_": None,
        "M": None,
        "Mn": (1, 2),
    }
    method_map = [("truceline/**.py", "python"), ("truceline/**/templates/**.html", "jinja2")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", ["ru", "tr"])
def test_every_message_has_its_translation(lang: str) -> None:
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_extracted() - translated)
    assert missing == [], f"{lang}: {len(missing)} message(s) without a translation: {missing[:5]}"


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"(?<!\{)\{\w+(?:![rsa])?(?::[^{}]*)?\}", text))


@pytest.mark.parametrize("lang", ["ru", "tr"])
def test_every_translation_keeps_the_placeholders_of_its_message(lang: str) -> None:
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    for m in catalog:
        if not m.id:
            continue
        ids: Any = m.id if isinstance(m.id, tuple) else (m.id,)
        strings: Any = m.string if isinstance(m.string, tuple) else (m.string,)
        for s in strings:
            assert _placeholders(s) == _placeholders(ids[-1]), (lang, ids[0])


def test_russian_says_one_few_and_many_possible_violations_in_their_own_forms() -> None:
    from truceline.services.reports.words import Words

    words = Words({"timezone": "Asia/Baku", "names": {}}, "ru")
    said = {n: words.statement({"status": "recorded", "findings": n}) for n in (1, 3, 5, 21)}
    assert "1 возможное нарушение" in said[1] and "3 возможных нарушения" in said[3]
    assert "5 возможных нарушений" in said[5] and "21 возможное нарушение" in said[21]
