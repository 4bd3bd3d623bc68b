"""Live events for every subscriber of a process from one change feed: one cheap query a
poll tells whether anything changed (the newest finding and log entry); only then is the new
state read, once per viewing contingent, and what changed is handed to every subscriber.

A subscriber gets `finding` events (each new finding) and `verdict` events (a case whose
verdict changed for its contingent's view). A user may hold a few streams at once
(`Limits.subscriptions`); more are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from truceline.errors import Throttled
from truceline.services import verification
from truceline.store import compliance
from truceline.store import tables as t

POLL_S = 1.0


@dataclass(eq=False)  # each subscriber is itself (hashed by identity)
class _Subscriber:
    viewer: str | None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


def _marker(engine: Engine) -> tuple[int, ...]:
    """What tells a change, in one query: the newest finding and log entry (every change of a
    centre whose logs have started is an entry), and the number of cases, rounds and filings
    (the changes before the logs start)."""
    with engine.connect() as conn:
        row = conn.execute(_MARKER).one()
    return tuple(int(v or 0) for v in row)


_MARKER = select(
    select(func.max(t.findings.c.id)).scalar_subquery(),
    select(func.max(t.ledger_entries.c.id)).scalar_subquery(),
    select(func.count()).select_from(t.cases).scalar_subquery(),
    select(func.count()).select_from(t.rounds).scalar_subquery(),
    select(func.count()).select_from(t.assessments).scalar_subquery(),
)


def _verdicts(engine: Engine, viewer: str | None) -> dict[int, str]:
    with engine.connect() as conn:
        return {c["id"]: c["verdict"] for c in verification.list_cases(conn, viewer=viewer)}


def _new_findings(engine: Engine, after: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return compliance.list_findings(conn, limit=1000, after_id=after)


class ChangeFeed:
    """One per process: a poller task runs while anyone subscribes."""

    def __init__(self, engine: Engine, poll_s: float = POLL_S) -> None:
        self.engine, self.poll_s = engine, poll_s
        self._subscribers: set[_Subscriber] = set()
        self._per_user: Counter[int] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._marker: tuple[int, ...] = (0,)
        self._verdicts: dict[str | None, dict[int, str]] = {}
        self.reads = 0  # how many times the state was read (for tests and the bench)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, user_id: int, viewer: str | None, cap: int
    ) -> AsyncIterator[_Subscriber]:
        if self._per_user[user_id] >= cap:
            raise Throttled(f"at most {cap} live streams at once per user: close one first")
        self._per_user[user_id] += 1
        subscriber = _Subscriber(viewer)
        try:
            if viewer not in self._verdicts:
                self._verdicts[viewer] = await asyncio.to_thread(_verdicts, self.engine, viewer)
            if self._task is None or self._task.done():
                self._marker = await asyncio.to_thread(_marker, self.engine)
                self._task = asyncio.create_task(self._run())
            self._subscribers.add(subscriber)
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            self._per_user[user_id] -= 1
            if self._per_user[user_id] <= 0:
                del self._per_user[user_id]
            if not self._subscribers and self._task is not None:
                self._task.cancel()
                self._task = None
                self._verdicts.clear()

    async def _run(self) -> None:
        while self._subscribers:
            await asyncio.sleep(self.poll_s)
            marker = await asyncio.to_thread(_marker, self.engine)
            if marker == self._marker:
                continue
            await asyncio.to_thread(self._changed, marker)

    def _changed(self, marker: tuple[int, ...]) -> None:
        self.reads += 1
        events: dict[str | None, list[str]] = {}
        shared = [
            f"event: finding\ndata: {json.dumps(f)}\n\n"
            for f in _new_findings(self.engine, self._marker[0])
        ]
        for viewer in {s.viewer for s in self._subscribers}:
            now = _verdicts(self.engine, viewer)
            before = self._verdicts.get(viewer, {})
            events[viewer] = shared + [
                f"event: verdict\ndata: {json.dumps({'case': case, 'verdict': verdict})}\n\n"
                for case, verdict in now.items()
                if before.get(case) != verdict
            ]
            self._verdicts[viewer] = now
        self._marker = marker
        for subscriber in list(self._subscribers):
            for event in events.get(subscriber.viewer, shared):
                with contextlib.suppress(asyncio.QueueFull):  # a stalled client misses events
                    subscriber.queue.put_nowait(event)
