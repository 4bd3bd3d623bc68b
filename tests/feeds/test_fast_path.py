"""A feed's fast path (plain events read from lxml's tree with only what the records need, a
batch's numbers and times checked column by column) prepares exactly what reading every event
one by one prepares: the same rows, hashes, order, rejections and counts, whatever the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.demo import MISSION_FILE
from truceline.domain import observations as obs
from truceline.feeds.sink import _fast_context, prepare
from truceline.ingest import cot, cot_fast
from truceline.ingest.formats import FORMATS
from truceline.mission import Mission
from truceline.mission.load import parse_mission
from truceline.services.ingest import Built

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
FORM = FORMATS["cot"]
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


@pytest.fixture(scope="module")
def mission() -> Mission:
    path = Path(MISSION_FILE)
    return parse_mission(
        path.read_text(encoding="utf-8"),
        source=str(path),
        read_file=lambda name: (path.parent / name).read_text(encoding="utf-8"),
    )


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def self_report(uid: str = "ANDROID-1", lat: str = "40.1234567", **extra: str) -> bytes:
    t = extra.get("time", stamp(NOW - timedelta(minutes=5)))
    return (
        f'{DECLARATION}<event version="2.0" uid="{uid}" type="{extra.get("type", "a-f-G-U-C")}" '
        f'time="{t}" start="{t}" stale="{t}" how="m-g"><point lat="{lat}" lon="46.9" '
        f'hae="{extra.get("hae", "512.5")}" ce="9.5" le="9999999.0"/><detail>'
        '<takv os="31" version="4.10" device="X" platform="ATAK-CIV"/>'
        f'<contact endpoint="*:-1:stcp" callsign="{extra.get("callsign", "GREEN-7")}"/>'
        '<__group role="Team Member" name="Green"/>'
        f'<track course="{extra.get("course", "91.5")}" speed="{extra.get("speed", "3.2")}"/>'
        "</detail></event>"
    ).encode()


def marker(uid: str = "m-1", lat: str = "40.2", **extra: str) -> bytes:
    t = extra.get("time", stamp(NOW - timedelta(minutes=3)))
    return (
        f'{DECLARATION}<event version="2.0" uid="{uid}" type="{extra.get("type", "a-h-G")}" '
        f'time="{t}" start="{t}" stale="{t}" how="h-g-i-g-o"><point lat="{lat}" lon="46.8" '
        f'hae="9999999.0" ce="{extra.get("ce", "9999999.0")}" le="9999999.0"/><detail>'
        f'<link uid="{extra.get("producer", "ANDROID-1")}" type="a-f-G-U-C" relation="p-p"/>'
        f'<contact callsign="H.1"/><remarks>{extra.get("remarks", "column of 4 vehicles")}'
        "</remarks></detail></event>"
    ).encode()


def items_of(events: list[bytes]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    offset = 0
    for data in events:
        out.append(("tcp 127.0.0.1:5000", cot.RawEvent(offset, data)))
        offset += len(data)
    return out


def as_compared(built: Built) -> Any:
    """Everything a prepared batch holds that storing it uses."""
    chunks = {
        kind: [(c.columns, c.hashes, c.refs, [str(e) for e in c.errors]) for c in chunks]
        for kind, chunks in built.chunks.items()
    }
    return chunks, [str(e) for e in built.errors], dict(built.counts)


def test_plain_self_reports_and_markers_are_all_taken_by_the_fast_path(mission: Mission) -> None:
    events = [self_report(f"ANDROID-{n}") for n in range(5)] + [marker(f"m-{n}") for n in range(3)]
    ready = cot_fast.read_batch(events, _fast_context(mission, "green", NOW))
    assert [r is not None and r[0] for r in ready] == ["positions"] * 5 + ["observations"] * 3
    items = items_of(events)
    built = prepare(mission, "green", FORM, items, NOW)
    slow = prepare(mission, "green", FORM, items, NOW, fast=False)
    assert as_compared(built) == as_compared(slow)
    assert sum(len(c) for c in built.chunks["positions"]) == 5


def test_what_the_fast_path_is_not_sure_of_is_left_to_the_full_reader(mission: Mission) -> None:
    declared = next(iter(mission.units))
    unusual = [
        self_report(declared),  # a declared unit: the mission decides
        self_report(lat="4_0.1"),  # not a plain decimal
        self_report(lat="0.0001").replace(b'lon="46.9"', b'lon="0.0002"'),  # no fix
        self_report(time="2026-12-01T11:00:00"),  # no offset
        self_report(time=stamp(NOW - timedelta(days=40))),  # too old for a live feed
        self_report(speed="-1"),  # out of range
        self_report(callsign="=HYPERLINK(1)"),  # might be a formula
        self_report(type="a-h-G"),  # a hostile self-report: an observation
        self_report().replace(b"<detail>", b"<detail><!-- note -->"),  # a comment
        self_report().replace(b"<detail>", b'<detail><truceline actor="west"/>'),
        marker(remarks="=1+1"),
        marker(ce="-5"),
        marker(uid="truceline-finding-9"),
        marker(type="b-m-p-s-m"),
    ]
    ready = cot_fast.read_batch(unusual, _fast_context(mission, "green", NOW))
    assert ready == [None] * len(unusual)
    items = items_of([*unusual, self_report(), marker()])
    assert as_compared(prepare(mission, "green", FORM, items, NOW)) == as_compared(
        prepare(mission, "green", FORM, items, NOW, fast=False)
    )


def test_a_batch_the_fast_path_fails_on_is_read_event_by_event_not_lost(
    mission: Mission, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> list[Any]:
        raise RuntimeError("a case nobody foresaw")

    items = items_of([self_report(), marker()])
    reference = as_compared(prepare(mission, "green", FORM, items, NOW, fast=False))
    monkeypatch.setattr(cot_fast, "read_batch", broken)
    assert as_compared(prepare(mission, "green", FORM, items, NOW)) == reference


def test_a_marker_re_sent_keeps_the_first_copy_when_only_the_first_is_unusual(
    mission: Mission,
) -> None:
    first = marker(time=stamp(NOW - timedelta(minutes=9))).replace(b"<detail>", b"<detail><!---->")
    again = marker(time=stamp(NOW - timedelta(minutes=1)))  # same marker, same point, later
    built = prepare(mission, "green", FORM, items_of([first, again]), NOW)
    (chunk,) = built.chunks["observations"]
    assert len(chunk) == 2 and chunk.columns[0][0] == chunk.columns[0][1]  # one identity
    assert chunk.refs == [0, 1]  # the unusual first copy is first: it is the one stored
    reference = prepare(mission, "green", FORM, items_of([first, again]), NOW, fast=False)
    assert as_compared(built) == as_compared(reference)


# --- any mix of events ----------------------------------------------------------------------

PLAIN = {
    "declaration": DECLARATION,
    "kind": "a-f-G-U-C",
    "uid": "ANDROID-1",
    "time": stamp(NOW - timedelta(minutes=1)),
    "lat": "40.1234567",
    "lon": "46.9",
    "hae": "512.5",
    "ce": "9.5",
    "speed": "3.2",
    "course": "91.5",
    "link": "",
    "callsign": "GREEN-1",
    "remarks": "column",
    "extra": "",
}
NUMBERS = [
    "4_0.1", "1e400", "91", "-90", "+40.5", "", "nan", "40.", ".5", " 40.2 ", "-1", "2000",
    "9999999.0", "0.0", "1e-3",
]  # fmt: skip
VARIANTS: dict[str, list[str]] = {
    "declaration": [
        "",
        '<?xml version="1.0" encoding="latin-1"?>',
        "<?xml version='1.0'?>",
        DECLARATION + "<!DOCTYPE event>",
        DECLARATION + '<!DOCTYPE event [<!ENTITY x "y">]>',
    ],
    "kind": ["a-f", "a-fx", "a-h-G", "a-n-A-M-F-Q", "b-m-p-s-m", "u-d-p", "b-t-f", "a-"],
    "uid": [" ANDROID-3 ", "=cmd", "-x", "truceline-zone-1", "green-uav-1", "ü-1", "", "u" * 201],
    "time": [
        stamp(NOW + timedelta(hours=25)),
        stamp(NOW - timedelta(days=31)),
        "2026-12-01T11:00:00+04:00",
        "2026-12-01T11:00:00",
        "yesterday",
        "",
        "1960-01-01T00:00:00Z",
    ],
    "lat": [*NUMBERS, "0.001"],
    "lon": [*NUMBERS, "181", " 47 ", "4.7e1", "0.0005"],
    "hae": [*NUMBERS, "60000", "-2000"],
    "ce": [*NUMBERS, "200000", "-5"],
    "speed": NUMBERS,
    "course": [*NUMBERS, "361"],
    "link": [
        '<link uid="ANDROID-1" relation="p-p"/>',
        '<link uid="" relation="p-p"/><link uid="ANDROID-2" relation="p-p"/>',
        '<link uid="x"/>',
        '<link uid="=x" relation="p-p"/>',
    ],
    "callsign": ["", " G ", "+G", "x" * 201, "a&amp;b"],
    "remarks": [
        "",
        "  ",
        "a &amp; b",
        "<![CDATA[=1]]>",
        "&x;",
        "=SUM(1)",
        "two\nlines",
        "<b>bold</b> text",
        "x" * 300,
    ],
    "extra": [
        '<truceline kind="explosion" count="2"/>',
        "<!-- a comment -->",
        "<?note a processing instruction?>",
        '<contact callsign="second"/>',
        '<track speed="2000" course="10"/>',
        '<status battery="5" battery="6"/>',
        "<remarks>second</remarks>",
        '<link uid="ANDROID-7" relation="p-p"/>',
    ],
}


@st.composite
def events(draw: st.DrawFn) -> bytes:
    """A plain event with up to three of its parts made unusual."""
    changed = draw(st.sets(st.sampled_from(sorted(VARIANTS)), max_size=3))
    v = {k: (draw(st.sampled_from(VARIANTS[k])) if k in changed else p) for k, p in PLAIN.items()}
    text = (
        f'{v["declaration"]}<event version="2.0" uid="{v["uid"]}" type="{v["kind"]}" '
        f'time="{v["time"]}" start="{v["time"]}" how="m-g"><point lat="{v["lat"]}" '
        f'lon="{v["lon"]}" hae="{v["hae"]}" ce="{v["ce"]}" le="9999999.0"/><detail>{v["link"]}'
        f'<contact callsign="{v["callsign"]}"/><track course="{v["course"]}" '
        f'speed="{v["speed"]}"/><remarks>{v["remarks"]}</remarks>{v["extra"]}</detail></event>'
    )
    return text.encode()


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(events(), min_size=1, max_size=12))
def test_any_batch_prepares_the_same_with_and_without_the_fast_path(
    mission: Mission, batch: list[bytes]
) -> None:
    items = items_of(batch)
    fast = prepare(mission, "green", FORM, items, NOW)
    slow = prepare(mission, "green", FORM, items, NOW, fast=False)
    assert as_compared(fast) == as_compared(slow)


def test_the_observations_context_of_the_fast_path_is_the_builders_one(mission: Mission) -> None:
    ctx = _fast_context(mission, "green", NOW)
    assert ctx.observations == obs.Context(mission.actors, frozenset(mission.contingents), "green")
    assert ctx.declared == frozenset(mission.units)


NUMBER_TEXTS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**400, 10**400).map(str),
    st.sampled_from(["", " ", " 1.5", "1.5 ", "4_0.1", "1e", "+", "1.2.3", "1e999", "-0",
                     "٤٠", "inf", "nan", "1,5", ",", "1e5", "+.5", "5.", "\t2\n", "9999999.0"]),
    st.text(alphabet="0123456789.+-eE, _\t٤", max_size=8),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(NUMBER_TEXTS, max_size=30))
def test_a_column_of_numbers_is_read_as_the_full_reader_reads_each_of_them(
    texts: list[str | None],
) -> None:
    ok = np.ones(len(texts), dtype=bool)
    values = cot_fast._numbers(texts, ok)
    for text, kept, value in zip(texts, ok.tolist(), values.tolist(), strict=True):
        problems: list[str] = []
        number = cot._number(text, "lat", problems)
        if kept:  # taken by the fast path: exactly as the full reader takes it
            assert not problems, (text, problems)
            assert (value != value and number is None) or value == number, (text, value)
        else:  # refused: the full reader's, which names the problem
            assert problems, text
