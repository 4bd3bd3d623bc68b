"""Zones as Cursor on Target drawing shapes, for TAK clients (ATAK, WinTAK, iTAK): one event
after another, as a TAK server sends them; a file of them imports into a client."""

from __future__ import annotations

from datetime import UTC, datetime

from truceline.errors import FieldError
from truceline.i18n.message import M
from truceline.ingest.cot_writer import zone_events
from truceline.services.reports import Renderer
from truceline.services.reports.records import Records


def export(records: Records) -> bytes:
    if records.mission is None:
        raise FieldError("format", M("zones as CoT need the mission's zones"))
    return b"\n".join(zone_events(records.mission, now=datetime.now(UTC))) + b"\n"


RENDERER = Renderer("cot", ".cot", "application/xml", export=export, kinds=("zones",))
