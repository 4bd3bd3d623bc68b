"""A period's report is built only from the published days it covers, names each by its
sha256, and names the days it could not count."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from truceline.errors import FieldError
from truceline.services.reports import Document, renderer_for
from truceline.services.reports.period import period_content
from truceline.store.db import snapshot
from truceline.store.missions import load_mission


def test_a_period_is_built_from_its_published_days_only(
    published: tuple[Engine, Document],
) -> None:
    engine, day = published
    with snapshot(engine) as conn:
        content = period_content(conn, load_mission(conn), date(2020, 11, 20), date(2020, 11, 22))
    assert [(d["date"], d["sha256"]) for d in content["days"]] == [("2020-11-21", day.sha256)]
    assert content["not_published"] == ["2020-11-20", "2020-11-22"]
    assert content["by_area"] == day.content["by_area"]
    assert len(content["incidents"]) == len(day.content["incidents"])
    for line in content["clauses"]:
        same = next(c for c in day.content["clauses"] if c["clause"] == line["clause"])
        assert line["days"][same["status"]] == 1 and line["findings"] == same["findings"]
    document = Document.of(content)
    text = renderer_for("text").report(document, "tr").decode()
    assert "Dönem raporu" in text and day.sha256 in text and "yayımlanmadığı" in text
    assert renderer_for("pdf").report(document, "ru").startswith(b"%PDF-")
    with snapshot(engine) as conn, pytest.raises(FieldError, match="before"):
        period_content(conn, load_mission(conn), date(2020, 11, 22), date(2020, 11, 20))
