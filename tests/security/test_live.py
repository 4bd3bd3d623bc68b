"""Live events cost one read per change, not per client: 20 clients used to recompute every
finding and case five times a second each (7 CPU-seconds in 9 s)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from truceline.errors import Throttled
from truceline.services.verification import open_case
from truceline.web.feed import ChangeFeed


def test_one_change_is_read_once_for_every_subscriber_and_each_is_told(
    centre: dict[str, Any],
) -> None:
    feed = ChangeFeed(centre["engine"], poll_s=0.05)

    async def scenario() -> tuple[int, int, list[list[str]]]:
        async with Subscribers(feed, 12) as subscribers:
            await asyncio.sleep(0.3)  # polls with nothing changed: no read
            idle_reads = feed.reads
            await asyncio.to_thread(
                open_case, centre["engine"], finding=centre["finding"],
                keyring=centre["keyring"], acting="blue",
            )  # fmt: skip
            for _ in range(100):
                if all(not s.queue.empty() for s in subscribers):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            got = [[s.queue.get_nowait() for _ in range(s.queue.qsize())] for s in subscribers]
            return idle_reads, feed.reads, got

    idle, reads, got = asyncio.run(scenario())
    assert idle == 0 and reads == 1
    assert all(any('"verdict": "pending"' in e for e in events) for events in got)
    assert feed.subscribers == 0  # all gone: the poller stops


class Subscribers:
    """`n` subscribers of users 0..n/3 (three streams each)."""

    def __init__(self, feed: ChangeFeed, n: int) -> None:
        self.feed, self.n = feed, n
        self.contexts: list[Any] = []

    async def __aenter__(self) -> list[Any]:
        subscribers = []
        for k in range(self.n):
            context = self.feed.subscribe(k // 3, cap=3)
            subscribers.append(await context.__aenter__())
            self.contexts.append(context)
        return subscribers

    async def __aexit__(self, *_: object) -> None:
        for context in self.contexts:
            await context.__aexit__(None, None, None)


def test_a_user_holds_a_few_streams_at_most(centre: dict[str, Any]) -> None:
    feed = ChangeFeed(centre["engine"], poll_s=0.05)

    async def scenario() -> None:
        async with Subscribers(feed, 3):  # user 0's three streams
            with pytest.raises(Throttled, match="at most 3 live streams"):
                async with feed.subscribe(0, cap=3):
                    pass
            async with feed.subscribe(1, cap=3):  # another user is not refused
                pass

    asyncio.run(scenario())


def test_an_open_stream_ends_once_its_user_is_revoked(centre: dict[str, Any]) -> None:
    import threading
    import time

    from fastapi.testclient import TestClient

    from tests.security.conftest import PASSWORD
    from truceline.services.accounts import revoke
    from truceline.web.app import create_app
    from truceline.web.centre import Limits

    app = create_app(centre["url"], centre["keys"])
    app.state.centre.limits = Limits(recheck_s=0.2)
    client = TestClient(app)
    token = client.post(
        "/api/v1/auth/token", json={"username": "green-officer", "password": PASSWORD}
    ).json()["access_token"]
    threading.Timer(0.5, revoke, args=(centre["engine"], "green-officer")).start()
    began = time.monotonic()
    with client.stream(
        "GET", "/api/v1/events?seconds=30", headers={"Authorization": f"Bearer {token}"}
    ) as stream:
        text = "".join(stream.iter_text())
    assert text.startswith(": connected") and time.monotonic() - began < 10


def test_subscribers_arriving_at_once_share_one_poller(centre: dict[str, Any]) -> None:
    feed = ChangeFeed(centre["engine"], poll_s=0.05)

    async def scenario() -> int:
        async def one(user: int) -> None:
            async with feed.subscribe(user, cap=3):
                await asyncio.sleep(0.3)

        started = len(asyncio.all_tasks())
        waiting = [asyncio.create_task(one(n)) for n in range(8)]
        await asyncio.sleep(0.1)
        pollers = len(asyncio.all_tasks()) - started - len(waiting)
        await asyncio.gather(*waiting)
        return pollers

    assert asyncio.run(scenario()) == 1
