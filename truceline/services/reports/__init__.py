"""Reports: the content of a reporting day (`content`, what every contingent signs) and its
renderings, one module per format, registered in one table (`REGISTERED`) that the CLI, the
pages and the API share. A renderer takes a `Document` (the content, its sha256, and its
signatures once published) and a language, and gives bytes."""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from truceline.domain.canonical import canonical_json, canonical_sha256
from truceline.errors import FieldError
from truceline.i18n.message import M

if TYPE_CHECKING:
    from truceline.services.reports.records import Records

# One line per format: the module `truceline.services.reports.<name>_renderer` holds RENDERER.
# The first four render a report; the others export records (and some, a report's records).
REGISTERED = ("text", "json", "html", "pdf", "csv", "geojson", "kml", "acled", "cot")
REPORT_FORMATS = ("text", "json", "html", "pdf")


@dataclass(frozen=True)
class Document:
    """A report to render: its content, the sha256 that `report sign` takes, and (once every
    contingent has signed) the published record with the signed log entries."""

    content: dict[str, Any]
    sha256: str
    published: dict[str, Any] | None = None
    version: int | None = None  # of the published day (1, 2, … as corrections come)

    @classmethod
    def of(
        cls,
        content: dict[str, Any],
        published: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> Document:
        """A document of `content` as it is signed: its objects' keys in canonical order, so
        that a rendering is the same whether the content was just computed or read back from
        a log entry (whose JSON is canonical)."""
        ordered = json.loads(canonical_json(content))
        return cls(ordered, canonical_sha256(ordered), published, version)

    @property
    def draft(self) -> bool:
        return self.published is None


@dataclass(frozen=True)
class Renderer:
    name: str
    suffix: str
    media_type: str
    render: Callable[[Document, str], bytes] | None = None  # (document, language) -> bytes
    export: Callable[[Records], bytes] | None = None  # records -> the file's bytes
    kinds: tuple[str, ...] = ()  # the records it exports

    def report(self, document: Document, lang: str) -> bytes:
        if self.render is None:
            raise FieldError(
                "format",
                M(
                    "{name} exports records; a report is {formats}",
                    name=self.name,
                    formats=", ".join(REPORT_FORMATS),
                ),
            )
        return self.render(document, lang)

    def records(self, records: Records) -> bytes:
        if self.export is None or records.kind not in self.kinds:
            raise FieldError(
                "format",
                M(
                    "{name} does not export {kind} (it exports {kinds})",
                    name=self.name,
                    kind=records.kind,
                    kinds=", ".join(self.kinds) or M("no records"),
                ),
            )
        return self.export(records)


class _Registry(Mapping[str, Renderer]):
    def __getitem__(self, name: str) -> Renderer:
        if name not in REGISTERED:
            raise KeyError(name)
        return _load(name)

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTERED)

    def __len__(self) -> int:
        return len(REGISTERED)


@functools.cache
def _load(name: str) -> Renderer:
    module = importlib.import_module(f"{__name__}.{name}_renderer")
    renderer: Renderer = module.RENDERER
    return renderer


RENDERERS: Mapping[str, Renderer] = _Registry()


def renderer_for(name: str) -> Renderer:
    try:
        return RENDERERS[name]
    except KeyError:
        raise FieldError(
            "format",
            M("{name!r} is not one of {formats}", name=name, formats=", ".join(REGISTERED)),
        ) from None


def language_for(content: Mapping[str, Any], lang: str | None) -> str:
    """The language asked for, if the mission has it; else the mission's first."""
    languages = [str(x) for x in content.get("languages") or ["en"]]
    if lang is None:
        return languages[0]
    if lang not in languages:
        raise FieldError(
            "lang",
            M(
                "{lang!r} is not a language of the mission ({languages})",
                lang=lang,
                languages=", ".join(languages),
            ),
        )
    return lang
