"""Benchmark: `listen cot` under load, and the time from an event's arrival to its finding.

`python -m truceline listen cot` runs as a real subprocess on a fresh database of the demo
mission. Sender processes (4 by default) replay pre-serialised CoT events over TCP for a
duration, as fast as the listener takes them or paced with `--rate`: a mix of ATAK
self-reports of 10,000 undeclared friendly (green) devices moving (`--devices`), each once a
second of data time, markers they place
(`a-h-G` with a `p-p` link and remarks), and 1% malformed events, each a new identity.

The listener stops reading a connection while its sink holds more than `HIGH_WATER` events
not yet committed, so TCP holds the senders back. `--window N` adds the bench's own limit:
a sender also waits while more than N good events are sent and not yet stored (read from the
database every 0.1 s), which bounds what is in flight, the commit under way included.

Prints what was sent, stored, rejected and lost, and the stored events/s sustained (from the
first byte sent to the last commit; also over the steady middle of that, from the highest ids
sampled once a second) beside the raw parse rate of the same events with plain lxml (its best
of 3 passes over an even sample, in a fresh process), measured in the same run. Targets: at
least 10,000 events/s sustained, nothing lost, at least 30% of the raw parse rate.

Then, with `truceline serve` on the same database, 20 short tracks of undeclared green units
in the peacekeeping area (clauses M1 and M2 make findings of them), one at a time, 1-2 s
apart, on an otherwise idle listener: the time from the send of a track's last fix to its
finding on `/api/v1/events` (SSE), and to the finding's marker coming back on the sender's
own TAK connection. Prints p50 and p99.

    python bench/feeds.py [--seconds 60] [--senders 4] [--rate 0] [--window 200000]
                          [--skip-latency] [--signed] [--profile PREFIX]
                          [--db sqlite:///FRESH.db | postgresql+psycopg://USER@HOST:PORT/]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from sqlalchemy import Engine, create_engine, make_url, text

from truceline.demo import MISSION_FILE
from truceline.feeds.sink import ORPHAN_CHECK_S
from truceline.ingest import cot
from truceline.services.accounts import add_user
from truceline.services.ledger import KeyRing
from truceline.services.missions import init_database
from truceline.store.db import make_engine

# The demo mission's area (lat 39.6-40.6, lon 46.4-47.6); the devices move inside it.
LAT_MIN, LAT_MAX, LON_MIN, LON_MAX = 39.6, 40.6, 46.4, 47.6
MARKER_SHARE = 0.10  # of the events: markers placed by the devices; the rest self-reports
MALFORMED_SHARE = 0.01  # of the events: malformed, each to be rejected
SLICE_BYTES = 256 * 1024  # what a sender hands to one sendall (cut at an event's end)
TARGET_RATE, TARGET_SHARE = 10_000, 0.30
SETTLE_S = 120.0  # nothing more stored this long after the senders stopped: it holds no more
PASSWORD = "bench-feeds-Kestrel-lantern-9041"
LATENCY_SAMPLES, LATENCY_TIMEOUT_S = 20, 30.0
PEACEKEEPING = (39.82, 46.75)  # inside the peacekeeping area: clauses M1 and M2
REMARKS = (
    "column of 4 vehicles heading north",
    "dug-in position, 2 soldiers seen",
    "checkpoint manned",
    "armoured vehicle parked by the road",
    "group of 10 on foot",
)
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
TAKV = (
    '<takv os="31" version="4.10.0.57 (a1b2c3d4).1700000000-CIV" device="SAMSUNG SM-G991B" '
    'platform="ATAK-CIV"/>'
)


# --- the events ---------------------------------------------------------------------------


def _stamp(seconds: float) -> str:
    """CoT's time: UTC with milliseconds and a Z."""
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + (
        f".{int((seconds - whole) * 1000):03d}Z"
    )


@dataclass(slots=True)
class Device:
    uid: str
    callsign: str
    lat: float
    lon: float
    course: float
    speed: float
    offset: float  # its fixes' fraction of a second (devices do not report in step)
    fixes: int = 0
    battery: int = 100


SELF_REPORT = (
    DECLARATION + '<event version="2.0" uid="{uid}" type="a-f-G-U-C" time="{t}" start="{t}" '
    'stale="{stale}" how="m-g"><point lat="{lat:.7f}" lon="{lon:.7f}" hae="{hae:.1f}" '
    'ce="{ce:.1f}" le="9999999.0"/><detail>' + TAKV + '<contact endpoint="*:-1:stcp" '
    'callsign="{callsign}"/><uid Droid="{callsign}"/><precisionlocation altsrc="GPS" '
    'geopointsrc="GPS"/><__group role="Team Member" name="Green"/><status battery="{battery}"/>'
    '<track course="{course:.1f}" speed="{speed:.2f}"/></detail></event>'
)
MARKER = (
    DECLARATION + '<event version="2.0" uid="{uid}" type="a-h-G" time="{t}" start="{t}" '
    'stale="{stale}" how="h-g-i-g-o"><point lat="{lat:.7f}" lon="{lon:.7f}" hae="9999999.0" '
    'ce="9999999.0" le="9999999.0"/><detail><status readiness="true"/><archive/><link '
    'uid="{producer}" production_time="{t}" type="a-f-G-U-C" parent_callsign="{callsign}" '
    'relation="p-p"/><contact callsign="{name}"/><remarks>{remarks}</remarks><archive/>'
    '<color argb="-1"/><precisionlocation altsrc="???"/>'
    '<usericon iconsetpath="COT_MAPPING_2525B/a-h/a-h-G"/></detail></event>'
)
# Malformed, three ways, each a whole event (its </event> there) rejected on its own: an
# unclosed element, a latitude that is not a number, a latitude out of range.
BROKEN = (
    ("<contact ", '<contact broken="yes">', "</detail>"),
    ('lat="', 'lat="4O.', ""),
    ('lat="', 'lat="9', ""),
)

SELF, MARK, BAD = 0, 1, 2


def events(sender: int, senders: int, count: int, base_s: float, devices: int, seed: int
           ) -> Iterator[tuple[int, bytes]]:  # fmt: skip
    """Sender `sender`'s events (of `senders`), each with its kind: its own devices (every
    `senders`-th of `devices`) report once a second of data time from `base_s`, moving; now and
    then one places a marker near itself; 1% are malformed. The same arguments give the same
    events (the raw parse is of the same bytes)."""
    rng = random.Random(seed * 1_000 + sender)
    own = []
    for n in range(sender, max(devices, senders), senders):
        own.append(Device(
            uid=f"ANDROID-{random.Random(n).getrandbits(64):016x}", callsign=f"GREEN-{n:03d}",
            lat=rng.uniform(LAT_MIN + 0.05, LAT_MAX - 0.05),
            lon=rng.uniform(LON_MIN + 0.05, LON_MAX - 0.05),
            course=rng.uniform(0, 360), speed=rng.uniform(0.5, 15), offset=rng.random() * 0.999,
        ))  # fmt: skip
    for i in range(count):
        d = own[i % len(own)]
        draw = rng.random()
        moment = base_s + d.fixes + d.offset
        stamp = _stamp(moment)
        stale = _stamp(moment + 120)
        if MALFORMED_SHARE <= draw < MALFORMED_SHARE + MARKER_SHARE:
            bearing = rng.uniform(0, 2 * math.pi)
            reach = rng.uniform(200, 3000) / 111_320
            lat = min(LAT_MAX, max(LAT_MIN, d.lat + reach * math.cos(bearing)))
            lon = min(LON_MAX, max(LON_MIN, d.lon + reach * math.sin(bearing)))
            text_ = MARKER.format(
                uid=uuid.UUID(int=rng.getrandbits(128), version=4), t=stamp, stale=stale,
                lat=lat, lon=lon, producer=d.uid, callsign=d.callsign,
                name=f"H.{sender}.{i}", remarks=REMARKS[i % len(REMARKS)],
            )  # fmt: skip
            yield MARK, text_.encode()
            continue
        d.fixes += 1
        d.course = (d.course + rng.uniform(-15, 15)) % 360
        d.speed = min(20.0, max(0.0, d.speed + rng.uniform(-1, 1)))
        rad = math.radians(d.course)
        d.lat += d.speed * math.cos(rad) / 111_320
        d.lon += d.speed * math.sin(rad) / (111_320 * math.cos(math.radians(d.lat)))
        if not LAT_MIN < d.lat < LAT_MAX or not LON_MIN < d.lon < LON_MAX:  # turn back
            d.lat = min(LAT_MAX, max(LAT_MIN, d.lat))
            d.lon = min(LON_MAX, max(LON_MIN, d.lon))
            d.course = (d.course + 180) % 360
        if i % 600 == 0:
            d.battery = max(5, d.battery - 1)
        text_ = SELF_REPORT.format(
            uid=d.uid, t=stamp, stale=stale, lat=d.lat, lon=d.lon, hae=rng.uniform(300, 900),
            ce=rng.uniform(3, 15), callsign=d.callsign, battery=d.battery, course=d.course,
            speed=d.speed,
        )  # fmt: skip
        if draw < MALFORMED_SHARE:
            old, new, drop = BROKEN[i % len(BROKEN)]
            text_ = text_.replace(old, new, 1)
            if drop:
                text_ = text_.replace(drop, "", 1)
            yield BAD, text_.encode()
        else:
            yield SELF, text_.encode()


@dataclass
class Slice:
    end: int  # byte offset in the sender's buffer
    events: int  # events up to here (cumulative), and of each kind
    kinds: tuple[int, int, int]


def serialise(sender: int, senders: int, count: int, base_s: float, devices: int, seed: int
              ) -> tuple[bytes, list[Slice]]:  # fmt: skip
    """A sender's events as one buffer, and where to cut it (at events' ends)."""
    parts: list[bytes] = []
    slices: list[Slice] = []
    kinds = [0, 0, 0]
    size = since = 0
    for n, (kind, data) in enumerate(events(sender, senders, count, base_s, devices, seed), 1):
        parts.append(data)
        kinds[kind] += 1
        size += len(data)
        since += len(data)
        if since >= SLICE_BYTES or n == count:
            slices.append(Slice(size, n, (kinds[0], kinds[1], kinds[2])))
            since = 0
    return b"".join(parts), slices


# --- the senders --------------------------------------------------------------------------


@dataclass
class Sent:
    sender: int
    first: float = 0.0  # monotonic: its first byte sent
    done: float = 0.0  # its last sendall returned
    events: int = 0
    kinds: tuple[int, int, int] = (0, 0, 0)
    bytes: int = 0
    dry: bool = False  # it sent all it had before the time was up
    cpu_s: float = 0.0  # the sender process's CPU time while sending
    received: int = 0  # bytes the listener sent it (zones, findings)
    markers: int = 0  # finding markers among them
    waited_s: float = 0.0  # for the window (the listener's backlog)
    error: str = ""


def _drain(sock: socket.socket, into: Sent) -> None:
    """Read what the listener sends (as a TAK client does): zones, then findings."""
    tail = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(1 << 16):
            into.received += len(chunk)
            window = tail + chunk
            into.markers += window.count(b'uid="truceline-finding-') - tail.count(
                b'uid="truceline-finding-'
            )
            tail = window[-64:]


@dataclass
class Flow:
    """What the senders share: the good events they have sent in all, and (from the bench's
    sampler) how many are stored. A sender waits while more than `window` are in flight."""

    sent: Any  # multiprocessing Value("q"), with its lock
    stored: Any  # multiprocessing Value("q")
    window: int  # 0: no window, only TCP's own


def sender_main(
    index: int, senders: int, count: int, base_s: float, devices: int, seed: int,
    port: int, seconds: float, rate: float, flow: Flow, ready: Any, start: Any, results: Any,
) -> None:  # fmt: skip
    sent = Sent(index)
    try:
        buffer, slices = serialise(index, senders, count, base_s, devices, seed)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        reader = threading.Thread(target=_drain, args=(sock, sent), daemon=True)
        reader.start()
        ready.put(index)
        start.wait()
        view = memoryview(buffer)
        per_s = rate / senders if rate else 0.0
        cpu = time.process_time()
        sent.first = time.monotonic()
        deadline = sent.first + seconds
        at = 0
        for piece in slices:
            now = time.monotonic()
            if now >= deadline:
                break
            if per_s:
                due = sent.first + sent.events / per_s
                if due > now:
                    time.sleep(min(due, deadline) - now)
                    if time.monotonic() >= deadline:
                        break
            if flow.window:
                while flow.sent.value - flow.stored.value > flow.window:
                    if time.monotonic() >= deadline:
                        break
                    sent.waited_s += 0.005
                    time.sleep(0.005)
                if time.monotonic() >= deadline:
                    break
            sock.sendall(view[at : piece.end])
            good = piece.kinds[SELF] + piece.kinds[MARK] - sent.kinds[SELF] - sent.kinds[MARK]
            with flow.sent.get_lock():
                flow.sent.value += good
            at, sent.events, sent.kinds = piece.end, piece.events, piece.kinds
        else:
            sent.dry = True
        sent.done = time.monotonic()
        sent.cpu_s = time.process_time() - cpu
        sent.bytes = at
        sock.shutdown(socket.SHUT_WR)  # the listener reads to the end, then closes
        reader.join(timeout=600)
        sock.close()
    except Exception as exc:  # reported by the bench, not lost in a child's stderr
        sent.error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            ready.put(index)
    results.put(sent)


# --- the processes under test -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Child:
    """A truceline subprocess, its stderr in a file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._err = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=self._err, text=True,
            env={**os.environ, "COLUMNS": "500", "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    def wait_for(self, words: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.log.read_text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log.name} exited:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.log.name}: no {words!r} in {timeout:.0f} s")
            time.sleep(0.05)

    def usage(self) -> tuple[float, float]:
        """CPU seconds used so far, and the peak resident memory in MB (from /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
            peak = re.search(r"VmHWM:\s+(\d+) kB", status)
            return cpu, (int(peak.group(1)) / 1024 if peak else 0.0)
        except (OSError, IndexError, ValueError):
            return 0.0, 0.0

    def stop(self, timeout: float = 600) -> str:
        """SIGTERM, and what it printed on stdout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        finally:
            self.kill()
        return out or ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._err.close()


# `python -m cProfile` profiles the main thread only, and the listener's main thread only
# waits for a signal: this runs the CLI with a profiler in every thread, each written to
# PREFIX-<thread>.prof as the thread ends (the listener joins them all as it stops).
PROFILE_BOOT = """
import cProfile, runpy, sys, threading
prefix = sys.argv.pop(1)
run = threading.Thread.run
def profiled(self):
    profile = cProfile.Profile()
    profile.enable()
    try:
        run(self)
    finally:
        profile.disable()
        profile.dump_stats(f"{prefix}-{self.name}.prof")
threading.Thread.run = profiled
sys.argv[0] = "truceline"
main = cProfile.Profile()
main.enable()
try:
    runpy.run_module("truceline", run_name="__main__", alter_sys=True)
finally:
    main.disable()
    main.dump_stats(f"{prefix}-main.prof")
"""


def listener_args(port: int, url: str, keys: Path | None, profile: str | None = None
                  ) -> list[str]:  # fmt: skip
    head = ["-c", PROFILE_BOOT, profile] if profile else ["-m", "truceline"]
    args = [*head, "listen", "cot", "--tcp", str(port), "--reporter", "green", "--db", url]
    return [*args, "--key-dir", str(keys)] if keys is not None else args


# --- counting what is stored --------------------------------------------------------------

COUNT = text("SELECT (SELECT count(*) FROM positions) + (SELECT count(*) FROM observations)")
# Cheap (an index's last entry), for the window: ids are given in order and none is deleted.
PROGRESS = text(
    "SELECT (SELECT coalesce(max(id), 0) FROM positions)"
    " + (SELECT coalesce(max(id), 0) FROM observations)"
)


def stored_now(engine: Engine, query: Any = COUNT) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


class Sampler:
    """In a thread of its own: the highest ids of positions and observations once a second
    (the samples; cheap, where a `count(*)` of millions of rows would take CPU from the
    listener), and every 0.1 s for the senders' window."""

    def __init__(self, engine: Engine, flow: Flow, every: float = 1.0) -> None:
        self.engine, self.flow, self.every = engine, flow, every
        self.samples: list[tuple[float, int]] = []  # (monotonic after the count, count)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                if time.monotonic() >= next_at:
                    value = stored_now(self.engine, PROGRESS)
                    self.samples.append((time.monotonic(), value))
                    next_at += self.every
                    self.flow.stored.value = value
                else:
                    self.flow.stored.value = stored_now(self.engine, PROGRESS)
            self._stop.wait(min(0.1, max(0.0, next_at - time.monotonic())))


def steady_rate(samples: list[tuple[float, int]], begin: float, end: float) -> float | None:
    """Stored events/s between the first and last samples in the middle 60% of [begin, end]
    (from the first byte sent to the last commit)."""
    span = end - begin
    middle = [s for s in samples if begin + 0.2 * span <= s[0] <= begin + 0.8 * span]
    if len(middle) < 2 or middle[-1][0] <= middle[0][0]:
        return None
    return (middle[-1][1] - middle[0][1]) / (middle[-1][0] - middle[0][0])


# --- the database -------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    folder: Path  # temp files: the SQLite file (by default), keys, logs
    keys: Path | None
    dropped: list[str] = field(default_factory=list)  # PostgreSQL databases made here
    admin: str | None = None

    def cleanup(self) -> None:
        if self.admin is not None:
            engine = create_engine(self.admin, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    for name in self.dropped:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            finally:
                engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def fresh_database(given: str | None, signed: bool) -> Database:
    folder = Path(tempfile.mkdtemp(prefix="truceline-bench-feeds-"))
    keys = folder / "keys" if signed else None
    if given is None:
        db = Database(f"sqlite:///{folder / 'feeds.db'}", folder, keys)
    elif given.startswith("postgresql"):
        # A fresh database on that server (whatever database the URL names), dropped after.
        server = make_url(given)
        admin = server.set(database="postgres").render_as_string(hide_password=False)
        name = f"truceline_bench_feeds_{uuid.uuid4().hex[:10]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        url = server.set(database=name).render_as_string(hide_password=False)
        db = Database(url, folder, keys, [name], admin)
    else:
        path = make_url(given).database
        if not given.startswith("sqlite") or not path:
            raise SystemExit(f"--db: a sqlite:///FILE or postgresql+psycopg://… URL, not {given}")
        if Path(path).exists():
            raise SystemExit(f"--db: {path} exists; the bench needs a fresh database")
        db = Database(given, folder, keys)  # the file named is kept
    engine = make_engine(db.url)
    try:
        init_database(engine, MISSION_FILE, keyring=KeyRing(keys) if keys else None,
                      generate_keys=signed)  # fmt: skip
    finally:
        engine.dispose()
    return db


# --- 1. the rate --------------------------------------------------------------------------


@dataclass
class Throughput:
    sent: list[Sent]
    counts: dict[str, int]
    first: float
    last_commit: float
    sending_end: float
    steady: float | None
    cpu_s: float
    peak_mb: float
    stored_db: int
    settled: bool

    @property
    def events(self) -> int:
        return sum(s.events for s in self.sent)

    def kind(self, k: int) -> int:
        return sum(s.kinds[k] for s in self.sent)

    @property
    def stored(self) -> int:
        return self.counts.get("positions", 0) + self.counts.get("observations", 0)

    @property
    def lost(self) -> int:
        return (
            self.events
            - self.stored
            - self.counts.get("rejected", 0)
            - self.counts.get("duplicates", 0)
        )

    @property
    def rate(self) -> float:
        return self.stored / max(1e-9, self.last_commit - self.first)


def throughput(db: Database, args: argparse.Namespace, base_s: float) -> Throughput:
    port = free_port()
    listener = Child(listener_args(port, db.url, db.keys, args.profile),
                     db.folder / "listen-rate.log")  # fmt: skip
    ctx = mp.get_context("fork")  # before any thread of ours: the senders start clean
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    flow = Flow(ctx.Value("q", 0), ctx.Value("q", 0, lock=False), args.window)
    per_sender = math.ceil(args.max_rate * args.seconds / args.senders)
    procs = []
    engine = make_engine(db.url)
    sampler = Sampler(engine, flow)
    try:
        listener.wait_for("listening")
        for k in range(args.senders):
            procs.append(ctx.Process(target=sender_main, args=(
                k, args.senders, per_sender, base_s, args.devices, args.seed, port,
                args.seconds, args.rate, flow, ready, start, results,
            ), daemon=True))  # fmt: skip
            procs[-1].start()
        window = (f"at most {args.window:,} events in flight" if args.window
                  else "TCP back-pressure only")  # fmt: skip
        print(f"  (each sender serialises {per_sender:,} events beforehand; {window}) …",
              flush=True)  # fmt: skip
        for _ in procs:
            ready.get(timeout=600)
        sampler.start()
        start.set()
        sent = [results.get(timeout=args.seconds + 600) for _ in procs]
        for s in sent:
            if s.error:
                raise RuntimeError(f"sender {s.sender}: {s.error}")
        sending_end = max(s.done for s in sent)
        first = min(s.first for s in sent)
        expected = sum(s.kinds[SELF] + s.kinds[MARK] for s in sent)
        # What the listener still holds is committed: poll every 0.1 s until every good event
        # sent is stored, or nothing more is for SETTLE_S (a commit of 100,000 events takes
        # seconds).
        last_value, last_change = -1, time.monotonic()
        settled = False
        while True:
            time.sleep(0.1)
            value = stored_now(engine, PROGRESS)
            at = time.monotonic()
            if value != last_value:
                last_value, last_change = value, at
            if value >= expected:
                settled = True
                break
            if at - last_change > SETTLE_S or listener.proc.poll() is not None:
                break
        last_commit = last_change
        last_value = stored_now(engine)
        cpu_s, peak_mb = listener.usage()
        sampler.stop()
        out = listener.stop()
        counts = json.loads(out.strip().splitlines()[-1])
        stored_db = stored_now(engine)
        if stored_db > last_value:  # committed only at SIGTERM: its end is the last commit
            last_commit = time.monotonic()
        steady = steady_rate(sampler.samples, first, last_commit)
        return Throughput(sent, counts, first, last_commit, sending_end, steady, cpu_s,
                          peak_mb, stored_db, settled)  # fmt: skip
    finally:
        sampler.stop()
        start.set()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        listener.kill()
        engine.dispose()


# --- 2. the raw parse ---------------------------------------------------------------------


def same_events(sent: list[Sent], args: argparse.Namespace, base_s: float) -> list[bytes]:
    """Every event the senders sent, regenerated (the same seed: the same bytes)."""
    every: list[bytes] = []
    for s in sent:
        every += [data for _, data in events(
            s.sender, args.senders, s.events, base_s, args.devices, args.seed)]  # fmt: skip
    return every


RAW_PASSES, RAW_SAMPLE = 3, 400_000


def raw_parse_rate(every: list[bytes]) -> tuple[float, int, int]:
    """Plain `lxml.etree.fromstring` over the events, in a fresh process holding only them:
    the best of RAW_PASSES passes over an even sample of at most RAW_SAMPLE of them (the
    baseline at its fastest, so neither a busy moment of the machine nor this process's large
    heap flatters our share), events/s; how many it refused (the malformed ones) and how many
    it parsed a pass."""
    sample = every[:: max(1, len(every) // RAW_SAMPLE)]
    with mp.get_context("spawn").Pool(1) as pool:
        best, refused = pool.apply(_raw_passes, (sample,))
    return best, refused, len(sample)


def _raw_passes(sample: list[bytes]) -> tuple[float, int]:
    fromstring, error = etree.fromstring, etree.XMLSyntaxError
    best, refused = 0.0, 0
    for _ in range(RAW_PASSES):
        refused = 0
        began = time.perf_counter()
        for data in sample:
            try:
                fromstring(data)
            except error:
                refused += 1
        best = max(best, len(sample) / (time.perf_counter() - began))
    return best, refused


def our_parse_rate(every: list[bytes]) -> float:
    """truceline's own `parse_event` and `classify` over the same events, one thread."""
    parse, classify, rejected = cot.parse_event, cot.classify, cot.Rejected
    began = time.perf_counter()
    for data in every:
        event = parse(data)
        if not isinstance(event, rejected):
            classify(event)
    return len(every) / (time.perf_counter() - began)


# --- 3. arrival to finding ----------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Arrivals:
    """When a unit's first finding arrived (monotonic), by unit uid, from one source."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.total = 0
        self.cond = threading.Condition()

    def seen(self, unit: str) -> None:
        with self.cond:
            self.total += 1
            self.at.setdefault(unit, time.monotonic())
            self.cond.notify_all()

    def wait(self, unit: str, until: float) -> float | None:
        with self.cond:
            while unit not in self.at:
                left = until - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.at[unit]


UNIT_IN_MARKER = re.compile(rb'finding="[^"]*unit:(ANDROID-latency-[A-Za-z0-9-]+):')


def read_sse(response: httpx.Response, into: Arrivals, connected: threading.Event) -> None:
    name = ""
    with contextlib.suppress(httpx.HTTPError, RuntimeError):
        for line in response.iter_lines():
            if line.startswith(": connected"):
                connected.set()
            elif line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name == "finding":
                finding = json.loads(line.split(":", 1)[1])
                unit = finding.get("unit") or ""
                if unit.startswith("ANDROID-latency-"):
                    into.seen(unit)
            elif not line:
                name = ""


def read_tak(sock: socket.socket, into: Arrivals) -> None:
    tail = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(1 << 16):
            window = tail + chunk
            for match in UNIT_IN_MARKER.finditer(window):
                if match.end() > len(tail):  # not one seen in the last chunk already
                    into.seen(match.group(1).decode())
            tail = window[-512:]


def track(uid: str, now: datetime) -> bytes:
    """Five fixes of an undeclared green unit walking north in the peacekeeping area."""
    lat, lon = PEACEKEEPING
    fixes = []
    for n in range(5):
        when = _stamp((now + timedelta(seconds=n - 5)).timestamp())
        stale = _stamp((now + timedelta(seconds=n + 115)).timestamp())
        fixes.append(SELF_REPORT.format(
            uid=uid, t=when, stale=stale, lat=lat + n / 1000, lon=lon, hae=450.0, ce=5.0,
            callsign=uid.removeprefix("ANDROID-"), battery=90, course=0.0, speed=1.4,
        ))  # fmt: skip
    return "".join(fixes).encode()


@dataclass
class Latency:
    sse: list[float]
    tak: list[float]
    missed_sse: int
    missed_tak: int


def latency(db: Database, samples: int) -> Latency:
    engine = make_engine(db.url)
    try:
        add_user(engine, "bench-feeds", role="officer", password=PASSWORD, contingent="blue",
                 keyring=KeyRing(db.keys) if db.keys else None)  # fmt: skip
    finally:
        engine.dispose()
    web_port, tak_port = free_port(), free_port()
    serve_args = ["-m", "truceline", "serve", "--port", str(web_port), "--db", db.url]
    if db.keys is not None:
        serve_args += ["--key-dir", str(db.keys)]
    server = Child(serve_args, db.folder / "serve.log")
    listener = Child(listener_args(tak_port, db.url, db.keys), db.folder / "listen-latency.log")
    base = f"http://127.0.0.1:{web_port}"
    sse, tak = Arrivals(), Arrivals()
    client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
    sock: socket.socket | None = None
    response: httpx.Response | None = None
    try:
        listener.wait_for("listening")
        deadline = time.monotonic() + 60
        while True:
            try:
                client.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.proc.poll() is not None:
                    log = server.log.read_text()[-3000:]
                    raise RuntimeError(f"serve did not start:\n{log}") from None
                time.sleep(0.1)
        token = client.post(f"{base}/api/v1/auth/token",
                            json={"username": "bench-feeds", "password": PASSWORD}
                            ).json()["access_token"]  # fmt: skip
        request = client.build_request(
            "GET",
            f"{base}/api/v1/events?seconds=3600",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = client.send(request, stream=True)
        response.raise_for_status()
        connected = threading.Event()
        threading.Thread(target=read_sse, args=(response, sse, connected), daemon=True).start()
        if not connected.wait(30):
            raise RuntimeError("the event stream did not connect")
        sock = socket.create_connection(("127.0.0.1", tak_port))
        threading.Thread(target=read_tak, args=(sock, tak), daemon=True).start()
        time.sleep(1.5)  # the stream's poller has read its first state
        run = uuid.uuid4().hex[:8]
        result = Latency([], [], 0, 0)
        jitter = random.Random(samples)
        for n in range(samples):
            uid = f"ANDROID-latency-{run}-{n:02d}"
            data = track(uid, datetime.now(UTC))
            sock.sendall(data)
            sent_at = time.monotonic()
            until = sent_at + LATENCY_TIMEOUT_S
            for arrivals, values in ((sse, result.sse), (tak, result.tak)):
                at = arrivals.wait(uid, until)
                if at is None:
                    if arrivals is sse:
                        result.missed_sse += 1
                    else:
                        result.missed_tak += 1
                else:
                    values.append(at - sent_at)
            # 1-2 s apart: a fixed 1 s would lock the sends in phase with the stream's poll
            # (once a second) and every sample would wait the same part of it.
            time.sleep(max(0.0, sent_at + jitter.uniform(1.0, 2.0) - time.monotonic()))
        return result
    finally:
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()
        client.close()
        if sock is not None:
            sock.close()
        with contextlib.suppress(Exception):
            listener.stop(timeout=120)
        listener.kill()
        with contextlib.suppress(Exception):
            server.stop(timeout=30)
        server.kill()


# --- the report ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the senders send")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--devices", type=int, default=10_000,
                        help="TAK devices, each once a second of data time (10,000: data time "
                        "runs as fast as real time at 10,000 events/s)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=0,
                        help="events/s of all senders together (0: as fast as taken)")  # fmt: skip
    parser.add_argument("--window", type=int, default=0,
                        help="good events sent, not yet stored, at most (0: none)")  # fmt: skip
    parser.add_argument("--max-rate", type=float, default=60_000,
                        help="events/s the senders' buffers are sized for")  # fmt: skip
    parser.add_argument("--samples", type=int, default=LATENCY_SAMPLES)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--signed", action="store_true",
                        help="the contingents' keys made: batches are signed")  # fmt: skip
    parser.add_argument(
        "--db",
        help="sqlite:///FRESH.db, or postgresql+psycopg://USER@HOST:PORT/"
        " (a fresh database is made there and dropped); default a temp SQLite",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="profile the listener: PREFIX-<thread>.prof")  # fmt: skip
    args = parser.parse_args()

    db = fresh_database(args.db, args.signed)
    kind = "PostgreSQL" if db.url.startswith("postgresql") else "SQLite"
    signed = "signed batches" if args.signed else "unsigned"
    pace = f"paced at {args.rate:,.0f} events/s" if args.rate else "as fast as it takes them"
    print(f"feeds: {args.senders} TCP senders for {args.seconds:.0f} s into listen cot "
          f"({kind}, {signed}; {pace}; {os.cpu_count()} CPUs)", flush=True)  # fmt: skip
    # Data time: a day ago, one fix a second per device (the latency tracks are at now).
    base_s = float(int(time.time()) // 86_400 * 86_400 - 86_400)
    try:
        run = throughput(db, args, base_s)
        rejected, duplicates = run.counts.get("rejected", 0), run.counts.get("duplicates", 0)
        print(f"  sent {run.events:,}  stored {run.stored:,}  rejected {rejected:,}  "
              f"duplicates {duplicates:,}  lost {run.lost:,}")  # fmt: skip
        print(
            f"    (of the sent: {run.kind(SELF):,} self-reports, {run.kind(MARK):,} markers, "
            f"{run.kind(BAD):,} malformed; stored: {run.counts.get('positions', 0):,} "
            f"positions, {run.counts.get('observations', 0):,} observations; "
            f"{run.stored_db:,} rows in the database; no fix {run.counts.get('no_fix', 0)}, "
            f"ignored {run.counts.get('ignored', 0)}, batches {run.counts.get('batches', 0)})"
        )
        window = run.last_commit - run.first
        steady = "n/a" if run.steady is None else f"{run.steady:,.0f}/s"
        print(f"  stored {run.rate:,.0f} events/s sustained (steady middle {steady})")
        print(
            f"    ({run.stored:,} stored in {window:.2f} s from the first byte sent to the "
            f"last commit; the senders sent for {run.sending_end - run.first:.2f} s, the last "
            f"commit came {run.last_commit - run.sending_end:.2f} s after they stopped"
            f"{'' if run.settled else '; it stopped committing before all was stored'})"
        )
        print(
            f"    (listener: {run.cpu_s:.1f} CPU-s over those {window:.1f} s, peak memory "
            f"{run.peak_mb:,.0f} MB; senders: {sum(s.cpu_s for s in run.sent):.1f} CPU-s in "
            f"all, {sum(s.waited_s for s in run.sent):.1f} s waited for the window, "
            f"{sum(s.markers for s in run.sent):,} finding markers received back"
            f"{'; a sender RAN DRY: raise --max-rate' if any(s.dry for s in run.sent) else ''})"
        )

        every = same_events(run.sent, args, base_s)
        time.sleep(2 * ORPHAN_CHECK_S)  # the listener's last children are gone
        raw, refused, sampled = raw_parse_rate(every)
        ours_parse = our_parse_rate(every)
        share = run.rate / raw
        print(f"  raw lxml parse of the same events: {raw:,.0f} events/s; ours is {share:.1%} of "
              f"it (target ≥ {TARGET_SHARE:.0%})")  # fmt: skip
        print(
            f"    (best of {RAW_PASSES} passes over {sampled:,} of the {len(every):,} events, "
            f"{refused:,} of them refused; truceline's parse_event + "
            f"classify alone, one thread: {ours_parse:,.0f} events/s)"
        )
        del every
        ok = run.rate >= TARGET_RATE and run.lost == 0 and share >= TARGET_SHARE
        print(f"  targets (≥ {TARGET_RATE:,} events/s sustained, 0 lost, ≥ {TARGET_SHARE:.0%} of "
              f"the raw parse): {'met' if ok else 'NOT MET'} (rate "
              f"{'met' if run.rate >= TARGET_RATE else 'not met'}, lost "
              f"{'met' if run.lost == 0 else 'not met'}, share "
              f"{'met' if share >= TARGET_SHARE else 'not met'})", flush=True)  # fmt: skip

        if not args.skip_latency:
            lat = latency(db, args.samples)
            for label, values, missed in (("/api/v1/events", lat.sse, lat.missed_sse),
                                          ("the sender's TAK connection", lat.tak,
                                           lat.missed_tak)):  # fmt: skip
                if values:
                    print(f"  arrival → finding on {label}: p50 {statistics.median(values):.2f} s,"
                          f" p99 {percentile(values, 0.99):.2f} s ({len(values)} samples"
                          f"{f', {missed} not within {LATENCY_TIMEOUT_S:.0f} s' if missed else ''}"
                          f"; min {min(values):.2f} s)")  # fmt: skip
                else:
                    print(f"  arrival → finding on {label}: none of {missed} samples within "
                          f"{LATENCY_TIMEOUT_S:.0f} s")  # fmt: skip
    finally:
        db.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
