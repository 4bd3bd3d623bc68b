"""The report as JSON: the published record (content, signed entries, pinned keys and the
checkpoint) once published, else the draft's content and sha256. Language-free."""

from __future__ import annotations

import json

from truceline.services.reports import Document, Renderer


def signed_json(document: Document) -> str:
    body = document.published if document.published is not None else {
        "draft": True, "sha256": document.sha256, "report": document.content,
    }  # fmt: skip
    return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def render(document: Document, lang: str) -> bytes:
    return signed_json(document).encode("utf-8")


RENDERER = Renderer("json", ".json", "application/json", render)
