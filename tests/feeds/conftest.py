"""A live CoT listener run in this process (its servers on their own event loop, in a thread),
and real TAK clients (pytak) to talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytak
from sqlalchemy import Engine, func, select

from tests.ingest.test_cot_import import event as event_text
from truceline.feeds.cot_server import CotListener, TlsFiles
from truceline.feeds.sink import FeedSink

# today's date: a live feed takes what happens now (an event a month old is rejected)
TODAY = datetime.now(UTC).date().isoformat()
WHEN = TODAY + "T08:{:02d}:{:02d}Z"


def event(uid: str, kind: str, lat: float, lon: float, when: str, inner: str = "") -> bytes:
    """A CoT event as ATAK writes one (its own XML declaration first), as bytes on the wire."""
    return event_text(uid, kind, lat, lon, when, inner).rstrip("\n").encode()


MARKER = b'<link uid="ANDROID-green-1" relation="p-p" type="a-f-G-U-C"/><remarks>column</remarks>'


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


@dataclass
class Running:
    sink: FeedSink
    listener: CotListener


@contextlib.contextmanager
def listening(
    engine: Engine,
    *,
    reporter: str = "green",
    keyring: Any = None,
    tls_files: TlsFiles | None = None,
    udp: bool = True,
) -> Iterator[Running]:
    """`listen cot` on free loopback ports (TCP, UDP, and TLS when given files)."""
    sink = FeedSink(engine, reporter=reporter, keyring=keyring, name="test feed")
    listener = CotListener(
        sink, tcp=0, udp=0 if udp else None, tls=0 if tls_files else None, tls_files=tls_files
    )
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(listener.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(listener.close())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    sink.start()
    thread.start()
    assert started.wait(10)
    try:
        yield Running(sink, listener)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        sink.stop()


def client_config(url: str, **more: str) -> Any:
    config = ConfigParser()
    config["tak"] = {"COT_URL": url, **more}
    return config["tak"]


async def connect(url: str, **more: str) -> tuple[Any, Any, pytak.TXWorker]:
    """A pytak client: its reader, writer and a TX worker that sends as pytak does."""
    config = client_config(url, **more)
    reader, writer = await pytak.protocol_factory(config)
    return reader, writer, pytak.TXWorker(asyncio.Queue(), config, writer)


async def read_events(reader: Any, until: Callable[[bytes], bool], timeout: float = 20.0) -> bytes:
    """What the server sent, until `until` holds of it."""
    got = b""
    deadline = time.monotonic() + timeout
    while not until(got):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; received {got[:300]!r}")
        with contextlib.suppress(asyncio.TimeoutError):
            chunk = await asyncio.wait_for(reader.read(65536), min(left, 0.5))
            if not chunk:
                break
            got += chunk
    return got
