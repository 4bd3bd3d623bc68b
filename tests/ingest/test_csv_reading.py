"""Reading CSV: the quote-free split path and the csv module agree on every record and line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.ingest import csvfile
from truceline.ingest.base import TextSource

FIELD = st.text(alphabet=st.sampled_from(list('ab1 ,"-\n\r')), max_size=5)
ROWS = st.lists(st.lists(FIELD, min_size=2, max_size=2), max_size=12)


def reference(content: str) -> list[tuple[int, list[str]]]:
    """What the csv module alone reads, with each record's first line."""
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    next(reader)
    found, end = [], reader.line_num
    for fields in reader:
        if fields:
            found.append((end + 1, fields))
        end = reader.line_num
    return found


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS, crlf=st.booleans(), blank_at=st.integers(0, 12), small=st.booleans())
def test_records_and_line_numbers_match_the_csv_module(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    crlf: bool,
    blank_at: int,
    small: bool,
) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if crlf else "\n").writerows([["a", "b"], *rows])
    lines = out.getvalue().splitlines(keepends=True)
    lines.insert(min(blank_at, len(lines)) or 1, "\r\n" if crlf else "\n")
    content = "".join(lines)
    path = Path(tmp_path_factory.mktemp("csv")) / "x.csv"
    path.write_text(content, newline="")
    original = csvfile.BLOCK_CHARS
    csvfile.BLOCK_CHARS = 7 if small else original  # tiny blocks cross lines and quotes
    try:
        source = TextSource(path)
        _, chunks = csvfile.csv_chunks(source, ("a", "b"))
        got = []
        for rows in chunks:
            columns = rows.columns(2)
            records = rows.records
            if columns is not None:  # the column view is the same records
                assert [list(r) for r in zip(*columns, strict=True)] == records
            got += list(zip(rows.lines, records, strict=True))
        source.close()
    finally:
        csvfile.BLOCK_CHARS = original
    assert got == reference(content)
