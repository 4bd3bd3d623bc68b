"""Hostile input to the importers (issue 10): each attack is reproduced and shown refused (or
harmless), and a refused input stores nothing at all; then every importer is fuzzed.

Every import here is all-or-nothing: `stored()` counts the rows of the tables an import
writes (observations, positions, import batches, log entries) before and after.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Table, func, select

from truceline.demo import MISSION_FILE
from truceline.domain import positions as pos
from truceline.errors import TrucelineError
from truceline.services import ingest
from truceline.services.assess import assess
from truceline.services.ingest import (
    ImportRejected,
    ingest_observations,
    ingest_positions,
    ingest_records,
)
from truceline.services.ledger import KeyRing
from truceline.services.missions import init_database
from truceline.store import tables as t
from truceline.store.missions import load_mission

TABLES = (t.observations, t.positions, t.import_batches, t.ledger_entries)
GOOD = {
    "id": "r1", "observed_at": "2020-11-21T10:00:00+04:00", "lat": "40.27", "lon": "46.75",
    "uncertainty_m": "", "kind": "explosion", "count": "5", "source_kind": "observation_post",
    "source": "OP-1", "reporter": "blue", "description": "seen from OP-1",
}  # fmt: skip
FIX = {"unit": "west-col-1", "time": "2020-11-21T10:00:00+04:00", "lat": "40.0", "lon": "46.6"}


def stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in TABLES
        }


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    """A CSV file of `rows` (the columns any of them has), written as a spreadsheet would."""
    columns = list(dict.fromkeys(c for row in rows for c in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def observations(path: Path, *changes: dict[str, str]) -> Path:
    """A good observation (line 2), then one per change (line 3 on), each with its own id."""
    rows = [GOOD] + [{**GOOD, "id": f"r{n}", **c} for n, c in enumerate(changes, start=2)]
    return write_rows(path, rows)


def positions(path: Path, *changes: dict[str, str]) -> Path:
    return write_rows(path, [FIX] + [{**FIX, **c} for c in changes])


def refused(engine: Engine, call: Any, *args: Any, **kwargs: Any) -> str:
    """The message of an import that must be refused, having checked it stored nothing."""
    before = stored(engine)
    with pytest.raises(ImportRejected) as caught:
        call(engine, *args, **kwargs)
    assert stored(engine) == before, "a refused import stored something"
    message = str(caught.value)
    assert "nothing was imported" in message and "Traceback" not in message
    return message


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


@pytest.fixture
def signed_engine(engine: Engine, keyring: KeyRing) -> Engine:
    """The demo mission with both contingents' logs started (their keys in `keyring`)."""
    init_database(engine, MISSION_FILE, keyring=keyring, generate_keys=True)
    return engine


# Spreadsheet formulas ------------------------------------------------------------------------


def test_a_formula_after_a_leading_tab_is_refused(demo_engine: Engine, tmp_path: Path) -> None:
    path = observations(tmp_path / "obs.csv", {"description": '\t=HYPERLINK("http://x","y")'})
    message = refused(demo_engine, ingest_observations, path)
    assert f"{path}:3: description: starts with '=' (after white space) like a spreadsheet" in (
        message
    )


def test_a_formula_after_a_carriage_return_a_space_or_a_sign_is_refused(
    demo_engine: Engine, tmp_path: Path
) -> None:
    leads = ["\r", " ", "\r\n", "\u00a0", "- ", "+\t"]
    changes = []
    for lead in leads:
        changes += [{"description": f"{lead}=cmd|' /C calc'!A0"}, {"source": f"{lead}@SUM(A1)"}]
    path = observations(tmp_path / "obs.csv", *changes)
    message = refused(demo_engine, ingest_observations, path)
    assert f"{path}: {2 * len(leads)} bad record(s)" in message
    with path.open(newline="") as handle:  # the line each record ends on (a CR ends one)
        reader = csv.reader(handle)
        ends = [reader.line_num for _ in reader]
    for n, change in enumerate(changes):
        [(column, _)] = change.items()
        line = ends[n + 1] + 1  # after the header and the good row, each starts on the next
        assert f"{path}:{line}: {column}: starts with" in message, change


def test_a_formula_after_a_space_is_refused_on_the_quote_free_fast_path_too(
    demo_engine: Engine, tmp_path: Path
) -> None:
    # No quotes anywhere: the columnar fast path reads this file, and used to let it through.
    rows = [{**GOOD, "id": f"r{n}", "description": f"report {n}"} for n in range(300)]
    rows[200]["description"] = " =1+1"
    path = write_rows(tmp_path / "obs.csv", rows)
    assert '"' not in path.read_text()
    message = refused(demo_engine, ingest_observations, path)
    assert f"{path}:202: description: starts with '=' (after white space)" in message


def test_text_that_only_starts_with_a_sign_or_white_space_is_kept_as_it_is(
    demo_engine: Engine, tmp_path: Path
) -> None:
    texts = ["- nothing further seen", "-5 km north of OP-1", " -3 rounds", "+3 more", "\tnote"]
    path = observations(tmp_path / "obs.csv", *({"description": d} for d in texts))
    report = ingest_observations(demo_engine, path)
    assert report.accepted == 1 + len(texts)
    with demo_engine.connect() as conn:
        kept = set(conn.execute(select(t.observations.c.description)).scalars())
    assert set(texts) <= kept


# Numbers ------------------------------------------------------------------------------------


def test_a_number_with_underscores_is_refused(demo_engine: Engine, tmp_path: Path) -> None:
    path = observations(tmp_path / "obs.csv", {"lat": "4_0.1"})  # float() reads 40.1
    message = refused(demo_engine, ingest_observations, path)
    assert f"{path}:3: lat: not a number: '4_0.1' (write a plain decimal number" in message


def test_nan_inf_hex_and_other_digits_are_not_numbers(demo_engine: Engine, tmp_path: Path) -> None:
    values = {
        "nan": "not a finite number: 'nan'", "-inf": "not a finite number: '-inf'",
        "Infinity": "not a finite number: 'Infinity'", "1e400": "not a finite number: '1e400'",
        "0x28": "not a number: '0x28'", "٤٠": "not a number: '٤٠' (write a plain decimal",
        "40.1.2": "not a number: '40.1.2'",
        "\t=40": "not a number: '\\t=40' (looks like a spreadsheet formula",
    }  # fmt: skip
    path = observations(tmp_path / "obs.csv", *({"lon": v} for v in values))
    message = refused(demo_engine, ingest_observations, path)
    for line, reason in enumerate(values.values(), start=3):
        assert f"{path}:{line}: lon: {reason}" in message


def test_a_plain_decimal_number_may_have_a_sign_a_fraction_and_an_exponent(
    demo_engine: Engine, tmp_path: Path
) -> None:
    values = ["+40.27", "40.", ".4027e2", "4027E-2", " 40.27 "]
    path = observations(tmp_path / "obs.csv", *({"lat": v} for v in values))
    assert ingest_observations(demo_engine, path).accepted == 1 + len(values)


def test_a_geojson_count_of_twenty_digits_is_named_by_feature_and_field(
    demo_engine: Engine, tmp_path: Path
) -> None:
    properties = {k: v for k, v in GOOD.items() if k not in ("lat", "lon", "uncertainty_m")}
    point = {"type": "Point", "coordinates": [46.75, 40.27]}
    counts: list[Any] = [5, 99999999999999999999, "99999999999999999999", 1e300, -(2**70), "HUGE"]
    features = [
        {"type": "Feature", "geometry": point,
         "properties": {**properties, "id": f"g{n}", "count": count}}
        for n, count in enumerate(counts)
    ]  # fmt: skip
    path = tmp_path / "uav.geojson"
    text = json.dumps({"type": "FeatureCollection", "features": features})
    path.write_text(text.replace('"HUGE"', "9" * 5000))  # beyond Python's int conversion limit
    message = refused(demo_engine, ingest_observations, path)
    for index in (1, 2, 3, 5):
        assert f"{path}: features[{index}]: properties.count: must be at most 100000" in message
    assert f"{path}: features[4]: properties.count: must be at least 1" in message
    assert "features[0]" not in message


def test_an_out_of_range_integer_posted_to_the_api_is_named_by_index_and_field(
    demo_engine: Engine,
) -> None:
    record = {**GOOD, "lat": 40.27, "lon": 46.75, "count": 5}
    del record["uncertainty_m"]
    items = [record, {**record, "id": "r2", "count": 10**30}]
    message = refused(demo_engine, ingest_records, "observations", items, source_name="api:t")
    assert "body[1]: count: must be at most 100000" in message and "body[0]" not in message


# Ranges and lengths -------------------------------------------------------------------------


def test_an_uncertainty_of_1e308_is_refused_and_assess_still_works_after(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = observations(tmp_path / "obs.csv", {"uncertainty_m": "1e308"})
    message = refused(demo_engine, ingest_observations, path)
    assert f"{path}:3: uncertainty_m: must be between 0 and 100000 m" in message
    # The largest uncertainty allowed, and the widest band, assess without any overflow.
    wide = {"uncertainty_m": "100000", "id": "wide"}
    ingest_observations(demo_engine, observations(tmp_path / "ok.csv", wide))
    band = {
        "id": "band", "lat": "", "lon": "", "observer_lat": "40.0", "observer_lon": "46.6",
        "bearing_deg": "360", "distance_min_m": "0", "distance_max_m": "100000",
    }  # fmt: skip
    ingest_observations(demo_engine, observations(tmp_path / "band.csv", band))
    report = assess(demo_engine)
    assert report.active_incidents >= 1
    assert assess(demo_engine).up_to_date


def test_every_number_outside_its_documented_range_is_refused_by_name(
    demo_engine: Engine, tmp_path: Path
) -> None:
    cases = [
        ({"uncertainty_m": "-1"}, "uncertainty_m: must be between 0 and 100000 m"),
        ({"uncertainty_m": "100000.5"}, "uncertainty_m: must be between 0 and 100000 m"),
        ({"count": "100001"}, "count: must be at most 100000"),
        ({"count": "0"}, "count: must be at least 1"),
        ({"lat": "90.0000001"}, "lat: latitude 90.0000001 is outside -90..90"),
        ({"lon": "-180.5"}, "lon: longitude -180.5 is outside -180..180"),
        ({"observed_at": "1969-12-31T23:59:59Z"}, "observed_at: time '1969-12-31T23:59:59Z' is "
         "outside the years 1970–2099"),
        ({"observed_at": "2100-01-01T00:00:00Z"}, "observed_at: time '2100-01-01T00:00:00Z' is "
         "outside the years 1970–2099"),
        ({"lat": "", "lon": "", "observer_lat": "40", "observer_lon": "46.6", "bearing_deg": "361",
          "distance_min_m": "-1", "distance_max_m": "100001"},
         "bearing_deg: must be between 0 and 360 degrees; distance_min_m: must be between 0 and "
         "100000 m; distance_max_m: must be between 0 and 100000 m"),
    ]  # fmt: skip
    path = observations(tmp_path / "obs.csv", *(change for change, _ in cases))
    message = refused(demo_engine, ingest_observations, path)
    for line, (_, reason) in enumerate(cases, start=3):
        assert f"{path}:{line}: {reason}" in message, reason
    fixes = [
        ({"speed_mps": "-1"}, "speed_mps: must be between 0 and 1000 m/s"),
        ({"speed_mps": "1e308"}, "speed_mps: must be between 0 and 1000 m/s"),
        ({"course_deg": "360.5"}, "course_deg: must be between 0 and 360 degrees"),
        ({"hae_m": "-1000.5"}, "hae_m: must be between -1000 and 50000 m"),
        ({"hae_m": "9999999"}, "hae_m: must be between -1000 and 50000 m"),
        ({"time": "2100-01-01T00:00:00Z"}, "time: time '2100-01-01T00:00:00Z' is outside"),
    ]
    track = positions(tmp_path / "pos.csv", *(change for change, _ in fixes))
    message = refused(demo_engine, ingest_positions, track)
    for line, (_, reason) in enumerate(fixes, start=3):
        assert f"{track}:{line}: {reason}" in message, reason


def test_the_bounds_of_every_range_are_accepted(demo_engine: Engine, tmp_path: Path) -> None:
    path = observations(
        tmp_path / "obs.csv",
        {"uncertainty_m": "0", "count": "100000", "lat": "-90", "lon": "180"},
        {"uncertainty_m": "100000", "observed_at": "1970-01-01T00:00:00Z"},
        {"observed_at": "2099-12-31T23:59:59.999999Z", "kind": "count", "subtype": "personnel",
         "count": "0", "actor": "east"},
    )  # fmt: skip
    assert ingest_observations(demo_engine, path).accepted == 4
    track = positions(
        tmp_path / "pos.csv",
        {"speed_mps": "1000", "course_deg": "360", "hae_m": "50000", "time": "2020-11-21T10:01Z"},
        {"speed_mps": "0", "course_deg": "0", "hae_m": "-1000", "time": "2020-11-21T10:02Z"},
    )
    assert ingest_positions(demo_engine, track).accepted == 3


def test_a_field_over_its_length_limit_is_refused_by_name(
    demo_engine: Engine, tmp_path: Path
) -> None:
    path = observations(
        tmp_path / "obs.csv",
        {"source": "S" * 201},
        {"id": "i" * 201},
        {"description": "d" * 100_001},
        {"source": "S" * 200, "description": "d" * 100_000},  # at the limits: fine
    )
    message = refused(demo_engine, ingest_observations, path)
    assert f"{path}:3: source: 201 characters, more than the 200 allowed" in message
    assert f"{path}:4: id: 201 characters, more than the 200 allowed" in message
    assert f"{path}:5: description: 100,001 characters, more than the 100,000 allowed" in message
    assert f"{path}:6:" not in message
    track = positions(tmp_path / "pos.csv", {"unit": "u" * 201, "actor": "west"})
    message = refused(demo_engine, ingest_positions, track)
    assert f"{track}:3: unit: 201 characters, more than the 200 allowed" in message


def test_text_that_is_not_valid_unicode_is_refused_not_stored(demo_engine: Engine) -> None:
    # JSON may carry a lone surrogate (`"\ud800"`); no database can store it as text.
    record = {**GOOD, "lat": 40.27, "lon": 46.75, "count": 5, "description": "a \ud800 b"}
    del record["uncertainty_m"]
    message = refused(demo_engine, ingest_records, "observations", [record], source_name="api")
    assert "body[0]: description: not valid Unicode text (a lone surrogate)" in message


# Positions of another contingent's units ----------------------------------------------------


def test_positions_for_another_contingent_s_declared_unit_are_refused_from_the_api(
    demo_engine: Engine,
) -> None:
    own = {**FIX, "unit": "blue-uav-1"}
    items = [
        own,
        {**FIX, "unit": "green-uav-1"},
        {**FIX, "unit": "green-patrol-1", "actor": "blue"},
    ]
    message = refused(
        demo_engine, ingest_records, "positions", items, source_name="api:b", acting="blue"
    )
    reason = "is declared in the mission for contingent 'green'; blue cannot record its positions"
    assert f"body[1]: unit: unit 'green-uav-1' {reason}" in message
    assert f"body[2]: unit: unit 'green-patrol-1' {reason}" in message
    assert "body[0]" not in message


def test_positions_for_another_contingent_s_declared_unit_are_refused_from_a_signed_file(
    signed_engine: Engine, keyring: KeyRing, tmp_path: Path
) -> None:
    path = positions(tmp_path / "pos.csv", {"unit": "blue-patrol-1"})
    message = refused(signed_engine, ingest_positions, path, keyring=keyring, acting="green")
    assert f"{path}:3: unit: unit 'blue-patrol-1' is declared in the mission for contingent " in (
        message
    )
    # Without --as the signer is the first contingent whose key is here (blue): the same rule.
    path = positions(tmp_path / "pos2.csv", {"unit": "green-uav-1"})
    message = refused(signed_engine, ingest_positions, path, keyring=keyring)
    assert f"{path}:3: unit: unit 'green-uav-1'" in message and "blue cannot record" in message


def test_own_undeclared_and_party_units_are_accepted_and_signed_by_the_poster(
    signed_engine: Engine, keyring: KeyRing
) -> None:
    items = [
        {**FIX, "unit": "green-uav-1"},
        {**FIX, "unit": "west-col-1"},
        {**FIX, "unit": "green-drone-9", "actor": "green"},
        {**FIX, "unit": "east-tank-3", "actor": "east"},
    ]
    report = ingest_records(
        signed_engine, "positions", items, source_name="api:g", keyring=keyring, acting="green"
    )
    assert report.accepted == 4
    with signed_engine.connect() as conn:
        entry = conn.execute(
            select(t.ledger_entries.c.contingent, t.ledger_entries.c.action)
            .order_by(t.ledger_entries.c.id.desc())
            .limit(1)
        ).one()
        actors = dict(conn.execute(select(t.positions.c.unit, t.positions.c.actor)).all())
    assert tuple(entry) == ("green", "import_batch")
    assert actors == {
        "green-uav-1": "green", "west-col-1": "west", "green-drone-9": "green",
        "east-tank-3": "east",
    }  # fmt: skip


def test_a_position_may_not_name_another_contingent_or_a_declared_unit_s_other_actor(
    demo_engine: Engine,
) -> None:
    items = [
        {**FIX, "unit": "blue-drone-2", "actor": "blue"},  # undeclared, but another contingent
        {**FIX, "unit": "west-col-1", "actor": "east"},  # a party's declared unit, wrong party
    ]
    message = refused(
        demo_engine, ingest_records, "positions", items, source_name="api:g", acting="green"
    )
    assert "body[0]: actor: 'blue' is another contingent; green records positions" in message
    assert "body[1]: actor: unit 'west-col-1' is declared for 'west'" in message


# Fuzzing every importer ---------------------------------------------------------------------
#
# Records are drawn plausible, then half of them have one field replaced by something odd (a
# text from AWKWARD, an EXTREME number, any JSON value): one odd field in an otherwise good
# record is what reaches the deepest code (a record with many problems stops at the first
# checks). Now and then a file is any bytes, a column is missing or unknown, a record is not
# an object. The attacks above are also given as explicit examples.


@pytest.fixture
def fuzz_engine(demo_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The demo database, its mission loaded once: loading it builds every zone's geometry
    again (60 ms), which would take most of each example's time."""
    with demo_engine.connect() as conn:
        mission = load_mission(conn)
    monkeypatch.setattr(ingest, "load_mission", lambda conn: mission)
    monkeypatch.setattr(ingest, "require_schema", lambda engine: None)
    return demo_engine


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
AWKWARD = [
    "", " ", "\t=1+1", "\r@SUM(A1)", " -x", "=cmd", "+a", "- =x", "-", "nan", "-inf", "1e308",
    "1e400", "4_0.1", "0x10", "٣", "99999999999999999999", "9" * 30, "-0", "1e-7", "\x00", '"',
    ",", "\n", "a\r\nb", "x" * 201, "2100-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
    "2020-11-21T10:00:00", "2020-11-21", "blue", "green", "east", "unknown", "\ud800", "\\",
    "100001", "100000.0001", "361", "-1", "9999999", "0",
]  # fmt: skip
EXTREME = [
    10**30, 1e308, -1e308, 99999999999999999999, -(2**70), 2**63, 5e-324, float("nan"),
    float("inf"), 100_001, 100_000.5, -1, 0, 360.5, 9_999_999,
]  # fmt: skip
OBS_VALUES: dict[str, list[str]] = {
    "id": ["r1", "r2", "A-7"],
    "observed_at": ["2020-11-21T10:00:00+04:00", "2020-11-21T10:05:00Z"],
    "observed_from": ["2020-11-21T09:00:00Z"],
    "observed_to": ["2020-11-21T11:00:00Z", "2020-11-21T13:30:00+04:00"],
    "lat": ["40.27", "40.05", "-89.9999999", "90"],
    "lon": ["46.75", "46.9", "180", "-180"],
    "uncertainty_m": ["250", "0", "100000"],
    "observer_lat": ["40.0", "-90"],
    "observer_lon": ["46.6", "180"],
    "bearing_deg": ["90", "0", "360"],
    "distance_min_m": ["0", "2000"],
    "distance_max_m": ["4000", "100000"],
    "kind": ["explosion", "flare", "weapon", "shot", "count"],
    "subtype": ["impact", "personnel", "tank"],
    "count": ["1", "5", "100000"],
    "actor": ["unknown", "east", "blue"],
    "source_kind": ["observation_post", "uav"],
    "source": ["OP-1", "UAV-7"],
    "reporter": ["blue", "green"],
    "description": ["seen", "- none", "-5 km north", "три выстрела"],
}
POS_VALUES: dict[str, list[str]] = {
    "unit": ["west-col-1", "blue-uav-1", "green-uav-1", "ghost-1"],
    "time": ["2020-11-21T10:00:00+04:00", "2020-11-21T10:00:30Z"],
    "lat": ["40.0", "39.8", "90"],
    "lon": ["46.6", "46.7", "-180"],
    "actor": ["west", "east", "blue", "green", "unknown"],
    "speed_mps": ["35.0", "0", "1000"],
    "course_deg": ["90", "0", "360"],
    "hae_m": ["120", "-1000", "50000"],
}
REQUIRED = {
    "observations": ["observed_at", "lat", "lon", "kind", "source_kind", "source", "reporter"],
    "positions": list(pos.REQUIRED),
}
# Columns that go together: a window instead of observed_at, an observer-located report.
WINDOW = ["observed_from", "observed_to"]
OBSERVER = ["observer_lat", "observer_lon", "bearing_deg", "distance_min_m", "distance_max_m"]
NUMBERS = {
    "lat", "lon", "uncertainty_m", "observer_lat", "observer_lon", "bearing_deg",
    "distance_min_m", "distance_max_m", "count", "speed_mps", "course_deg", "hae_m",
}  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
ODD_TEXT = st.sampled_from(AWKWARD) | st.text(max_size=8)
ODD_JSON = st.sampled_from(EXTREME) | st.sampled_from(AWKWARD) | JSON


def seldom(draw: st.DrawFn) -> bool:
    """True one time in ten (Hypothesis favours small integers: the odd case is the largest)."""
    return draw(st.integers(0, 9)) == 9


@st.composite
def columns(draw: st.DrawFn, kind: str) -> list[str]:
    """The required columns and some optional ones; now and then a window or an observer
    instead of the time or the place."""
    values = OBS_VALUES if kind == "observations" else POS_VALUES
    chosen = list(REQUIRED[kind])
    optional = [c for c in values if c not in chosen and c not in WINDOW + OBSERVER]
    chosen += draw(st.lists(st.sampled_from(optional), unique=True, max_size=5))
    if kind == "observations" and draw(st.integers(0, 3)) == 3:
        chosen.remove("observed_at")
        chosen += WINDOW
    if kind == "observations" and draw(st.integers(0, 3)) == 3:
        if draw(st.booleans()):
            chosen.remove("lat")
            chosen.remove("lon")
        chosen += OBSERVER
    return chosen


@st.composite
def csv_bytes(draw: st.DrawFn, kind: str) -> bytes:
    """A CSV file of plausible rows, half of them with one odd cell; now and then a column
    missing or unknown, or any bytes at all."""
    if seldom(draw):
        return draw(st.binary(max_size=80))
    values = OBS_VALUES if kind == "observations" else POS_VALUES
    header = draw(columns(kind))
    if seldom(draw):
        header.remove(draw(st.sampled_from(header)))
    if seldom(draw):
        header.append("colour")
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        row = [draw(st.sampled_from(values.get(c, ["red"]))) for c in header]
        if draw(st.booleans()):
            row[draw(st.integers(0, len(row) - 1))] = draw(ODD_TEXT)
        rows.append(row)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    # A lone surrogate cannot be UTF-8: written as its bytes anyway, the file is not UTF-8.
    return text.getvalue().encode("utf-8", errors="surrogatepass")


def as_json(column: str, value: str) -> Any:
    """A plausible value as the API carries it: numbers as JSON numbers."""
    if column not in NUMBERS:
        return value
    return int(value) if column == "count" else float(value)


@st.composite
def record(draw: st.DrawFn, kind: str) -> Any:
    """A plausible JSON object, half of them with one odd field; now and then with an unknown
    key, or any JSON value instead of an object."""
    if seldom(draw):
        return draw(JSON)
    values = OBS_VALUES if kind == "observations" else POS_VALUES
    item = {c: as_json(c, draw(st.sampled_from(values[c]))) for c in draw(columns(kind))}
    if draw(st.booleans()):
        item[draw(st.sampled_from(sorted(item)))] = draw(ODD_JSON)
    if seldom(draw):
        item[draw(st.text(max_size=6))] = draw(JSON)
    return item


@st.composite
def geojson(draw: st.DrawFn) -> str:
    """A FeatureCollection of plausible features (their properties as `record` draws them,
    half of the points odd in one coordinate), now and then any JSON at all."""
    features: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        properties = draw(record("observations"))
        point: list[Any] = [float(draw(st.sampled_from(OBS_VALUES[c]))) for c in ("lon", "lat")]
        if draw(st.booleans()):
            point[draw(st.integers(0, 1))] = draw(ODD_JSON)
        geometry: Any = {"type": "Point", "coordinates": point}
        if isinstance(properties, dict):
            properties.pop("lat", None)
            properties.pop("lon", None)
            if "observer_lat" in properties and draw(st.booleans()):
                geometry = None  # located by the observer columns
        if seldom(draw):
            geometry = draw(JSON)
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
        if seldom(draw):
            features[-1] = draw(JSON)
    doc: Any = {"type": "FeatureCollection", "features": features}
    if seldom(draw):
        doc = draw(JSON)
    return json.dumps(doc)  # NaN and Infinity as JSON's extensions; surrogates escaped


def check_import(engine: Engine, table: Table, run: Any) -> None:
    """`run()` stores exactly what its report says, or raises the project's own error and
    stores nothing; never another exception."""
    before = stored(engine)
    try:
        report = run()
    except TrucelineError as exc:
        event(f"refused: {type(exc).__name__}")
        assert stored(engine) == before, f"refused, yet stored: {exc}"
        assert "Traceback" not in str(exc)
        return
    after = stored(engine)
    event("stored some" if report.accepted else "stored none")
    assert after[table.name] - before[table.name] == report.accepted
    other = t.positions if table is t.observations else t.observations
    assert after[other.name] == before[other.name]


def csv_of(*rows: dict[str, str]) -> bytes:
    text = io.StringIO()
    columns = list(dict.fromkeys(c for row in rows for c in row))
    writer = csv.DictWriter(text, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


KNOWN_OBSERVATIONS = [
    {**GOOD, "description": "\t=1+1"},
    {**GOOD, "uncertainty_m": "1e308"},
    {**GOOD, "lat": "4_0.1"},
    {**GOOD, "count": "99999999999999999999"},
]
BIG_COUNT = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [46.75, 40.27]},
         "properties": {**{k: v for k, v in GOOD.items() if k not in ("lat", "lon")},
                        "count": 99999999999999999999}},
    ],
}  # fmt: skip
API_OBSERVATION = {
    **{k: v for k, v in GOOD.items() if k != "uncertainty_m"}, "lat": 40.27, "lon": 46.75,
    "count": 10**30,
}  # fmt: skip


@FUZZ
@given(
    content=csv_bytes("observations"), skip=st.booleans(), reporter=st.sampled_from([None, "blue"])
)
@example(content=csv_of(*KNOWN_OBSERVATIONS), skip=False, reporter=None)
@example(content=csv_of(*KNOWN_OBSERVATIONS), skip=True, reporter=None)
def test_any_observations_csv_is_imported_or_refused_cleanly(
    fuzz_engine: Engine, tmp_path: Path, content: bytes, skip: bool, reporter: str | None
) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    check_import(
        fuzz_engine,
        t.observations,
        lambda: ingest_observations(
            fuzz_engine, path, default_reporter=reporter, skip_invalid=skip,
            reject_file=tmp_path / "rejects.csv",
        ),
    )  # fmt: skip


@FUZZ
@given(content=csv_bytes("positions"), skip=st.booleans(), acting=st.sampled_from([None, "blue"]))
@example(
    content=csv_of({**FIX, "unit": "green-uav-1"}, {**FIX, "hae_m": "1e308"}),
    skip=False,
    acting="blue",
)
def test_any_positions_csv_is_imported_or_refused_cleanly(
    fuzz_engine: Engine, tmp_path: Path, content: bytes, skip: bool, acting: str | None
) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    check_import(
        fuzz_engine,
        t.positions,
        lambda: ingest_positions(
            fuzz_engine, path, skip_invalid=skip, reject_file=tmp_path / "rejects.csv",
            acting=acting,
        ),
    )  # fmt: skip


@FUZZ
@given(content=geojson(), skip=st.booleans())
@example(content=json.dumps(BIG_COUNT), skip=False)
@example(content=json.dumps(BIG_COUNT).replace("99999999999999999999", "9" * 5000), skip=True)
@example(
    content=json.dumps(BIG_COUNT).replace("99999999999999999999", '3, "uncertainty_m": 1e308'),
    skip=True,
)
def test_any_geojson_is_imported_or_refused_cleanly(
    fuzz_engine: Engine, tmp_path: Path, content: str, skip: bool
) -> None:
    path = tmp_path / "fuzz.geojson"
    path.write_text(content, encoding="utf-8")
    check_import(
        fuzz_engine,
        t.observations,
        lambda: ingest_observations(
            fuzz_engine, path, skip_invalid=skip, reject_file=tmp_path / "rejects.geojson"
        ),
    )


def post(engine: Engine, kind: str, items: list[Any], acting: str | None) -> None:
    table = t.observations if kind == "observations" else t.positions
    check_import(
        engine,
        table,
        lambda: ingest_records(
            engine, kind, items, source_name="api:fuzz", default_reporter=acting, acting=acting
        ),
    )


@FUZZ
@given(
    items=st.lists(record("observations"), min_size=1, max_size=4),
    acting=st.sampled_from([None, "blue"]),
)
@example(items=[API_OBSERVATION], acting="blue")
@example(items=[{**API_OBSERVATION, "count": 5, "uncertainty_m": 1e308}], acting=None)
def test_any_observations_posted_are_stored_or_refused_cleanly(
    fuzz_engine: Engine, items: list[Any], acting: str | None
) -> None:
    post(fuzz_engine, "observations", items, acting)


@FUZZ
@given(
    items=st.lists(record("positions"), min_size=1, max_size=4),
    acting=st.sampled_from([None, "blue", "green"]),
)
@example(items=[{**FIX, "unit": "green-uav-1"}], acting="blue")
@example(items=[{**FIX, "speed_mps": 10**400}, "not an object"], acting="green")
def test_any_positions_posted_are_stored_or_refused_cleanly(
    fuzz_engine: Engine, items: list[Any], acting: str | None
) -> None:
    post(fuzz_engine, "positions", items, acting)
