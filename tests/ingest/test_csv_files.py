"""Awkward files get a clear answer naming where and why, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from truceline.domain.observations import Context
from truceline.ingest import csv_observations
from truceline.ingest.base import Chunk, FileProblem

CTX = Context(
    actors=frozenset({"east", "west", "blue", "green"}), contingents=frozenset({"blue", "green"})
)
HEADER = "id,observed_at,lat,lon,kind,count,source_kind,source,reporter,description"
ROW = "r{n},2020-11-20T10:00:00+04:00,40.05,46.9,explosion,3,observation_post,OP-3,blue,{d}"


def parse(path: Path) -> list[Chunk]:
    return list(csv_observations.parse_file(path, CTX))


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "obs.csv"
    path.write_bytes(content)
    return path


def lines(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return (end.join([header, *rows]) + end).encode()


def rows_and_errors(chunks: list[Chunk]) -> tuple[int, list[str]]:
    return sum(len(c) for c in chunks), [str(e) for c in chunks for e in c.errors]


def test_a_byte_order_mark_and_crlf_line_ends_are_read_as_plain_csv(tmp_path: Path) -> None:
    content = b"\xef\xbb\xbf" + lines(ROW.format(n=1, d="a"), ROW.format(n=2, d="b"), end="\r\n")
    count, errors = rows_and_errors(parse(write(tmp_path, content)))
    assert (count, errors) == (2, [])


def test_an_empty_file_is_refused_as_empty(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match="the file is empty"):
        parse(write(tmp_path, b""))


def test_a_binary_file_is_refused_with_the_offset_of_its_first_nul(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match=r"looks binary \(NUL byte at offset 4\)"):
        parse(write(tmp_path, b"\x89PNG\x00\x00\x00\rIHDR"))


def test_a_utf16_file_is_refused_as_utf16(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match="UTF-16"):
        parse(write(tmp_path, lines(ROW.format(n=1, d="a")).decode().encode("utf-16")))


def test_a_latin1_byte_is_named_by_its_line(tmp_path: Path) -> None:
    content = lines(ROW.format(n=1, d="a"), ROW.format(n=2, d="caf\xe9").replace("\\xe9", "é"))
    content = content.replace("é".encode(), b"\xe9")
    with pytest.raises(FileProblem, match=r"obs.csv:3: not UTF-8 text"):
        parse(write(tmp_path, content))


def test_a_10_mb_field_is_rejected_by_name_and_the_rest_is_read(tmp_path: Path) -> None:
    huge = "x" * (10 * 1024 * 1024)
    content = lines(ROW.format(n=1, d=huge), ROW.format(n=2, d="fine"))
    count, errors = rows_and_errors(parse(write(tmp_path, content)))
    assert count == 1
    reason = "description: 10,485,760 characters, more than the 100,000 allowed"
    assert errors == [f"{tmp_path / 'obs.csv'}:2: {reason}"]


def test_a_formula_looking_cell_is_rejected_as_a_formula(tmp_path: Path) -> None:
    content = lines(ROW.format(n=1, d="=cmd()"), ROW.format(n=2, d="ok"))
    count, errors = rows_and_errors(parse(write(tmp_path, content)))
    assert count == 1
    assert len(errors) == 1 and ":2: description: starts with '='" in errors[0]


def test_unknown_and_missing_columns_are_refused_at_the_header(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match="unknown column 'colour'"):
        parse(write(tmp_path, lines(ROW.format(n=1, d="") + ",red", header=HEADER + ",colour")))
    with pytest.raises(FileProblem, match=r"missing column.*source_kind"):
        parse(write(tmp_path, lines(header=HEADER.replace("source_kind,", ""))))


def test_a_row_with_too_many_fields_is_named_by_its_line(tmp_path: Path) -> None:
    content = lines(ROW.format(n=1, d="a"), ROW.format(n=2, d="b") + ",extra")
    count, errors = rows_and_errors(parse(write(tmp_path, content)))
    assert count == 1 and errors == [f"{tmp_path / 'obs.csv'}:3: 11 fields, but the header has 10"]


def test_line_numbers_count_the_lines_of_quoted_multi_line_fields(tmp_path: Path) -> None:
    content = lines(
        ROW.format(n=1, d='"two\nlines"'), "", ROW.format(n=2, d="x").replace("40.05", "north")
    )
    count, errors = rows_and_errors(parse(write(tmp_path, content)))
    assert count == 1
    assert errors == [f"{tmp_path / 'obs.csv'}:5: lat: not a number: 'north'"]


def test_every_bad_row_of_a_file_is_named(tmp_path: Path) -> None:
    good = [ROW.format(n=n, d="") for n in range(3)]
    bad = ROW.format(n=9, d="").replace("explosion", "boom")
    content = lines(good[0], bad, good[1], bad.replace("r9", "r10"), good[2])
    _, errors = rows_and_errors(parse(write(tmp_path, content)))
    assert [e.split(": kind")[0].rsplit(":", 1)[1] for e in errors] == ["3", "5"]
