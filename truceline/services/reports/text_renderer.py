"""The report as plain text (UTF-8), in one language."""

from __future__ import annotations

from truceline.services.reports import Document, Renderer
from truceline.services.reports.view import Section, build


def _section(section: Section) -> list[str]:
    lines = ["", section.title, "=" * len(section.title)]
    lines += section.intro
    if not section.rows:
        if section.empty:
            lines.append(section.empty)
        return lines
    widths = [len(h) for h in section.header]
    for row in section.rows:
        widths = [max(wd, len(cell)) for wd, cell in zip(widths, row, strict=True)]
    widths = [min(wd, 60) for wd in widths]
    lines.append(
        "  ".join(h.ljust(wd) for h, wd in zip(section.header, widths, strict=True)).rstrip()
    )
    for row in section.rows:
        lines.append("  ".join(c.ljust(wd) for c, wd in zip(row, widths, strict=True)).rstrip())
    return lines


def render_text(document: Document, lang: str) -> str:
    view = build(document, lang)
    lines = [view.title, f"{view.heading} — {view.day}", view.period, view.status]
    if view.version_note:
        lines.append(view.version_note)
    lines += [f"  - {change}" for change in view.changes]
    lines += [view.sha256_line, ""]
    lines += view.summary
    for section in [*view.sections, view.signatures]:
        lines += _section(section)
    return "\n".join(lines) + "\n"


def render(document: Document, lang: str) -> bytes:
    return render_text(document, lang).encode("utf-8")


RENDERER = Renderer("text", ".txt", "text/plain; charset=utf-8", render=render)
