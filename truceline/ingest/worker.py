"""Parse in a second process while this one writes to the database.

Parsing and hashing are Python work and so is binding rows for the database: on one core
they take turns. A worker process parses the file and hands over ready chunks through a
bounded queue (memory stays flat), so both cores work.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from truceline.errors import TrucelineError
from truceline.ingest.base import Chunk

Parser = Callable[[Path, Any], Iterator[Chunk]]


def _run(parser: Parser, path: Path, ctx: Any, pipe: Connection) -> None:
    # This process only parses: no reference cycles to collect, and the collector's passes
    # over a growing heap would cost more than the parsing itself.
    gc.disable()
    try:
        for chunk in parser(path, ctx):
            pipe.send_bytes(b"c" + pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        pipe.send_bytes(b"d")
    except TrucelineError as exc:
        pipe.send_bytes(b"f" + pickle.dumps(exc))
    except BaseException as exc:
        failure = RuntimeError(f"parser failed: {type(exc).__name__}: {exc}")
        pipe.send_bytes(b"f" + pickle.dumps(failure))
    finally:
        pipe.close()


def _context() -> Any:
    # Forking is fast and safe while this process runs one thread (the command line); a
    # threaded server gets a fresh interpreter from the fork server instead.
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context("forkserver")


def _receive(receiver: Connection, inbox: queue.Queue[bytes | None]) -> None:
    """Move messages from the pipe to the inbox: the worker can run a few chunks ahead
    while this process is busy storing (reading the pipe releases the GIL)."""
    try:
        while True:
            inbox.put(receiver.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)


def parse_in_worker(parser: Parser, path: Path, ctx: Any) -> Iterator[Chunk]:
    """Chunks of `parser(path, ctx)`, parsed in a second process. At most a few chunks wait
    in between, so memory stays flat."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(parser, path, ctx, sender), daemon=True)
    process.start()
    sender.close()
    inbox: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    thread = threading.Thread(target=_receive, args=(receiver, inbox), daemon=True)
    thread.start()
    try:
        while True:
            message = inbox.get()
            if message is None:
                raise RuntimeError(f"parser process ended unexpectedly ({process.exitcode})")
            tag, body = message[:1], message[1:]
            if tag == b"d":
                break
            if tag == b"f":
                raise pickle.loads(body)
            yield pickle.loads(body)
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=5)
        receiver.close()
        thread.join(timeout=5)
