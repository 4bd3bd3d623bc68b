"""Formats are plugins: one module each, registered in one table; the import service knows
none by name."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from truceline.errors import FieldError
from truceline.ingest import formats
from truceline.services import ingest


def test_the_import_service_names_no_format() -> None:
    source = inspect.getsource(ingest)
    for fmt in formats.FORMATS:
        assert f'"{fmt}"' not in source and f"'{fmt}'" not in source, fmt
    assert "csv_observations" not in source and "geojson_observations" not in source


def test_a_file_s_format_is_told_by_its_suffix_for_the_kind_it_holds() -> None:
    assert formats.format_for(Path("a.CSV"), "positions").name == "csv"
    assert formats.format_for(Path("a.geojson"), "observations").name == "geojson"
    with pytest.raises(FieldError, match=r"format: .*a\.geojson.* from '\.geojson' \(csv\)"):
        formats.format_for(Path("a.geojson"), "positions")  # GeoJSON holds observations only
    with pytest.raises(FieldError, match="'kml' is not a format of observations"):
        formats.format_for(Path("a.csv"), "observations", "kml")


def test_every_registered_format_has_its_suffixes_and_kinds_and_a_picklable_parser() -> None:
    import pickle

    for form in formats.FORMATS.values():
        assert form.suffixes and all(s.startswith(".") for s in form.suffixes)
        assert (form.parse is None) != (form.split is None), form.name  # one way to read it
        assert set(form.first_wins) <= set(form.kinds)
        for kind in form.kinds:
            assert kind in ingest.KINDS
            if form.parse is not None:
                pickle.dumps(form.parser(kind))  # a worker process can be handed it


def test_cot_is_a_row_of_the_table_holding_both_kinds_and_imported_by_its_split() -> None:
    cot = formats.FORMATS["cot"]
    assert set(cot.kinds) == {"positions", "observations"} and cot.split is not None
    assert cot.first_wins == ("observations",)  # a marker re-broadcast: the first wins
    # a file of several kinds is not taken for one of them
    with pytest.raises(FieldError, match=r"from '\.cot'"):
        formats.format_for(Path("capture.cot"), "observations")
