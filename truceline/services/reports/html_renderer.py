"""The report as one self-contained HTML page, in one language: inline CSS and SVG (the map
and the charts), no script that runs and no request anywhere, so it opens from a USB stick.
The signed JSON rides along in a JSON data block (`<script type="application/json"
id="truceline-report">`, which a browser never runs), so the page itself can be verified."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jinja2

from truceline.i18n import translator
from truceline.services.reports import Document, Renderer, svg
from truceline.services.reports.json_renderer import signed_json
from truceline.services.reports.view import View, build

TEMPLATES = Path(__file__).parent / "templates"
DATA_BLOCK_ID = "truceline-report"
STYLE_OF_RULE = {
    "excluded_from": "excluded",
    "confined_to": "confined",
    "withdrawn_by": "withdrawal",
}
STYLE_RANK = ("excluded", "withdrawal", "confined", "watched")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def data_block(document: Document) -> str:
    """The signed JSON, safe inside a <script> element (no `</` can close it)."""
    return signed_json(document, pretty=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _zone_styles(content: dict[str, Any]) -> dict[str, str]:
    styles: dict[str, str] = {}
    for line in content.get("clauses", []):
        style = STYLE_OF_RULE.get(str(line["rule"]), "watched")
        for zone in line["zones"]:
            held = styles.get(zone, "watched")
            styles[zone] = min(held, style, key=STYLE_RANK.index)
    return styles


PRINT_POINTS = 500  # the map's symbols on paper (a PDF draws each one)


def _map(view: View, content: dict[str, Any], max_points: int = svg.MAX_POINTS) -> str:
    w = view.words
    _ = w.tr.gettext
    styles = _zone_styles(content)
    areas = content.get("names", {}).get("areas", {})
    zones = [
        svg.MapZone(zid, w.zone(zid), json.loads(text), styles.get(zid, "watched"))
        for zid, text in areas.items()
    ]
    points: list[svg.MapPoint] = []
    shown: set[str] = set()
    tips: list[tuple[str, str | None, str]] = []  # said only for the points drawn
    for x in content.get("incidents", []):
        kind = str(x["kind"])  # (a kind with a symbol of its own; the rest as "other")
        symbol = kind if kind in svg.SYMBOLS and kind not in ("finding", "other") else "other"
        shown.add(symbol)
        points.append(svg.MapPoint(float(x["lon"]), float(x["lat"]), symbol, ""))
        tips.append((str(x["kind"]), x.get("subtype"), str(x["start"])))
    for f in content.get("findings", []):
        if f.get("lon") is not None and f.get("lat") is not None and not f.get("incident"):
            shown.add("finding")
            points.append(svg.MapPoint(
                float(f["lon"]), float(f["lat"]), "finding",
                f"{w.clause(f['clause'])}, {w.moment(f['start'])}",
            ))  # fmt: skip
            tips.append(("", None, ""))
    words = {
        "explosion": w.kind("explosion"), "projectile": w.kind("projectile"),
        "burst": w.kind("burst"), "shot": w.kind("shot"), "muzzle_flash": w.kind("muzzle_flash"),
        "restriction": w.kind("restriction"), "finding": _("Possible violation by a unit"),
        "other": _("Other incident"),
    }  # fmt: skip
    legend = [svg.LegendEntry(key, words[key]) for key in svg.SYMBOLS if key in shown]

    def title(index: int) -> str:
        kind, subtype, start = tips[index]
        if not kind:  # (a finding's, said already)
            return points[index].title
        return f"{w.kind(kind, subtype)}, {w.clock(start)}"

    zone_words = {
        "excluded": _("Zone not to be entered"),
        "withdrawal": _("Zone to be withdrawn from"),
        "confined": _("Zone to stay within"),
        "watched": _("Other zone of the agreement"),
    }
    for style in STYLE_RANK:
        if any(z.style == style for z in zones):
            legend.append(svg.LegendEntry(f"zone:{style}", zone_words[style]))
    return svg.map_svg(
        zones, points, legend, title=_("Map of the day's recorded incidents"),
        scale_label=w.km, sampled_note=_("Too many incidents to draw: a sample is shown."),
        max_points=max_points, titles=title,
    )  # fmt: skip


def _charts(view: View, content: dict[str, Any]) -> tuple[str, str]:
    w = view.words
    _ = w.tr.gettext
    history = content.get("history", {"days": [], "by_zone": {}, "outside": []})
    days = [w.day_short(d) for d in history["days"]]
    series = [svg.Series(w.zone(z), [int(x) for x in v]) for z, v in history["by_zone"].items()]
    if any(int(x) for x in history.get("outside", [])):
        series.append(svg.Series(w.zone(None), [int(x) for x in history["outside"]]))
    daily = svg.bar_chart_svg(
        days, series, title=_("Recorded ceasefire events per day over 14 days, by area"),
        empty_note=_("No ceasefire event was recorded in these 14 days."),
    )  # fmt: skip
    lines = content.get("clauses", [])
    per_clause = svg.hbar_chart_svg(
        [w.clause(str(c["clause"])) for c in lines], [int(c["findings"]) for c in lines],
        title=_("Possible violations recorded this day, per clause"),
        empty_note=_("No possible violation was recorded."),
    )  # fmt: skip
    return daily, per_clause


def _context(document: Document, lang: str, *, paper: bool = False) -> dict[str, Any]:
    view = build(document, lang)
    _ = view.words.tr.gettext
    daily, per_clause = _charts(view, document.content)
    labels = {
        "summary": _("Summary"), "map": _("Map"), "charts": _("Charts"),
        "verify": _("To verify this report without trusting anyone: run truceline report "
                    "verify on this file, or check the signed JSON it holds as the documentation "
                    "explains (sha256, canonical JSON, Ed25519)."),
    }  # fmt: skip
    return {
        "v": view, "css": css(lang), "draft": document.draft, "labels": labels,
        "version_note": view.version_note,
        "map_svg": _map(view, document.content, PRINT_POINTS if paper else svg.MAX_POINTS),
        "history_svg": daily, "clauses_svg": per_clause,
    }  # fmt: skip


def css(lang: str) -> str:
    """The report's stylesheet (scoped to `.tl-report`), its page footer in `lang`."""
    page = translator(lang).gettext("Page").replace('"', "'").replace("\\", "")
    return (TEMPLATES / "report.css").read_text(encoding="utf-8").replace("{{PAGE}}", page)


def render_fragment(document: Document, lang: str, *, paper: bool = False) -> str:
    """The report as a part of another page (the centre's own): its styles and its body."""
    context = _context(document, lang, paper=paper)
    body = _environment().get_template("report_body.html").render(**context)
    return f"<style>{context['css']}</style>\n{body}"


def render_html(document: Document, lang: str, *, paper: bool = False) -> str:
    """The report as one self-contained document, with its signed JSON (on paper: without
    it, which the PDF attaches; and with fewer symbols on its map)."""
    return (
        _environment()
        .get_template("report.html")
        .render(
            **_context(document, lang, paper=paper),
            signed_json="" if paper else data_block(document),
        )
    )


def render(document: Document, lang: str) -> bytes:
    return render_html(document, lang).encode("utf-8")


RENDERER = Renderer("html", ".html", "text/html; charset=utf-8", render=render)
