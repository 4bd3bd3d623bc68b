"""Cursor on Target as TAK clients really send it: split, parsed with no DTD, entity or network,
classified into positions and observations; XML attacks refused per event, memory bounded."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.domain.vocabulary import SOURCE_KINDS
from truceline.ingest import cot
from truceline.ingest.cot import (
    DOCTYPE_REASON,
    MAX_EVENT_BYTES,
    PROTOBUF_REASON,
    CotEvent,
    EventSplitter,
    Ignored,
    Marker,
    NoFix,
    RawEvent,
    Rejected,
    SelfReport,
    classify,
    marker_identity,
    parse_event,
    read_events,
    split_events,
)

DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

# An ATAK self-report (a device's own position), as ATAK-CIV 4.10 sends it.
SELF_REPORT = (
    b'<event version="2.0" uid="ANDROID-589520ccfcd20f01" type="a-f-G-U-C" '
    b'time="2024-05-01T12:00:00.123Z" start="2024-05-01T12:00:00.123Z" '
    b'stale="2024-05-01T12:06:00.123Z" how="m-g">'
    b'<point lat="48.5012345" lon="35.0412345" hae="142.3" ce="9.9" le="9999999.0"/>'
    b'<detail><takv os="33" version="4.10.0.4" device="SAMSUNG SM-G998B" platform="ATAK-CIV"/>'
    b'<contact endpoint="*:-1:stcp" callsign="BLUE-P1"/><uid Droid="BLUE-P1"/>'
    b'<precisionlocation altsrc="GPS" geopointsrc="GPS"/>'
    b'<__group role="Team Member" name="Cyan"/><status battery="88"/>'
    b'<track course="91.5" speed="3.2"/></detail></event>'
)

# A point placed by that device: "hostile ground here".
HOSTILE_MARKER = (
    b'<event version="2.0" uid="9f3c7e2a-1b4d-4c8e-a2f1-0d5b6e7f8a9b" type="a-h-G" '
    b'time="2024-05-01T12:01:00Z" start="2024-05-01T12:01:00Z" stale="2025-05-01T12:01:00Z" '
    b'how="h-g-i-g-o"><point lat="48.52" lon="35.07" hae="9999999.0" ce="25.0" le="9999999.0"/>'
    b'<detail><status readiness="true"/><archive/>'
    b'<link uid="ANDROID-589520ccfcd20f01" production_time="2024-05-01T12:01:00Z" '
    b'type="a-f-G-U-C" parent_callsign="BLUE-P1" relation="p-p"/>'
    b'<contact callsign="H.1"/><remarks>Two tanks moving west &amp; a truck</remarks>'
    b'<color argb="-65536"/><archive/></detail></event>'
)

# A spot map marker (red dot).
SPOT_MARKER = (
    b'<event version="2.0" uid="c1d2e3f4-0000-4000-8000-000000000001" type="b-m-p-s-m" '
    b'time="2024-05-01T12:02:00Z" start="2024-05-01T12:02:00Z" stale="2025-05-01T12:02:00Z" '
    b'how="h-g-i-g-o"><point lat="48.53" lon="35.08" hae="120.0" ce="9999999.0" le="9999999.0"/>'
    b'<detail><status readiness="true"/><archive/>'
    b'<link uid="ANDROID-589520ccfcd20f01" production_time="2024-05-01T12:02:00Z" '
    b'type="a-f-G-U-C" parent_callsign="BLUE-P1" relation="p-p"/>'
    b'<contact callsign="spot 1"/><usericon iconsetpath="COT_MAPPING_SPOTMAP/b-m-p-s-m/-65536"/>'
    b"<remarks>crater, fresh</remarks></detail></event>"
)

# A drawn point (u-d-p) with truceline's own detail.
DRAWN_POINT = (
    b'<event version="2.0" uid="d-point-7" type="u-d-p" time="2024-05-01T12:03:00Z" '
    b'start="2024-05-01T12:03:00Z" stale="2025-05-01T12:03:00Z" how="h-e">'
    b'<point lat="48.54" lon="35.09" hae="0" ce="50" le="9999999.0"/><detail>'
    b'<link uid="ANDROID-589520ccfcd20f01" type="a-f-G-U-C" relation="p-p"/>'
    b'<truceline kind="explosion" subtype="impact" count="3" actor="red"/>'
    b"<remarks>three impacts</remarks></detail></event>"
)

# GeoChat: counted and ignored.
CHAT = (
    b'<event version="2.0" uid="GeoChat.ANDROID-589520ccfcd20f01.All Chat Rooms.4f2a" '
    b'type="b-t-f" time="2024-05-01T12:04:00Z" start="2024-05-01T12:04:00Z" '
    b'stale="2024-05-02T12:04:00Z" how="h-g-i-g-o">'
    b'<point lat="48.5012345" lon="35.0412345" hae="142.3" ce="9.9" le="9999999.0"/>'
    b'<detail><__chat parent="RootContactGroup" groupOwner="false" chatroom="All Chat Rooms" '
    b'id="All Chat Rooms" senderCallsign="BLUE-P1"><chatgrp uid0="ANDROID-589520ccfcd20f01" '
    b'uid1="All Chat Rooms" id="All Chat Rooms"/></__chat>'
    b'<link uid="ANDROID-589520ccfcd20f01" type="a-f-G-U-C" relation="p-p"/>'
    b'<remarks source="BAO.F.ATAK.ANDROID-589520ccfcd20f01" to="All Chat Rooms" '
    b'time="2024-05-01T12:04:00Z">checkpoint 4 closed</remarks></detail></event>'
)

# What a TAK client sends before it has a location.
NO_FIX_REPORT = (
    b'<event version="2.0" uid="ANDROID-nofix" type="a-f-G-U-C" time="2024-05-01T12:05:00Z" '
    b'start="2024-05-01T12:05:00Z" stale="2024-05-01T12:11:00Z" how="h-e">'
    b'<point lat="0.0" lon="0.0" hae="9999999.0" ce="9999999.0" le="9999999.0"/>'
    b'<detail><contact callsign="BLUE-P2"/></detail></event>'
)

CAPTURE = [SELF_REPORT, HOSTILE_MARKER, SPOT_MARKER, DRAWN_POINT, CHAT, NO_FIX_REPORT]


def stream(events: list[bytes], declarations: bool, sep: bytes = b"\n") -> bytes:
    return sep.join((DECLARATION + e) if declarations else e for e in events)


def event_of(raw: bytes, offset: int = 0) -> CotEvent:
    event = parse_event(raw, offset)
    assert isinstance(event, CotEvent), event
    return event


def good_events(items: list[RawEvent | Rejected]) -> list[RawEvent]:
    assert all(isinstance(i, RawEvent) for i in items), items
    return [i for i in items if isinstance(i, RawEvent)]


def feed_in_pieces(data: bytes, cuts: list[int], plain: bool = True) -> list[RawEvent | Rejected]:
    splitter = EventSplitter(plain=plain)
    out: list[RawEvent | Rejected] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        out += splitter.feed(data[start:cut])
        start = cut
    return out + splitter.close()


# --- splitting ------------------------------------------------------------------------------


def test_concatenated_events_split_with_and_without_declarations_at_their_byte_offsets() -> None:
    for declarations in (False, True):
        data = stream(CAPTURE, declarations, sep=b"\r\n  \t")
        items = good_events(list(split_events(data)))
        assert len(items) == len(CAPTURE)
        for item, raw in zip(items, CAPTURE, strict=True):
            assert item.data.endswith(raw)
            assert data[item.offset : item.offset + len(item.data)] == item.data
            assert item.data.startswith(DECLARATION) == declarations


def test_a_mix_of_declared_and_bare_events_with_a_byte_order_mark_splits_the_same() -> None:
    data = b"\xef\xbb\xbf" + DECLARATION + SELF_REPORT + HOSTILE_MARKER + b"\n" + DECLARATION
    data += SPOT_MARKER
    items = good_events(list(split_events(data)))
    assert [i.data for i in items] == [
        DECLARATION + SELF_REPORT,
        HOSTILE_MARKER,
        DECLARATION + SPOT_MARKER,
    ]
    assert items[0].offset == 3


def test_the_splitter_gives_the_same_events_however_the_stream_is_cut() -> None:
    data = stream(CAPTURE * 3, declarations=True)
    whole = list(split_events(data, base_offset=100))
    assert len(good_events(whole)) == 18
    rng = random.Random(11)
    for _ in range(40):
        cuts = rng.sample(range(1, len(data)), rng.randint(1, 60))
        splitter = EventSplitter(base_offset=100)
        out: list[RawEvent | Rejected] = []
        start = 0
        for cut in [*sorted(cuts), len(data)]:
            out += splitter.feed(data[start:cut])
            start = cut
        assert out + splitter.close() == whole
    assert feed_in_pieces(data, list(range(1, len(data)))) == list(split_events(data))


def test_a_comment_between_events_is_skipped_however_the_stream_is_cut() -> None:
    one = stream(CAPTURE[:2], declarations=True)
    data = b"<!-- capture.cot: byte 0 (x): why -- said -->\n" + one + b"<!-- -> --->" + one
    whole = list(split_events(data))
    assert len(good_events(whole)) == 4 and not [i for i in whole if isinstance(i, Rejected)]
    assert feed_in_pieces(data, list(range(1, len(data)))) == whole
    endless = list(split_events(b"<!-- " + b"x" * (70 * 1024) + b" -->" + one))
    assert isinstance(endless[0], Rejected) and "comment not closed" in endless[0].reason
    assert len([i for i in endless if isinstance(i, RawEvent)]) == 2  # the rest still read


def test_an_event_completes_as_soon_as_its_end_tag_arrives() -> None:
    splitter = EventSplitter()
    assert splitter.feed(DECLARATION + SELF_REPORT[:-3]) == []
    (done,) = splitter.feed(SELF_REPORT[-3:] + b"\n" + HOSTILE_MARKER[:50])
    assert isinstance(done, RawEvent) and done.offset == 0
    assert splitter.feed(HOSTILE_MARKER[50:]) == [
        RawEvent(len(DECLARATION + SELF_REPORT) + 1, HOSTILE_MARKER)
    ]
    assert splitter.close() == []


def test_a_truncated_event_is_rejected_by_offset_and_uid_and_the_next_one_still_read() -> None:
    data = SELF_REPORT[:200] + b"\n" + DECLARATION + HOSTILE_MARKER + b"\n" + SPOT_MARKER[:90]
    items = list(split_events(data))
    assert isinstance(items[0], Rejected)
    assert items[0].offset == 0 and items[0].uid == "ANDROID-589520ccfcd20f01"
    assert "no </event>" in items[0].reason
    assert items[1] == RawEvent(201, DECLARATION + HOSTILE_MARKER)
    assert isinstance(items[2], Rejected) and "incomplete" in items[2].reason
    assert items[2].uid == "c1d2e3f4-0000-4000-8000-000000000001"
    assert str(items[2]).startswith(f"byte {items[2].offset} (uid 'c1d2e3f4")


def test_garbage_between_events_is_rejected_once_and_skipped() -> None:
    data = SELF_REPORT + b"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n<foo>bar</foo>" + HOSTILE_MARKER
    items = list(split_events(data))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [i.offset for i in rejected] == [len(SELF_REPORT) + 1]
    assert "not a CoT event" in rejected[0].reason
    assert [i.data for i in items if isinstance(i, RawEvent)] == [SELF_REPORT, HOSTILE_MARKER]


def test_a_self_closing_event_is_split_and_then_rejected_for_having_no_point() -> None:
    data = b'<event uid="x" type="a-f-G" note="a > b"/>' + SELF_REPORT
    first, second = split_events(data)
    assert isinstance(first, RawEvent) and isinstance(second, RawEvent)
    rejected = parse_event(first.data, first.offset)
    assert isinstance(rejected, Rejected) and rejected.uid == "x"
    assert "no <point>" in rejected.reason


def test_a_tak_protocol_client_is_refused_by_name_and_an_xml_event_after_it_still_read() -> None:
    protobuf = b"\xbf\x01\xbf\x12\x2a\x0a\x09a-f-G-U-C\x12\x08ANDROID-\x00\xff\x10\x01" * 20
    items = list(split_events(protobuf + DECLARATION + SELF_REPORT))
    assert items[0] == Rejected(0, None, PROTOBUF_REASON)
    assert items[1:] == [RawEvent(len(protobuf), DECLARATION + SELF_REPORT)]
    assert PROTOBUF_REASON == "TAK protocol (protobuf) is not read: set the client to send XML"
    datagram = parse_event(b"\xbf\x01\xbf" + b"\x00" * 40, 0)  # one UDP datagram
    assert isinstance(datagram, Rejected) and datagram.reason == PROTOBUF_REASON


# --- XML attacks ----------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']><event version="2.0" uid="laughs" type="a-h-G" time="2024-05-01T12:00:00Z">'
    b'<point lat="48.5" lon="35.0" hae="0" ce="10" le="10"/>'
    b"<detail><remarks>&lol9;</remarks></detail></event>"
)


def external_entity(path: Path) -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY xxe SYSTEM "file://'
        + str(path).encode()
        + b'">]><event version="2.0" uid="xxe" type="a-h-G" time="2024-05-01T12:00:00Z">'
        b'<point lat="48.5" lon="35.0" hae="0" ce="10" le="10"/>'
        b"<detail><remarks>&xxe;</remarks></detail></event>"
    )


EXTERNAL_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE event SYSTEM "http://127.0.0.1:9/cot.dtd">'
    b'<event version="2.0" uid="dtd" type="a-h-G" time="2024-05-01T12:00:00Z">'
    b'<point lat="48.5" lon="35.0" hae="0" ce="10" le="10"/></event>'
)

ENDLESS_EVENT = b'<event version="2.0" uid="endless" type="a-h-G"><detail>' + b"<x/>" * 1_000_000


def test_xml_attacks_are_refused_per_event_never_expanded_and_the_next_event_read(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    attacks = [BILLION_LAUGHS, external_entity(secret), EXTERNAL_DTD]
    data = b"\n".join(part for attack in attacks for part in (attack, SELF_REPORT))
    results = list(read_events(data))
    assert [type(r) for r in results] == [Rejected, SelfReport] * 3
    assert [r.uid for r in results if isinstance(r, Rejected)] == ["laughs", "xxe", "dtd"]
    assert {r.reason for r in results if isinstance(r, Rejected)} == {DOCTYPE_REASON}
    assert "TOP-SECRET" not in repr(results) and "lollol" not in repr(results)


def test_the_hardened_parser_itself_expands_no_entity_and_reads_no_file(tmp_path: Path) -> None:
    # Defence in depth: were the DOCTYPE check bypassed, lxml still expands nothing.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    for attack in (BILLION_LAUGHS, external_entity(secret), EXTERNAL_DTD):
        try:
            root = etree.fromstring(attack, cot._parser())
        except etree.XMLSyntaxError:
            continue
        text = etree.tostring(root)
        assert b"TOP-SECRET" not in text and b"lollol" not in text


def test_an_endless_event_is_rejected_with_bounded_memory_and_the_next_event_read() -> None:
    data = ENDLESS_EVENT + b"\n" + DECLARATION + SELF_REPORT
    tracemalloc.start()
    try:
        splitter = EventSplitter()
        out: list[RawEvent | Rejected] = []
        view = memoryview(data)
        for start in range(0, len(data), 4096):
            out += splitter.feed(view[start : start + 4096])
        out += splitter.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_EVENT_BYTES, peak  # the 4 MB event is never held
    assert out[0] == Rejected(0, "endless", "an event longer than 65,536 bytes")
    assert out[1:] == [RawEvent(len(ENDLESS_EVENT) + 1, DECLARATION + SELF_REPORT)]


def test_an_endless_start_tag_or_prolog_is_rejected_with_bounded_memory() -> None:
    for endless in (
        b'<event uid="open" type="a-h-G" remarks="' + b"A" * 3_000_000,
        DECLARATION + b"<!-- " + b"B" * 3_000_000,
    ):
        data = endless + SELF_REPORT
        tracemalloc.start()
        try:
            items = list(split_events(data))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4 * MAX_EVENT_BYTES, peak
        assert isinstance(items[0], Rejected) and items[0].offset == 0
        assert items[1:] == [RawEvent(len(endless), SELF_REPORT)]


def test_an_event_of_more_than_64_kib_is_refused_whole_even_as_one_datagram() -> None:
    big = SELF_REPORT.replace(b"<detail>", b"<detail><x>" + b"y" * MAX_EVENT_BYTES + b"</x>")
    rejected = parse_event(big, 7)
    assert isinstance(rejected, Rejected) and rejected.offset == 7
    assert rejected.uid == "ANDROID-589520ccfcd20f01" and "longer than" in rejected.reason


def test_an_encoding_that_could_hide_a_doctype_is_refused() -> None:
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + SELF_REPORT.decode()).encode("utf-16")
    assert isinstance(parse_event(utf16), Rejected)
    declared = b'<?xml version="1.0" encoding="UTF-7"?>' + SELF_REPORT
    rejected = parse_event(declared)
    assert isinstance(rejected, Rejected) and "encoding 'utf-7'" in rejected.reason
    latin = parse_event(b'<?xml version="1.0" encoding="ISO-8859-1"?>' + SELF_REPORT)
    assert isinstance(latin, CotEvent)


def test_malformed_xml_and_missing_parts_are_rejected_by_name() -> None:
    cases = {
        SELF_REPORT.replace(b"</detail>", b""): "malformed XML",
        SELF_REPORT.replace(b' lat="48.5012345"', b""): "no lat/lon",
        SELF_REPORT.replace(b'lat="48.5012345"', b'lat="north"'): "point lat is not a number",
        SELF_REPORT.replace(b'lon="35.0412345"', b'lon="nan"'): "not a finite number",
        SELF_REPORT.replace(b'lon="35.0412345"', b'lon="3_5.04"'): "not a number",
        SELF_REPORT.replace(b'speed="3.2"', b'speed="fast"'): "track speed is not a number",
        SELF_REPORT.replace(b' type="a-f-G-U-C"', b""): "no type",
        HOSTILE_MARKER.replace(b"&amp;", b"&undefined;"): "malformed XML",
    }
    for raw, reason in cases.items():
        rejected = parse_event(raw, 5)
        assert isinstance(rejected, Rejected), reason
        assert reason in rejected.reason and rejected.offset == 5


# --- classifying ----------------------------------------------------------------------------


def test_a_self_report_is_a_position_of_its_unit_with_track_and_height() -> None:
    report = classify(event_of(SELF_REPORT))
    assert isinstance(report, SelfReport)
    assert report.position == {
        "unit": "ANDROID-589520ccfcd20f01",
        "time": "2024-05-01T12:00:00.123Z",
        "lat": 48.5012345,
        "lon": 35.0412345,
        "speed_mps": 3.2,
        "course_deg": 91.5,
        "hae_m": 142.3,
    }
    assert report.friendly and report.affiliation == "friendly"
    assert report.callsign == "BLUE-P1" and report.actor is None
    assert report.event.group == "Cyan" and report.event.le is None


def test_a_self_report_s_fields_build_a_position_with_the_existing_builder() -> None:
    report = classify(event_of(SELF_REPORT))
    assert isinstance(report, SelfReport)
    ctx = pos.Context(
        actors=frozenset({"blue", "red"}), unit_owners={}, contingents=frozenset({"blue"})
    )
    position, problems = pos.build_position({**report.position, "actor": "blue"}, ctx)
    assert position is not None, problems


def test_an_unknown_height_is_none_and_the_truceline_detail_overrides_the_actor() -> None:
    raw = SELF_REPORT.replace(b'hae="142.3"', b'hae="9999999.0"').replace(
        b"</detail>", b'<truceline actor="blue"/></detail>'
    )
    report = classify(event_of(raw))
    assert isinstance(report, SelfReport)
    assert "hae_m" not in report.position and report.position["actor"] == "blue"
    assert report.actor == "blue"


def test_a_hostile_self_report_gives_its_affiliation_and_reads_as_a_presence() -> None:
    raw = SELF_REPORT.replace(b'type="a-f-G-U-C"', b'type="a-h-G-U-C-I"')
    report = classify(event_of(raw))
    assert isinstance(report, SelfReport)
    assert not report.friendly and report.affiliation == "hostile"
    seen = report.as_observation()
    assert seen["kind"] == "presence" and seen["subtype"] == "a-h-G-U-C-I"
    assert seen["actor"] == "unknown" and seen["source"] == "ANDROID-589520ccfcd20f01"
    assert seen["observed_at"] == "2024-05-01T12:00:00.123Z" and seen["uncertainty_m"] == 9.9


def test_a_hostile_marker_is_a_presence_observation_of_the_producing_device() -> None:
    marker = classify(event_of(HOSTILE_MARKER))
    assert isinstance(marker, Marker)
    assert marker.source == "ANDROID-589520ccfcd20f01"
    assert marker.uid == "9f3c7e2a-1b4d-4c8e-a2f1-0d5b6e7f8a9b"
    assert marker.observation == {
        "id": marker_identity(marker.source, marker.uid, 48.52, 35.07),
        "observed_at": "2024-05-01T12:01:00Z",
        "lat": 48.52,
        "lon": 35.07,
        "uncertainty_m": 25.0,
        "kind": "presence",
        "subtype": "a-h-G",
        "source_kind": "other",
        "source": "ANDROID-589520ccfcd20f01",
        "description": "Two tanks moving west & a truck",
    }


def test_a_spot_marker_is_an_other_observation_with_no_uncertainty_when_ce_is_unknown() -> None:
    marker = classify(event_of(SPOT_MARKER))
    assert isinstance(marker, Marker)
    seen = marker.observation
    assert seen["kind"] == "other" and seen["subtype"] == "b-m-p-s-m"
    assert "uncertainty_m" not in seen and seen["description"] == "crater, fresh"
    assert seen["source"] == "ANDROID-589520ccfcd20f01"


def test_a_drawn_point_takes_kind_subtype_count_and_actor_from_the_truceline_detail() -> None:
    marker = classify(event_of(DRAWN_POINT))
    assert isinstance(marker, Marker)
    seen = marker.observation
    assert (seen["kind"], seen["subtype"], seen["count"], seen["actor"]) == (
        "explosion",
        "impact",
        "3",
        "red",
    )
    assert seen["uncertainty_m"] == 50.0 and seen["description"] == "three impacts"


def test_markers_build_observations_with_the_existing_builder() -> None:
    ctx = obs.Context(
        actors=frozenset({"blue", "red"}), contingents=frozenset({"blue"}), default_reporter="blue"
    )
    for raw in (HOSTILE_MARKER, SPOT_MARKER, DRAWN_POINT):
        marker = classify(event_of(raw))
        assert isinstance(marker, Marker)
        fields = dict(marker.observation)
        assert fields["source_kind"] in SOURCE_KINDS  # as classified: no caller need mend it
        built, problems = obs.build_observation(fields, ctx)
        assert built is not None, problems


def test_chat_and_other_types_are_ignored_and_a_point_near_0_0_is_no_fix() -> None:
    chat = classify(event_of(CHAT))
    assert isinstance(chat, Ignored) and chat.reason == "chat"
    ping = SELF_REPORT.replace(b'type="a-f-G-U-C"', b'type="t-x-c-t"')
    assert isinstance(classify(event_of(ping)), Ignored)
    assert isinstance(classify(event_of(NO_FIX_REPORT)), NoFix)
    near = SPOT_MARKER.replace(b'lat="48.53" lon="35.08"', b'lat="0.005" lon="-0.005"')
    assert isinstance(classify(event_of(near)), NoFix)  # about 790 m from 0°, 0°
    far = SPOT_MARKER.replace(b'lat="48.53" lon="35.08"', b'lat="0.0" lon="0.01"')
    assert isinstance(classify(event_of(far)), Marker)  # about 1.1 km


def test_a_marker_re_broadcast_twenty_times_has_one_identity_and_moved_it_has_another() -> None:
    identities = set()
    for second in range(20):
        stamp = b"2024-05-01T12:%02d:%02dZ" % (1 + second // 60, second % 60)
        raw = HOSTILE_MARKER.replace(b"2024-05-01T12:01:00Z", stamp)
        raw = raw.replace(b"Two tanks", b"Two tanks (%d)" % second)
        marker = classify(event_of(raw))
        assert isinstance(marker, Marker)
        identities.add(marker.observation["id"])
    assert len(identities) == 1
    moved = classify(event_of(HOSTILE_MARKER.replace(b'lat="48.52"', b'lat="48.5200002"')))
    assert isinstance(moved, Marker) and moved.identity not in identities
    same = classify(event_of(HOSTILE_MARKER.replace(b'lat="48.52"', b'lat="48.52000001"')))
    assert isinstance(same, Marker) and same.identity in identities  # the same at 1e-7°


def test_read_events_counts_a_capture_by_what_it_holds() -> None:
    results = list(read_events(stream(CAPTURE, declarations=True)))
    assert [type(r).__name__ for r in results] == [
        "SelfReport",
        "Marker",
        "Marker",
        "Marker",
        "Ignored",
        "NoFix",
    ]


# --- any bytes ------------------------------------------------------------------------------

FRAGMENTS = [
    DECLARATION,
    b"<event",
    b"</event>",
    b"<?xml",
    b"<!DOCTYPE event [",
    b'<!ENTITY a "b">',
    b"&a;",
    b'"',
    b"'",
    b">",
    b"/>",
    b"\xbf",
    b"\x00",
    b" \n",
    b'<point lat="1" lon="2"/>',
    b"<detail><truceline/></detail>",
    SELF_REPORT[:120],
    SELF_REPORT,
    HOSTILE_MARKER,
    CHAT,
]
ANY_BYTES = st.one_of(
    st.binary(max_size=600),
    st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=20), max_size=25).map(b"".join),
)


@settings(max_examples=200, deadline=None)
@given(data=ANY_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=8))
def test_any_bytes_give_only_events_or_rejections_and_never_an_exception(
    data: bytes, cuts: list[int]
) -> None:
    whole = list(split_events(data))
    assert feed_in_pieces(data, [c for c in cuts if c < len(data)]) == whole
    for item in whole:
        assert isinstance(item, RawEvent | Rejected)
        if isinstance(item, RawEvent):
            assert data[item.offset : item.offset + len(item.data)] == item.data
            event = parse_event(item.data, item.offset)
            if isinstance(event, CotEvent):
                assert isinstance(classify(event), SelfReport | Marker | NoFix | Ignored)
            else:
                assert isinstance(event, Rejected)
    assert isinstance(parse_event(data, 0), CotEvent | Rejected)  # as one UDP datagram


PIECES = [
    SELF_REPORT,
    DECLARATION + HOSTILE_MARKER,
    DECLARATION + b"\r\n" + SELF_REPORT,
    b'<event uid="s"/>',
    b"<event uid='w' x='/'/>",
    b'<event uid="a"><point/>',
    b'<event uid="q" x="a>b" y=\'"\'><point/></event>',
    b'<event uid="n"><remarks><event uid="inner"/></remarks></event>',
    b'<event uid="d"><?xml version="1.0"?></event>',
    b'<event\t uid="t"><point/></event\n>',
    b'<event uid="e"></eventx></event >',
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?><event uid='sq'><point/></event>",
    b'<?xml version="1.0" encoding="UTF-8"?><event uid="r"><remarks>an event</remarks></event>',
    b'<event uid="pi"><?pi x?><point/></event>',
    b'<event uid="odd" x="a"b"><point/></event>',
    b'<event uid="big"><remarks>' + b"x" * (MAX_EVENT_BYTES - 40) + b"</remarks></event>",
    b'<event uid="lt" a<b="1"><point/></event>',
    b'<?xml version="1.0"?><?xml version="1.0"?>',
    b'<?xml version="1.0"?><!-- c --><event uid="c"/>',
    b"<!-- between -->",
    b"\xef\xbb\xbf",
    b" ",
    b"\r\n",
    b"<eventx/>",
    b"garbage",
]


@settings(max_examples=200, deadline=None)
@given(
    data=ANY_BYTES | st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=8),
)
def test_plain_events_split_in_one_pass_exactly_as_the_steps_split_them(
    data: bytes, cuts: list[int]
) -> None:
    cuts = [c for c in cuts if c < len(data)]
    assert feed_in_pieces(data, cuts) == feed_in_pieces(data, cuts, plain=False)


def test_a_stream_of_plain_events_is_split_by_the_one_pass_reader() -> None:
    data = stream(CAPTURE * 3, declarations=True)
    splitter = EventSplitter()
    splitter._drain = lambda out, final: splitter._plain(out)  # type: ignore[method-assign]
    assert splitter.feed(data) == list(split_events(data))  # (no step was needed)


def test_byte_order_marks_and_a_truncated_tag_read_the_same_however_they_are_cut() -> None:
    data = b"\xef\xbb\xbf \xef\xbb\xbfu\xc3" + b"<event><?xml " + DECLARATION + SELF_REPORT
    whole = list(split_events(data))
    assert whole[-1] == RawEvent(
        len(data) - len(DECLARATION + SELF_REPORT), DECLARATION + SELF_REPORT
    )
    assert [r.uid for r in whole if isinstance(r, Rejected)] == [None, None, None]
    for cut in range(1, len(data)):
        assert feed_in_pieces(data, [cut]) == whole, cut


def test_the_events_tak_clients_send_are_split_by_the_plain_path_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_plain(*_: object) -> bool:
        raise AssertionError("left to the steps")

    monkeypatch.setattr(EventSplitter, "_begin", not_plain)
    data = b"\r\n".join([SELF_REPORT, DECLARATION + HOSTILE_MARKER, DECLARATION + SELF_REPORT])
    events = good_events(EventSplitter().feed(data))  # (one read)
    assert [e.data for e in events] == [SELF_REPORT, DECLARATION + HOSTILE_MARKER,
                                        DECLARATION + SELF_REPORT]  # fmt: skip
    assert events[1].offset == len(SELF_REPORT) + 2
