"""Parse in a second process while this one writes to the database.

Parsing and hashing are Python work and so is binding rows for the database: on one core
they take turns. A worker process parses the file and hands over ready chunks through a
bounded queue (memory stays flat), so both cores work.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from truceline.errors import TrucelineError
from truceline.ingest.base import Chunk

Parser = Callable[[Path, Any], Iterator[Chunk]]
_DONE = "done"
_FAILED = "failed"


def _run(parser: Parser, path: Path, ctx: Any, out: Any) -> None:
    try:
        for chunk in parser(path, ctx):
            out.put(("chunk", chunk))
        out.put((_DONE, None))
    except TrucelineError as exc:
        out.put((_FAILED, exc))
    except BaseException as exc:
        out.put((_FAILED, RuntimeError(f"parser failed: {type(exc).__name__}: {exc}")))


def parse_in_worker(parser: Parser, path: Path, ctx: Any) -> Iterator[Chunk]:
    context = mp.get_context("forkserver")
    out = context.Queue(maxsize=4)
    process = context.Process(target=_run, args=(parser, path, ctx, out), daemon=True)
    process.start()
    try:
        while True:
            try:
                tag, payload = out.get(timeout=5)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(
                        f"parser process ended unexpectedly ({process.exitcode})"
                    ) from None
                continue
            if tag == _DONE:
                break
            if tag == _FAILED:
                raise payload
            yield payload
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=5)
        out.close()
