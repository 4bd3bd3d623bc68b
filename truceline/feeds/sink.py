"""A live feed's records, gathered and committed as signed import batches, then assessed.

A listener (TCP, UDP, TLS or MQTT) hands each event to a `FeedSink` as it arrives, from any
thread, and goes on reading. The sink's committer thread commits what it holds as one batch
per kind of record (positions, observations), signed by the feed's contingent, in one
transaction: when the oldest event it holds is `max_age_s` old, when the feed pauses for
`idle_s` (so one event alone is stored at once), or when it holds a batch's worth: at most
twice the last batch, up to `max_events` (a flood's first events are stored within a second,
not after a pipeline of full batches). A listener
that reads a stream stops reading while the sink holds more than `HIGH_WATER` events (TCP
then slows the sender down: nothing is lost and memory stays bounded). A bad event
is rejected (logged with where it came from and its byte offset) and never stops the feed.
An event's `ack` (an MQTT acknowledgement) is called only after its batch committed.

Then its assessor thread re-assesses the new data's window (the incremental `assess`), so a
finding reaches the dashboard and `/api/v1/events` within seconds, and hands every new finding
to `on_findings` (the CoT listener sends them to its TAK clients).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from truceline.domain import observations as obs
from truceline.domain.records import Problems
from truceline.i18n.message import M
from truceline.ingest import cot, cot_fast
from truceline.ingest.base import RowError
from truceline.ingest.cot_format import EventSorter
from truceline.ingest.formats import FORMATS, Format, Split
from truceline.mission import Mission
from truceline.services.assess import assess
from truceline.services.ingest import (
    Built,
    SplitReport,
    build_split,
    check_reporter,
    store_split,
)
from truceline.services.ledger import KeyRing, signer
from truceline.store import tables as t
from truceline.store.compliance import finding_dict
from truceline.store.db import make_engine, require_schema, writing
from truceline.store.missions import load_mission

log = logging.getLogger("truceline.feeds")

Ack = Callable[[], None]
JSON_RECORDS = {"observation": "observations", "position": "positions"}
LIVE_AHEAD = timedelta(days=1)  # a live event's time: at most this far ahead of the clock,
LIVE_BEHIND = timedelta(days=30)  # and at most this old
RETRY_S = 1.0  # after a failed commit (the database away for a moment)
# When a batch is committed: its oldest event this old, or the feed quiet this long (a lone
# event is not kept waiting; a trickle of events is still about one batch a second, not one
# entry in the signed log per event), or this many events held.
MAX_AGE_S = 0.8
IDLE_S = 0.2
MAX_EVENTS = 60_000
FIRST_BATCH = 2_000  # the most the first batch after a quiet spell holds
FINDINGS_PAGE = 1000
ASSESS_REST_MAX_S = 5.0  # the longest pause between two runs (`FeedSink._rest`)
ASSESS_REST_RATIO = 3.0  # the pause after a run: this many times as long as the run took
HIGH_WATER = 2 * MAX_EVENTS  # held beyond this, stream listeners stop reading for a while
# and the bytes of the events held and of the batches in flight: a client sending events of
# 64 KiB each reaches this long before HIGH_WATER (memory is bounded by bytes, not count)
MAX_HELD_BYTES = 256 * 1024 * 1024
# Processes preparing batches (parsing, checking) while the listener stores: one per core.
PREPARERS = max(1, min(2, os.cpu_count() or 1))


@dataclass
class FeedCounts:
    """What a feed did since it started (the keys of `ingest cot --json`, and batches)."""

    positions: int = 0
    observations: int = 0
    duplicates: int = 0
    no_fix: int = 0
    ignored: int = 0
    rejected: int = 0
    batches: int = 0

    def add(self, report: SplitReport) -> None:
        self.positions += report.stored.get("positions", 0)
        self.observations += report.stored.get("observations", 0)
        self.duplicates += report.duplicates
        self.no_fix += report.counts.get("no_fix", 0)
        self.ignored += report.counts.get("ignored", 0)
        self.rejected += report.rejected
        self.batches += len(report.batches)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @property
    def stored(self) -> int:
        return self.positions + self.observations


Raw = cot.RawEvent | cot.Rejected | Mapping[str, Any]  # an event, or a JSON object
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Text for one log line: control characters (a newline in a uid) shown escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(slots=True)
class _Batch:
    future: Future[Built]  # its records, being prepared
    items: list[_Item]  # its events (prepared here again if the worker fails)
    acks: list[Ack]
    size: int = 0  # the bytes of its CoT events (`FeedSink.full`)


# An event as it came: where from (the client and how: "tcp 127.0.0.1:50432"), and what. A
# plain pair: a feed holds tens of thousands, made at C speed (`offer_all`).
_Item = tuple[str, Raw]


def out_of_time(when: Any, now: datetime) -> str | None:
    """Why a live event's time cannot be taken, or None: a feed takes what happens now (a
    fix from 1970, or from a device whose clock is wrong, would make every assessment run
    re-assess the whole mission); older captures are imported with `ingest cot`."""
    if not isinstance(when, str):
        return None  # (the record's own checks say what is wrong with it)
    try:
        moment = datetime.fromisoformat(when.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    if moment > now + LIVE_AHEAD:
        return M("time {time!r} is more than a day ahead of this machine's clock", time=when[:40])
    if moment < now - LIVE_BEHIND:
        return M(
            "time {time!r} is more than {days} days old: a live feed takes what happens "
            "now (import older captures with ingest cot)",
            time=when[:40],
            days=LIVE_BEHIND.days,
        )
    return None


def sort(mission: Mission, reporter: str, items: list[_Item], now: datetime | None = None) -> Split:
    """The events' records by kind, as `ingest cot` sorts a file's; an event whose time is
    not near `now` is rejected (`out_of_time`)."""
    sorter = EventSorter(mission, reporter)
    now = now or datetime.now(UTC)
    for item in items:
        _sort_one(sorter, reporter, item, now)
    return sorter.split


def _sort_one(sorter: EventSorter, reporter: str, item: _Item, now: datetime) -> None:
    where, raw = item
    if isinstance(raw, cot.Rejected):
        sorter.reject(where, raw)
    elif isinstance(raw, cot.RawEvent):
        try:
            event = cot.parse_event(raw.data, raw.offset)
            late = None if isinstance(event, cot.Rejected) else out_of_time(event.when, now)
            if late is not None:
                assert not isinstance(event, cot.Rejected)
                event = cot.Rejected(event.offset, event.uid, late)
            sorter.add(where, event if isinstance(event, cot.Rejected) else
                       cot.classify(event))  # fmt: skip
        except (ArithmeticError, ValueError, TypeError) as exc:  # one event, not the feed
            kind = type(exc).__name__  # (200 characters in all, as every reason)
            reason = M(
                "cannot be read: {kind}: {error}",
                kind=kind,
                error=str(exc)[: max(0, 182 - len(kind))],
            )
            sorter.reject(where, cot.Rejected(raw.offset, None, reason))
    else:
        _sort_json(sorter.split, reporter, where, raw)


def _sort_json(split: Split, reporter: str, where: str, obj: Mapping[str, Any]) -> None:
    problems = Problems()
    record = obj.get("record", "observation")
    kind = JSON_RECORDS.get(record) if isinstance(record, str) else None
    if kind is None:
        problems.add(
            "record",
            M(
                "{record!r} is not one of {choices}",
                record=str(record)[:40],
                choices=", ".join(JSON_RECORDS),
            ),
        )
    if kind is None:  # (an unknown field is its record's builder's to name)
        split.errors.append(RowError(where, problems, dict(obj)))
        return
    fields = {k: v for k, v in obj.items() if k != "record"}
    late = out_of_time(fields.get("observed_at", fields.get("time")), datetime.now(UTC))
    if late is not None:
        problems.add("observed_at" if kind == "observations" else "time", late)
        split.errors.append(RowError(where, problems, dict(obj)))
        return
    # what the feed's contingent signs, it reports
    if kind == "observations" and fields.setdefault("reporter", reporter) != reporter:
        problems.add(
            "reporter",
            M(
                "this feed reports as {reporter}, not {given!r}",
                reporter=reporter,
                given=fields["reporter"],
            ),
        )
        split.errors.append(RowError(where, problems, dict(obj)))
        return
    split.add(kind, fields, where)


def prepare(
    mission: Mission,
    reporter: str,
    form: Format,
    items: list[_Item],
    now: datetime | None = None,
    *,
    fast: bool = True,
) -> Built:
    """A batch's events parsed, sorted and checked into records ready to store (no I/O).

    The plain events are read by the fast path (`cot_fast`), the rest one by one; the result
    is the same as with `fast=False`, record for record and in the same order."""
    now = now or datetime.now(UTC)
    if not fast:
        return build_split(sort(mission, reporter, items, now), form, mission, reporter)
    datas = [raw.data if type(raw) is cot.RawEvent else None for _, raw in items]
    return _prepare_fast(mission, reporter, form, datas, items.__getitem__, now)


def _prepare_fast(
    mission: Mission,
    reporter: str,
    form: Format,
    datas: list[bytes | None],
    item: Callable[[int], _Item],
    now: datetime,
) -> Built:
    """`prepare` of the events `item(0)`, `item(1)` … whose CoT bytes are `datas` (None for
    what is not a CoT event): an event the fast path reads is never made an item at all."""
    try:
        ready = cot_fast.read_batch(datas, _fast_context(mission, reporter, now))
    except Exception:  # something the fast path did not foresee: never the batch's loss
        log.exception("the fast path failed on a batch; reading it event by event")
        items = [item(i) for i in range(len(datas))]
        return build_split(sort(mission, reporter, items, now), form, mission, reporter)
    sorter = EventSorter(mission, reporter)
    records = sorter.split.records
    order: dict[str, list[int | tuple[tuple[Any, ...], str]]] = {k: [] for k in form.kinds}
    for i, done in enumerate(ready):
        if done is not None:
            order[done[0]].append((done[1], done[2]))
            continue
        before = [(kind, len(records.get(kind, ()))) for kind in order]
        _sort_one(sorter, reporter, item(i), now)
        for kind, count in before:
            order[kind].extend(range(count, len(records.get(kind, ()))))
    return build_split(sorter.split, form, mission, reporter, order)


def _fast_context(mission: Mission, reporter: str, now: datetime) -> cot_fast.FastContext:
    """What the fast path reads a batch against: the window of times a feed takes is the
    one `out_of_time` leaves (microseconds since the epoch, inclusive)."""
    now_us = (now - _EPOCH) // timedelta(microseconds=1)
    window = (now_us - LIVE_BEHIND // timedelta(microseconds=1),
              now_us + LIVE_AHEAD // timedelta(microseconds=1))  # fmt: skip
    seen = obs.Context(mission.actors, frozenset(mission.contingents), reporter)
    return cot_fast.FastContext(frozenset(mission.units), reporter, seen, window)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_WORKER: tuple[Mission, str, Format] | None = None


def _ignore_stop_signals(parent: int) -> None:
    """A child ignores Ctrl-C and SIGTERM: the listener stops it, after committing. And it
    ends when the listener is gone (killed with SIGKILL, it cannot stop its children), so
    no orphan keeps a database connection and its memory."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


ORPHAN_CHECK_S = 1.0


def _start_worker(mission: Mission, reporter: str, form: Format, parent: int) -> None:
    global _WORKER
    _ignore_stop_signals(parent)
    _WORKER = (mission, reporter, form)
    # A batch's objects are freed as it is handed back (no reference cycles): the collector's
    # passes over each batch of tens of thousands would cost a sixth of preparing it.
    gc.freeze()
    gc.disable()


def tune_collector() -> None:
    """For a listener's own process: what it holds (tens of thousands of events and records,
    none in a reference cycle) would make the cyclic collector pass over them again and again;
    what was made before the feed started is set aside, and it collects 100 times less often."""
    gc.freeze()
    gc.set_threshold(70_000, 20, 20)


_ASSESSOR: tuple[Engine, KeyRing | None, str] | None = None


ASSESSOR_NICENESS = 10  # storing what arrives comes first; assessing takes the CPU left


def _start_assessor(url: str, keyring: KeyRing | None, reporter: str, parent: int) -> None:
    global _ASSESSOR
    _ignore_stop_signals(parent)
    # Under a full load the assessor yields the CPU to the listener and its worker, so a
    # feed never falls behind (and TCP never slows the senders) for the sake of assessing:
    # runs then take longer and each covers more new data; when the load eases they are
    # back to seconds.
    with contextlib.suppress(OSError):
        os.nice(ASSESSOR_NICENESS)
    _ASSESSOR = (make_engine(url), keyring, reporter)


def _assess_in_worker() -> None:
    assert _ASSESSOR is not None, "the assessor was not started"
    engine, keyring, reporter = _ASSESSOR
    assess(engine, keyring=keyring, acting=reporter)


# A batch as it crosses to a worker: column by column (lists of plain values pickle at C speed,
# where an object per event would be pickled and made again one by one): where each event
# came from, its CoT bytes (None if it is not one) and their offset, and what is not a CoT
# event (a rejection, a JSON object) by its index.
Packed = tuple[list[str], list[bytes | None], list[int], dict[int, Raw]]


def _pack(items: list[_Item]) -> Packed:
    event = cot.RawEvent
    raws = [raw for _, raw in items]
    datas = [raw.data if type(raw) is event else None for raw in raws]
    offsets = [raw.offset if type(raw) is event else 0 for raw in raws]
    others: dict[int, Raw] = {
        i: raw if isinstance(raw, cot.Rejected) else dict(raw)  # type: ignore[arg-type]
        for i, raw in enumerate(raws) if type(raw) is not event
    }  # fmt: skip
    return [where for where, _ in items], datas, offsets, others


def _unpacked(packed: Packed, i: int) -> _Item:
    wheres, datas, offsets, others = packed
    data = datas[i]
    return wheres[i], (cot.RawEvent(offsets[i], data) if data is not None else others[i])


def _prepare_in_worker(packed: Packed) -> Built:
    assert _WORKER is not None, "the worker was not started"
    try:
        return _prepare_fast(*_WORKER, packed[1], lambda i: _unpacked(packed, i),
                             datetime.now(UTC))  # fmt: skip
    finally:
        gc.collect()  # whatever cycle a batch left (none is expected), with the batch gone


WARM_UP_S = 60.0  # the longest wait for a worker process to start


def _started(hold: float) -> None:
    """A worker's first task (`FeedSink._warm_up`): held a moment, so that each of the pool's
    processes starts and takes one."""
    time.sleep(hold)


def _readable(row: Any) -> dict[str, Any] | None:
    """A stored finding as a dict, or None when its row cannot be read (a damaged evidence
    field is `ledger verify`'s to name; a feed does not stop for it)."""
    try:
        return finding_dict(row)
    except ValueError:
        log.warning("finding %s: its stored evidence cannot be read; not sent", row.id)
        return None


class FeedSink:
    """Gathers a feed's events and commits them (see the module's docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        reporter: str,
        keyring: KeyRing | None,
        name: str,
        fmt: str = "cot",
        max_age_s: float = MAX_AGE_S,
        idle_s: float = IDLE_S,
        max_events: int = MAX_EVENTS,
        assess_data: bool = True,
        on_findings: Callable[[list[dict[str, Any]]], None] | None = None,
        worker: bool = False,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        require_schema(engine)
        with engine.connect() as conn:
            self.mission = load_mission(conn)
            check_reporter(self.mission, reporter)
            self.sign = signer(conn, self.mission, keyring, reporter)  # a missing key stops it
            self._last_finding = int(
                conn.execute(select(t.findings.c.id).order_by(t.findings.c.id.desc()).limit(1))
                .scalar() or 0
            )  # fmt: skip
        self.engine, self.keyring, self.reporter, self.name = engine, keyring, reporter, name
        self.form = dataclasses.replace(FORMATS["cot"], name=fmt)
        self.max_age_s, self.idle_s, self.max_events = max_age_s, idle_s, max_events
        self._limit = min(max_events, FIRST_BATCH)  # the next batch's most: see `_take`
        self.assess_data, self.on_findings, self.on_lost = assess_data, on_findings, on_lost
        self.counts = FeedCounts()
        self._cond = threading.Condition()
        self._items: list[_Item] = []
        self._bytes = 0  # of the CoT events held or in batches not yet stored
        self._pending: deque[_Batch] = deque()  # batches taken, not yet stored, in order
        self._acks: list[Ack] = []
        self._first = self._last = 0.0
        self._stopping = False
        self._dirty = threading.Event()
        # other processes parse and check the next batches while this one stores the one
        # before (as many as there are cores, up to PREPARERS)
        self._pool = None if not worker else ProcessPoolExecutor(
            PREPARERS, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
            initargs=(self.mission, reporter, self.form, os.getpid()),
        )  # fmt: skip
        # and a third assesses what was stored, so that neither waits for the other's GIL
        self._assessor = None if not (worker and assess_data) else ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_assessor,
            initargs=(engine.url.render_as_string(hide_password=False), keyring, reporter,
                      os.getpid()),
        )  # fmt: skip
        self._committed_all = threading.Event()  # the committer stopped: nothing more comes
        self._threads: list[threading.Thread] = []

    # --- what listeners call, from any thread ---------------------------------------------

    def offer(self, where: str, raw: Raw, ack: Ack | None) -> None:
        """An event as it arrived: a CoT event's bytes (or what the splitter rejected), or a
        JSON object of the CSV's fields; `ack` is called once it is stored."""
        self.offer_all(where, [raw], ack)

    def offer_all(
        self,
        where: str,
        raws: Sequence[Raw],
        ack: Ack | None,
    ) -> None:
        """Several events of one message, committed in the same batch; `ack` once stored."""
        if not raws:
            raws = [cot.Rejected(0, None, M("an empty message"))]
        now = time.monotonic()
        with self._cond:
            if not self._items:
                self._first = now
                self._cond.notify()
            self._last = now
            self._items.extend(zip(itertools.repeat(where), raws))
            self._bytes += sum(len(r.data) for r in raws if type(r) is cot.RawEvent)
            if ack is not None:
                self._acks.append(ack)
            if len(self._items) >= self._limit:
                self._cond.notify()

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def backlog(self) -> int:
        """Events held, not yet committed (a stream listener pauses above `HIGH_WATER`)."""
        return len(self._items)

    @property
    def full(self) -> bool:
        """Holding more than a listener may hand over now: more than `HIGH_WATER` events
        waiting, or `MAX_HELD_BYTES` of events waiting or in batches not yet stored (a stream
        listener stops reading while it is; UDP drops)."""
        return len(self._items) > HIGH_WATER or self._bytes > MAX_HELD_BYTES

    def start(self) -> None:
        self._warm_up()
        for target, name in ((self._commit_loop, "commit"), (self._assess_loop, "assess")):
            thread = threading.Thread(target=target, name=f"feed-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _warm_up(self) -> None:
        """Start the worker processes now, and wait until each has loaded the code (a second
        or two): otherwise the first events would wait for them, as the first batch of a
        flood did. A worker that cannot start is the first batch's to find out (`_built`)."""
        pools = [(pool, n) for pool, n in ((self._pool, PREPARERS), (self._assessor, 1)) if pool]
        started = [pool.submit(_started, 0.2) for pool, n in pools for _ in range(n)]
        for future in started:
            with contextlib.suppress(Exception):
                future.result(timeout=WARM_UP_S)

    def stop(self) -> FeedCounts:
        """Commit what is held, assess it, and stop the threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        return self.counts

    # --- the committer -----------------------------------------------------------------

    def _due(self, now: float) -> float | None:
        """Seconds until what is held should be committed (0: now), None when nothing is."""
        if not self._items:
            return None
        if self._stopping or len(self._items) >= self._limit:
            return 0.0
        return max(0.0, min(self._first + self.max_age_s, self._last + self.idle_s) - now)

    def _take(
        self, block: bool, ready: Callable[[], bool] | None = None
    ) -> tuple[list[_Item], list[Ack]]:
        """The next batch when it is due (waiting for it when `block`, unless `ready()`
        says something else is to be done: a batch prepared), at most max_events: what is
        held stays bounded (HIGH_WATER). Empty when none is due (not blocking, or ready) or
        when stopping with nothing held."""
        with self._cond:
            while True:
                wait = self._due(time.monotonic())
                if wait == 0.0 or (wait is None and self._stopping) or not block:
                    break
                if ready is not None and ready():
                    break
                self._cond.wait(wait)
            if wait != 0.0:
                return [], []
            limit = self._limit
            items, self._items = self._items[:limit], self._items[limit:]
            # batches grow under a flood (each at most twice the one before, up to
            # max_events) and are small again after a quiet spell
            self._limit = min(self.max_events, max(FIRST_BATCH, 2 * len(items)))
            if self._items:  # the acks wait for the batch that takes the last of what is held
                self._first = time.monotonic()
                return items, []
            acks, self._acks = self._acks, []
            return items, acks

    def _wake(self, _: object = None) -> None:
        with self._cond:
            self._cond.notify_all()

    def _commit_loop(self) -> None:
        """Stages: while workers prepare (parse, check) the next batches, this thread stores
        the oldest, in the order they were taken. Nothing one batch does stops the next."""
        pending = self._pending

        def oldest_ready() -> bool:
            return bool(pending) and pending[0].future.done()

        try:
            while True:
                items: list[_Item] = []
                depth = PREPARERS + 1 if self._pool is not None else 1  # and one being stored
                if len(pending) < depth:
                    items, acks = self._take(block=True, ready=oldest_ready)
                    if items:
                        size = sum(len(r.data) for _, r in items if type(r) is cot.RawEvent)
                        batch = _Batch(self._prepare(items), items, acks, size)
                        batch.future.add_done_callback(self._wake)
                        pending.append(batch)
                        continue
                if pending:
                    if len(pending) >= depth or oldest_ready() or self._stopping:
                        self._commit(pending.popleft())
                    continue
                if self._stopping and not self._items:
                    return
        finally:
            try:
                while pending:
                    self._commit(pending.popleft())
            finally:
                self._committed_all.set()
                self._dirty.set()
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)

    def _prepare(self, items: list[_Item]) -> Future[Built]:
        """Parse, sort and check a batch: in the worker process, else here."""
        if self._pool is not None:
            try:
                return self._pool.submit(_prepare_in_worker, _pack(items))
            except (BrokenExecutor, RuntimeError):  # the worker died: go on without it
                log.exception("%s: the worker process stopped; preparing here", self.name)
                self._pool = None
        done: Future[Built] = Future()
        try:
            done.set_result(prepare(self.mission, self.reporter, self.form, items))
        except Exception as exc:
            done.set_exception(exc)
        return done

    def _built(self, batch: _Batch) -> Built:
        try:
            return batch.future.result()
        except Exception:  # the worker died, or failed on this batch: prepare it here
            log.exception("%s: the worker failed on a batch; preparing it here", self.name)
            if isinstance(batch.future.exception(), BrokenExecutor):
                self._pool = None
            return prepare(self.mission, self.reporter, self.form, batch.items)

    def _commit(self, batch: _Batch) -> None:
        try:
            report = self._store(self._built(batch), len(batch.items))
        except Exception:
            log.exception("%s: %d event(s) not stored", self.name, len(batch.items))
            report = None
        finally:
            with self._cond:
                self._bytes -= batch.size
        if report is None:
            self._lose(batch)
            return
        for error in report.errors:
            log.warning("%s: rejected %s", self.name, printable(str(error)))
        if report.rejected > len(report.errors):
            log.warning("%s: … and %d more rejected", self.name,
                        report.rejected - len(report.errors))  # fmt: skip
        self.counts.add(report)
        for ack in batch.acks:  # only now: the batches holding their events are committed
            try:
                ack()
            except Exception:  # a broker gone: it delivers again, and the identity dedupes
                log.exception("%s: cannot acknowledge", self.name)
        if report.accepted:
            self._dirty.set()

    def _store(self, built: Built, count: int) -> SplitReport | None:
        """Store a batch, trying again while the database is away for a moment (a minute;
        three times when stopping); None when it could not be stored."""
        for attempt in range(1, 61):
            try:
                with writing(self.engine) as conn:
                    return store_split(
                        conn, built, self.form, name=self.name, mission=self.mission,
                        sign=self.sign, skip_invalid=True,
                    )  # fmt: skip
            except Exception:
                log.exception("%s: cannot commit %d event(s) (attempt %d); trying again",
                              self.name, count, attempt)  # fmt: skip
                if self._stopping and attempt >= 3:
                    break
                time.sleep(RETRY_S)
        return None

    def _lose(self, batch: _Batch) -> None:
        """A batch not stored: no acknowledgement still held may be sent (a message of it
        could be among them); `on_lost` (MQTT: reconnect, so the broker delivers again)."""
        with self._cond:
            self._acks.clear()
            # and those the batches after it carry: a batch taken while more was held carries
            # none, its messages' acks going with the batch that took the last of them
            for later in self._pending:
                later.acks.clear()
        log.error("%s: %d event(s) lost%s", self.name, len(batch.items),
                  "; the broker delivers them again" if self.on_lost else "")  # fmt: skip
        if self.on_lost is not None:
            try:
                self.on_lost()
            except Exception:
                log.exception("%s: cannot ask for the lost messages again", self.name)

    # --- the assessor ------------------------------------------------------------------

    def _assess_loop(self) -> None:
        while True:
            self._dirty.wait()
            self._dirty.clear()
            if self.assess_data:
                try:
                    began = time.monotonic()
                    self._assess()
                    self._announce()
                    self._rest(time.monotonic() - began)
                except Exception:  # tried again in a moment: the new data waits for it
                    log.exception("%s: assessing the new data failed", self.name)
                    if not self._committed_all.is_set():
                        time.sleep(RETRY_S)
                        self._dirty.set()
            if self._committed_all.is_set() and not self._dirty.is_set():
                if self._assessor is not None:
                    self._assessor.shutdown()
                return

    def _rest(self, took: float) -> None:
        """After a run that took `took` seconds, wait ASSESS_REST_RATIO times as long (at
        most ASSESS_REST_MAX_S) before the next: assessing takes at most a quarter of the
        time. A run over a quiet feed takes milliseconds, so findings still come within a
        second or two; under a flood each run covers what arrived meanwhile (a run costs
        about the same whatever it covers), and storing it is never starved of the CPU."""
        rest = min(took * ASSESS_REST_RATIO, ASSESS_REST_MAX_S)
        if rest > 0.05:
            self._committed_all.wait(rest)

    def _assess(self) -> None:
        if self._assessor is not None:  # in its own process: its own core
            try:
                self._assessor.submit(_assess_in_worker).result()
                return
            except BrokenExecutor:
                log.exception("%s: the assessing process stopped; assessing here", self.name)
                self._assessor = None
        assess(self.engine, keyring=self.keyring, acting=self.reporter)

    def _announce(self) -> None:
        """Every finding stored since the last look (by this feed or anyone), with the point
        it is at (its incident's, or where a unit's excursion ended), to `on_findings`."""
        while self._announce_page() == FINDINGS_PAGE:
            pass

    def _announce_page(self) -> int:
        f, i = t.findings, t.incidents
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(f).where(f.c.id > self._last_finding, f.c.status == "active")
                .order_by(f.c.id).limit(FINDINGS_PAGE)
            ).all()  # fmt: skip
            found = [x for x in map(_readable, rows) if x is not None]
            incidents = [x["incident"] for x in found if x["incident"]]
            where = {
                int(ident): (lat / 1e7, lon / 1e7)
                for ident, lat, lon in conn.execute(
                    select(i.c.id, i.c.lat_e7, i.c.lon_e7).where(i.c.id.in_(incidents))
                )
            } if incidents else {}  # fmt: skip
        if not rows:
            return 0
        self._last_finding = int(rows[-1].id)
        for finding in found:
            point = where.get(finding["incident"] or 0)
            last = finding["evidence"].get("last") if finding["unit"] else None
            if point is None and isinstance(last, list) and len(last) == 2:
                point = (float(last[1]), float(last[0]))
            finding["point"] = point
        if self.on_findings is not None:
            self.on_findings(found)
        return len(rows)
