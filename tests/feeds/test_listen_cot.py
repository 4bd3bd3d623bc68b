"""`listen cot` with real TAK clients (pytak) over TCP and UDP: many clients at once, a bad
event rejected without closing its connection, markers re-broadcast stored once, no-fix
reports counted, signed batches, and what is stored assessed as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytak
import pytest
from sqlalchemy import Engine, select

from tests.conftest import MISSION_FILE
from tests.feeds.certs import Authority
from tests.feeds.conftest import (
    MARKER,
    WHEN,
    connect,
    count,
    event,
    listening,
    read_events,
    wait_for,
)
from truceline.feeds import sink as sink_module
from truceline.feeds.cot_server import CotListener, TlsFiles
from truceline.feeds.sink import FeedSink
from truceline.ingest import cot
from truceline.services.ledger import KeyRing, verify_ledger
from truceline.services.missions import init_database
from truceline.store import tables as t
from truceline.store.missions import load_mission


def test_many_tak_clients_are_stored_as_signed_batches_and_a_bad_event_keeps_its_connection(
    engine: Engine, tmp_path: Path
) -> None:
    keyring = KeyRing(tmp_path / "keys")
    init_database(engine, MISSION_FILE, keyring=keyring, generate_keys=True)
    with listening(engine, keyring=keyring) as running:
        ports = running.listener.ports

        async def talk() -> None:
            _, w1, tcp1 = await connect(f"tcp://127.0.0.1:{ports.tcp}")
            _, w2, tcp2 = await connect(f"tcp://127.0.0.1:{ports.tcp}")
            _, _, udp = await connect(f"udp+wo://127.0.0.1:{ports.udp}")
            # a self-report as pytak itself writes one (a friendly ground unit: green's own)
            own = pytak.gen_cot(lat=40.1, lon=46.9, uid="ANDROID-green-7", cot_type="a-f-G-U-C",
                                callsign="GREEN-7")  # fmt: skip
            assert own is not None
            await tcp1.send_data(own)
            await tcp1.send_data(b"<event uid='broken' type='a-f-G'><point lat='1'")  # no end
            for second in range(20):  # a marker re-broadcast twenty times
                await tcp2.send_data(event("m-1", "a-h-G", 40.3, 46.7, WHEN.format(1, second),
                                           MARKER.decode()))  # fmt: skip
            await tcp1.send_data(event("ANDROID-green-1", "a-f-G-U-C", 40.1, 46.9,
                                       WHEN.format(2, 0)))  # fmt: skip
            await udp.send_data(event("ANDROID-green-1", "a-f-G-U-C", 0.001, 0.002,
                                      WHEN.format(3, 0)))  # no fix  # fmt: skip
            await udp.send_data(event("ANDROID-green-1", "a-f-G-U-C", 40.11, 46.9,
                                      WHEN.format(4, 0)))  # fmt: skip
            counts = running.sink.counts
            await asyncio.to_thread(
                wait_for, lambda: (counts.positions, counts.observations) == (3, 1), 20, "stored"
            )
            assert not w1.is_closing() and not w2.is_closing()  # the bad event closed nothing
            w1.close()
            w2.close()

        asyncio.run(talk())
        wait_for(lambda: running.sink.counts.rejected == 1, what="the broken event rejected")
        counts = running.sink.counts
        assert (counts.positions, counts.observations, counts.no_fix) == (3, 1, 1)
        assert counts.duplicates == 19  # twenty re-broadcasts: one observation
    with engine.connect() as conn:
        names = dict(conn.execute(select(t.positions.c.unit, t.positions.c.name)).all())
        formats = set(conn.execute(select(t.import_batches.c.format)).scalars())
        assert verify_ledger(conn, load_mission(conn)).ok  # every batch is in a signed entry
    assert names["ANDROID-green-7"] == "GREEN-7"  # the callsign, kept as the unit's name
    assert "cot" in formats


def test_an_undeclared_friendly_track_is_assessed_as_it_arrives_and_tak_clients_see_it(
    demo_engine: Engine,
) -> None:
    with listening(demo_engine, udp=False) as running:
        port = running.listener.ports.tcp

        async def talk() -> bytes:
            reader, writer, tx = await connect(f"tcp://127.0.0.1:{port}")
            zones = await read_events(reader, lambda got: b"truceline-zone-corridor" in got)
            mission = running.sink.mission
            for zone in mission.zones:  # every zone drawn, and readable by our own reader
                assert f'uid="truceline-zone-{zone}'.encode() in zones
            shapes = [cot.parse_event(e.data) for e in cot.split_events(zones)]
            assert shapes and all(isinstance(s, cot.CotEvent) for s in shapes)
            # green's own patrol, undeclared, in the peacekeeping area and outside its own
            for n in range(5):
                await tx.send_data(event("ANDROID-green-9", "a-f-G-U-C", 39.82 + n / 1000,
                                         46.75, WHEN.format(10, n)))  # fmt: skip
            found = await read_events(reader, lambda got: got.count(b"truceline-finding-") >= 2)
            writer.close()
            return found

        markers = asyncio.run(talk())
        # echoes of what we sent are never evidence: send the zones back
        assert b"Not yet jointly verified." in markers
        assert b"Clause M1" in markers and b"Clause M2" in markers
    with demo_engine.connect() as conn:
        clauses = set(conn.execute(select(t.findings.c.clause_id)).scalars())
        runs = count(demo_engine, t.assessment_runs)
    assert {"M1", "M2"} <= clauses and runs >= 1  # nobody ran `truceline assess`


def test_what_truceline_sent_and_a_client_sends_back_is_ignored_never_evidence(
    demo_engine: Engine,
) -> None:
    with listening(demo_engine, udp=False) as running:
        port = running.listener.ports.tcp

        async def talk() -> None:
            reader, writer, tx = await connect(f"tcp://127.0.0.1:{port}")
            zones = await read_events(reader, lambda got: b"truceline-zone-corridor" in got)
            await tx.send_data(zones)  # a TAK server that relays everything back
            writer.close()

        asyncio.run(talk())
        shapes = len(running.sink.mission.zones)
        wait_for(lambda: running.sink.counts.ignored >= shapes, what="the echoes ignored")
        assert running.sink.counts.stored == 0 and running.sink.counts.rejected == 0
    assert count(demo_engine, t.observations) == 0


def test_tls_needs_a_client_certificate_signed_by_the_centre_s_ca(
    demo_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    centre, stranger = Authority(tmp_path), Authority(tmp_path, "Other CA")
    server = centre.issue("listener", server=True)
    device, rogue = centre.issue("ANDROID-green-1"), stranger.issue("ANDROID-rogue")
    files = TlsFiles(server.cert, server.key, centre.files.cert)
    with listening(demo_engine, tls_files=files, udp=False) as running:
        url = f"tls://127.0.0.1:{running.listener.ports.tls}"

        async def refused_with(**cert: str) -> bytes:
            """What a client gets back, and sends, without a certificate of the centre's CA."""
            if cert:
                reader, writer, _ = await connect(url, PYTAK_TLS_CLIENT_CAFILE=str(
                    centre.files.cert), **cert)  # fmt: skip
            else:  # pytak always presents one: a plain TLS client presents none
                context = ssl.create_default_context(cafile=str(centre.files.cert))
                reader, writer = await asyncio.open_connection("127.0.0.1",
                    running.listener.ports.tls, ssl=context)  # fmt: skip
            got = b""
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.TimeoutError):
                writer.write(
                    event("rogue-1", "a-h-G", 40.0, 47.0, WHEN.format(0, 0), MARKER.decode())
                )
                await writer.drain()
                got = await asyncio.wait_for(reader.read(65536), 5)
            writer.close()
            return got

        async def talk() -> bytes:
            assert await refused_with() == b""  # no certificate: nothing, not even the zones
            assert await refused_with(PYTAK_TLS_CLIENT_CERT=str(rogue.cert),
                                      PYTAK_TLS_CLIENT_KEY=str(rogue.key)) == b""  # fmt: skip
            reader, writer, tx = await connect(url, PYTAK_TLS_CLIENT_CERT=str(device.cert),
                PYTAK_TLS_CLIENT_KEY=str(device.key),
                PYTAK_TLS_CLIENT_CAFILE=str(centre.files.cert))  # fmt: skip
            zones = await read_events(reader, lambda got: b"truceline-zone-corridor" in got)
            await tx.send_data(event("m-2", "a-h-G", 40.3, 46.7, WHEN.format(1, 0),
                                     MARKER.decode()))  # fmt: skip
            await tx.send_data(b"<event uid='m-3'><broken></event>")
            await asyncio.to_thread(wait_for, lambda: running.sink.counts.observations == 1)
            await asyncio.to_thread(wait_for, lambda: running.sink.counts.rejected == 1)
            writer.close()
            return zones

        assert b"truceline-zone-" in asyncio.run(talk())
        assert running.listener.connections == 1  # the refused clients were never read
        assert running.listener.refused == 2
    # what a device sent wrong is logged with its certificate's name
    assert any("(ANDROID-green-1): byte" in r.getMessage() and "rejected" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    with demo_engine.connect() as conn:
        sources = list(conn.execute(select(t.observations.c.record_id)).scalars())
    assert len(sources) == 1  # the device's marker, and nothing of the refused clients


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10 if n > 1 else b"&lol;" * 10)
               for n in range(1, 10))
    + b']><event uid="laughs" type="a-h-G" time="2020-11-21T08:00:00Z"><point lat="40" '
    b'lon="47"/><detail><remarks>&lol9;</remarks></detail></event>'
)  # fmt: skip
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<event uid="xxe" type="a-h-G" time="2020-11-21T08:00:00Z"><point lat="40" lon="47"/>'
    b"<detail><remarks>&x;</remarks></detail></event>"
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE event SYSTEM "http://192.0.2.1/cot.dtd">'
    b'<event uid="dtd" type="a-h-G" time="2020-11-21T08:00:00Z"><point lat="40" lon="47"/>'
    b"</event>"
)


def test_xml_attacks_over_a_live_feed_are_refused_one_by_one_and_the_feed_goes_on(
    demo_engine: Engine,
) -> None:
    endless = b'<event uid="endless" type="a-h-G"><detail><remarks>' + b"x" * (1 << 20)
    good = event("m-3", "a-h-G", 40.3, 46.7, WHEN.format(1, 0), MARKER.decode())
    with listening(demo_engine, udp=False) as running:
        port = running.listener.ports.tcp

        async def talk() -> None:
            _, writer, tx = await connect(f"tcp://127.0.0.1:{port}")
            for attack in (BILLION_LAUGHS, XXE, EXTERNAL_DTD, endless):
                await tx.send_data(attack)
            await tx.send_data(good)  # after a megabyte of an event that never ends
            await asyncio.to_thread(wait_for, lambda: running.sink.counts.observations == 1)
            assert not writer.is_closing()
            writer.close()

        asyncio.run(talk())
        wait_for(lambda: running.sink.counts.rejected == 4, what="four attacks refused")
    with demo_engine.connect() as conn:
        stored = list(conn.execute(select(t.observations.c.description)).scalars())
    assert stored == ["column"]  # the good marker only: nothing of the attacks


def test_sigterm_commits_what_the_listener_holds_prints_the_counts_and_exits_0(
    demo_engine: Engine, db_url: str, tmp_path: Path
) -> None:
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "truceline", "listen", "cot", "--tcp", str(port), "--reporter",
         "green", "--db", db_url, "--key-dir", str(tmp_path / "keys")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        while "listening" not in line:
            assert line, "the listener stopped before it listened"
            line = server.stderr.readline()
        with socket.create_connection(("127.0.0.1", port)) as sender:
            sender.sendall(b"".join(
                event(f"ANDROID-green-{n}", "a-f-G-U-C", 40.1, 46.9, WHEN.format(5, n))
                for n in range(50)
            ))  # fmt: skip
            while "connected" not in line:  # accepted: what it sent is the listener's now
                line = server.stderr.readline()
                assert line, "the listener stopped"
        server.send_signal(signal.SIGTERM)  # at once: what it holds is committed, not lost
        out, err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["positions"] == 50
    assert count(demo_engine, t.positions) == 50


def test_plain_tcp_and_udp_bound_beyond_the_loopback_say_they_carry_no_authentication(
    demo_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="exposed")

    async def bind(host: str) -> None:
        listener = CotListener(sink, host=host, tcp=0, udp=0)
        await listener.start()
        await listener.close()

    with caplog.at_level(logging.WARNING, logger="truceline.feeds"):
        asyncio.run(bind("127.0.0.1"))
        assert not caplog.records
        asyncio.run(bind("0.0.0.0"))
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and all("no authentication" in s and "green" in s for s in said)
    assert {"plain TCP", "plain UDP"} == {s.split(" on ")[0] for s in said}


def test_a_trickle_of_events_is_committed_about_once_a_second_not_once_per_event(
    demo_engine: Engine,
) -> None:
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="trickle")
    sink.start()
    try:
        for n in range(30):  # one event every 50 ms for 1.5 s
            fix = event(f"ANDROID-green-{n}", "a-f-G-U-C", 40.1, 46.9, WHEN.format(6, n))
            sink.offer("tcp test", cot.RawEvent(0, fix), None)
            time.sleep(0.05)
        wait_for(lambda: sink.counts.positions == 30, what="the trickle stored")
    finally:
        sink.stop()
    assert sink.counts.batches <= 4  # 1.5 s of events: two or three batches, not thirty
    assert count(demo_engine, t.import_batches) == sink.counts.batches


def test_an_event_at_an_impossible_point_is_rejected_alone_and_logged_on_one_line(
    demo_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="poison")
    sink.start()
    huge = event("m-9", "b-m-p-s-m", 1e302, 46.7, WHEN.format(7, 0))  # lat 1e302
    forged = event(
        "x\n2026-12-01 INFO tls 10.0.0.9:1: BLUE-P1 connected",
        "a-h-G",
        1e302,
        46.7,
        WHEN.format(7, 1),
    )  # a newline in a uid: one log line, escaped
    good = event("ANDROID-green-3", "a-f-G-U-C", 40.1, 46.9, WHEN.format(7, 2))
    try:
        with caplog.at_level(logging.WARNING, logger="truceline.feeds"):
            for raw in (huge, forged, good):
                sink.offer("udp 10.0.0.7:4242", cot.RawEvent(0, raw), None)
            wait_for(lambda: sink.counts.positions == 1 and sink.counts.rejected == 2)
            later = event("ANDROID-green-3", "a-f-G-U-C", 40.2, 46.9, WHEN.format(7, 3))
            sink.offer("udp 10.0.0.7:4242", cot.RawEvent(0, later), None)
            wait_for(lambda: sink.counts.positions == 2, what="the feed going on")
    finally:
        sink.stop()
    said = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(said) == 2 and all("\n" not in line for line in said)
    assert any("between -90 and 90" in line for line in said)


def test_a_live_event_from_long_ago_or_from_the_future_is_rejected_not_assessed(
    demo_engine: Engine,
) -> None:
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="clocks")
    sink.start()
    try:
        for when in ("1970-01-01T00:00:05Z", "2099-12-31T00:00:00Z", WHEN.format(8, 0)):
            fix = event("ANDROID-green-5", "a-f-G-U-C", 40.1, 46.9, when)
            sink.offer("tcp 127.0.0.1:1", cot.RawEvent(0, fix), None)
        wait_for(lambda: sink.counts.rejected == 2 and sink.counts.positions == 1)
    finally:
        sink.stop()
    with demo_engine.connect() as conn:
        runs = conn.execute(select(t.assessment_runs.c.window_from_us)).scalars().all()
    assert runs and all(w is None or w > 1_000_000_000 * 1_000_000 for w in runs)


@pytest.mark.parametrize("limit", ["events", "bytes"])
def test_a_reader_pauses_while_the_store_is_behind_and_nothing_sent_is_lost(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    import socket

    from truceline.feeds import sink as feed_sink

    one = len(event("ANDROID-green-0", "a-f-G-U-C", 40.1, 46.9, WHEN.format(9, 0)))
    if limit == "events":
        monkeypatch.setattr(feed_sink, "HIGH_WATER", 200)
    else:  # what a client sending long events meets first: a bound on bytes
        monkeypatch.setattr(feed_sink, "MAX_HELD_BYTES", 200 * one)
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="behind")
    listener = CotListener(sink, tcp=0)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(listener.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(listener.close())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    sent = 3000
    data = b"".join(event(f"ANDROID-green-{n}", "a-f-G-U-C", 40.1, 46.9, WHEN.format(9, n % 60))
                    for n in range(sent))  # fmt: skip
    try:
        with socket.create_connection(("127.0.0.1", listener.ports.tcp)) as sender:
            sender.sendall(data)
            time.sleep(1.0)  # nothing commits yet: the sink is not started
            held = sink.backlog
            assert 200 < held < sent  # it read past the mark once, then stopped reading
            sink.start()  # the store catches up: the reader goes on
            wait_for(lambda: sink.counts.positions == sent, what="everything sent")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        sink.stop()
    assert count(demo_engine, t.positions) == sent


def test_a_flood_s_first_batches_are_small_and_each_is_at_most_twice_the_one_before(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood's first events are stored soon, not after a pipeline of full batches; then
    batches grow to max_events (fewer entries in the signed log, less overhead)."""
    monkeypatch.setattr(sink_module, "FIRST_BATCH", 3)
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="flood", max_events=10)
    raws = [
        cot.RawEvent(n * 1000, event(f"ANDROID-green-{n}", "a-f-G-U-C", 40.1, 46.9,
                                     WHEN.format(10, n % 60)))
        for n in range(40)
    ]  # fmt: skip
    sink.offer_all("tcp flood", raws, None)  # all at once, before the committer starts
    sink.start()
    try:
        wait_for(lambda: sink.counts.positions == 40, what="the flood stored")
    finally:
        sink.stop()
    with demo_engine.connect() as conn:
        rows = conn.execute(
            select(t.import_batches.c.rows).where(t.import_batches.c.source_name == "flood")
            .order_by(t.import_batches.c.id)
        ).scalars().all()  # fmt: skip
    assert list(rows) == [3, 6, 10, 10, 10, 1]


def test_a_sink_s_worker_processes_are_running_once_it_has_started(demo_engine: Engine) -> None:
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="warm", worker=True)
    sink.start()
    try:
        assert sink._pool is not None and sink._assessor is not None
        workers = [*sink._pool._processes.values(), *sink._assessor._processes.values()]
        assert len(workers) == sink_module.PREPARERS + 1
        assert all(p.is_alive() for p in workers)
    finally:
        sink.stop()


def test_a_batch_not_stored_lets_no_later_batch_acknowledge_its_messages(
    demo_engine: Engine,
) -> None:
    """A message of more events than a batch holds is acknowledged by the batch that takes
    its last events: when an earlier batch of it is lost, that acknowledgement must not be
    sent, or the broker would never deliver the lost events again."""
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="lost", max_events=2,
                    worker=True)  # fmt: skip
    real_store, calls = sink._store, []

    def store_failing_first(built: Any, count: int) -> Any:
        calls.append(count)
        time.sleep(0.3)  # the later batches are taken meanwhile
        return None if len(calls) == 1 else real_store(built, count)

    sink._store = store_failing_first  # type: ignore[method-assign]
    acked: list[int] = []
    raws = [
        cot.RawEvent(n * 1000, event(f"ANDROID-green-{n}", "a-f-G-U-C", 40.1, 46.9,
                                     WHEN.format(9, n)))
        for n in range(6)
    ]  # fmt: skip
    sink.offer_all("mqtt t 1", raws, lambda: acked.append(1))
    sink.start()
    try:
        wait_for(lambda: len(calls) >= 3, what="three batches")
    finally:
        sink.stop()
    assert calls[:3] == [2, 2, 2]
    assert sink.counts.positions == 4  # the two later batches were stored
    assert acked == []  # but the message is not acknowledged: the broker delivers it again
