"""The report as JSON: the published record (content, signed entries, pinned keys and the
checkpoint) once published, else the draft's content and sha256. Language-free."""

from __future__ import annotations

from typing import Any

import orjson

from truceline.services.reports import Document, Renderer
from truceline.services.reports.period import PERIOD_FORMAT

OMITTED = "report_omitted"  # an entry's payload without its copy of the report (see below)


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """A published record without the copy of the report that each signed entry's payload
    holds (it is the record's own `report`, byte for byte, or the record does not verify):
    a verifier puts `report` back into each payload before hashing the entry."""
    signatures = []
    for s in record.get("signatures", []):
        entry = dict(s["entry"])
        payload = {k: v for k, v in entry.get("payload", {}).items() if k != "report"}
        entry["payload"] = payload
        signatures.append({**s, "entry": entry, OMITTED: True})
    return {**record, "signatures": signatures}


def signed_json(document: Document, *, pretty: bool = True) -> str:
    """The record as JSON: indented for a file a reader opens, compact inside a page or a
    PDF."""
    body: dict[str, Any]
    if document.published is not None:
        body = compact(document.published)
    elif document.content.get("format") == PERIOD_FORMAT:  # built from signed days, not signed
        body = {"period": True, "sha256": document.sha256, "report": document.content}
    else:
        body = {"draft": True, "sha256": document.sha256, "report": document.content}
    option = orjson.OPT_INDENT_2 if pretty else 0
    return orjson.dumps(body, option=option).decode("utf-8") + "\n"


def render(document: Document, lang: str) -> bytes:
    return signed_json(document).encode("utf-8")


RENDERER = Renderer("json", ".json", "application/json", render=render)
