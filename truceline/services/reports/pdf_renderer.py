"""The report as PDF (A4, page numbers, a running header): WeasyPrint renders the same HTML
as the HTML renderer with its print stylesheet. The signed JSON is attached to the PDF
(`report.json`), so the PDF itself can be verified; nothing is fetched while rendering."""

from __future__ import annotations

from typing import Any

from truceline.services.reports import Document, Renderer
from truceline.services.reports.html_renderer import render_html
from truceline.services.reports.json_renderer import signed_json

ATTACHMENT = "report.json"


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's URL fetcher: the report is self-contained, so any request is refused."""
    raise ValueError(f"a report fetches nothing (asked for {url[:80]!r})")


def render(document: Document, lang: str) -> bytes:
    import weasyprint  # (imported here: it loads Pango, which only the PDF needs)

    html = weasyprint.HTML(string=render_html(document, lang, paper=True), url_fetcher=_no_fetch)
    attachment = weasyprint.Attachment(
        string=signed_json(document, pretty=False), name=ATTACHMENT, url_fetcher=_no_fetch,
        description="the signed report (JSON): truceline report verify reads it",
    )  # fmt: skip
    pdf: bytes = html.write_pdf(attachments=[attachment], pdf_variant=None)
    return pdf


RENDERER = Renderer("pdf", ".pdf", "application/pdf", render=render)
