"""Live events for every subscriber of a process from one change feed: one cheap query a
poll tells whether anything changed (the newest finding and log entry, the number of cases,
rounds and filings); only then is the new state read, once for all subscribers, and what
changed is handed to each.

A subscriber gets `finding` events (each new finding) and `verdict` events (a case whose
verdict changed). Verdicts derive from revealed positions only, so they read the same to every
contingent: nothing of a blind round travels here. A user may hold a few streams at once
(`Limits.subscriptions`); more are refused.

The state is read in a worker thread; subscribers and their queues are touched only on the
event loop.
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
from truceline.i18n.message import M
from truceline.store import tables as t
from truceline.store.compliance import finding_dict

POLL_S = 1.0
FINDINGS_PAGE = 1000


@dataclass(eq=False)  # each subscriber is itself (hashed by identity)
class Subscriber:
    user_id: int
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


_MARKER = select(
    select(func.max(t.findings.c.id)).scalar_subquery(),
    select(func.max(t.ledger_entries.c.id)).scalar_subquery(),
    select(func.count()).select_from(t.cases).scalar_subquery(),
    select(func.count()).select_from(t.rounds).scalar_subquery(),
    select(func.count()).select_from(t.assessments).scalar_subquery(),
)
_VERDICTS = select(t.cases.c.id, t.cases.c.verdict)


def _marker(engine: Engine) -> tuple[int, ...]:
    """What tells a change, in one query: the newest finding and log entry (every change of a
    centre whose logs have started is an entry), and the number of cases, rounds and filings
    (the changes before the logs start)."""
    with engine.connect() as conn:
        row = conn.execute(_MARKER).one()
    return tuple(int(v or 0) for v in row)


def _verdicts(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {int(i): str(v) for i, v in conn.execute(_VERDICTS)}


def _new_findings(engine: Engine, after: int) -> list[dict[str, Any]]:
    """Every active finding newer than `after`, by id (the primary key), page by page."""
    f = t.findings
    found: list[dict[str, Any]] = []
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(f).where(f.c.id > after, f.c.status == "active")
                .order_by(f.c.id).limit(FINDINGS_PAGE)
            ).all()  # fmt: skip
            found += [finding_dict(row) for row in rows]
            if len(rows) < FINDINGS_PAGE:
                return found
            after = int(rows[-1].id)


class ChangeFeed:
    """One per process: a poller task runs while anyone subscribes."""

    def __init__(self, engine: Engine, poll_s: float = POLL_S) -> None:
        self.engine, self.poll_s = engine, poll_s
        self._subscribers: set[Subscriber] = set()
        self._per_user: Counter[int] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._marker: tuple[int, ...] = (0,)
        self._verdicts: dict[int, str] = {}
        self.reads = 0  # how many times the state was read (for tests and the bench)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def check_cap(self, user_id: int, cap: int) -> None:
        """Refuse (Throttled) a user that holds `cap` streams already."""
        if self._per_user[user_id] >= cap:
            raise Throttled(
                M("at most {cap} live streams at once per user: close one first", cap=cap)
            )

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: int, cap: int) -> AsyncIterator[Subscriber]:
        self.check_cap(user_id, cap)
        self._per_user[user_id] += 1
        subscriber = Subscriber(user_id)
        try:
            self._subscribers.add(subscriber)
            if self._task is None or self._task.done():  # no await before: one poller only
                self._task = asyncio.create_task(self._run())
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            self._per_user[user_id] -= 1
            if self._per_user[user_id] <= 0:
                del self._per_user[user_id]
            if not self._subscribers and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _run(self) -> None:
        self._marker = await asyncio.to_thread(_marker, self.engine)
        self._verdicts = await asyncio.to_thread(_verdicts, self.engine)
        while self._subscribers:
            await asyncio.sleep(self.poll_s)
            try:
                marker = await asyncio.to_thread(_marker, self.engine)
                if marker == self._marker:
                    continue
                events, verdicts = await asyncio.to_thread(self._read, self._marker[0])
            except Exception:  # a database that is away for a moment: poll again later
                continue
            self.reads += 1
            self._marker, self._verdicts = marker, verdicts
            for subscriber in list(self._subscribers):
                for event in events:
                    with contextlib.suppress(asyncio.QueueFull):  # a stalled client misses some
                        subscriber.queue.put_nowait(event)

    def _read(self, last_finding: int) -> tuple[list[str], dict[int, str]]:
        """In a worker thread: the events since the last read, and the verdicts now."""
        events = [
            f"event: finding\ndata: {json.dumps(f)}\n\n"
            for f in _new_findings(self.engine, last_finding)
        ]
        now = _verdicts(self.engine)
        before = self._verdicts
        events += [
            f"event: verdict\ndata: {json.dumps({'case': case, 'verdict': verdict})}\n\n"
            for case, verdict in now.items()
            if before.get(case) != verdict
        ]
        return events, now
