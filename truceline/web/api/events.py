"""Server-sent events, from the process's one change feed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse

from truceline.domain import policy
from truceline.errors import Unauthenticated
from truceline.services import accounts
from truceline.web.deps import SESSION_COOKIE, TheCentre, action_of

KEEPALIVE_S = 15.0


async def events(
    request: Request,
    centre: TheCentre,
    seconds: Annotated[float, Query(ge=0, le=3600)] = 3600.0,
) -> Response:
    """Server-sent events: `finding` for each new finding, `verdict` when a case's verdict
    changes. For the API's bearer token or a page's session cookie; it ends after `seconds`
    (a client reconnects)."""
    header = request.headers.get("authorization", "")
    with centre.engine.connect() as conn:
        if header.startswith("Bearer "):
            user = accounts.user_for_token(conn, header.removeprefix("Bearer ").strip())
        else:
            cookie = request.cookies.get(SESSION_COOKIE, "")
            user = accounts.user_for_token(conn, cookie, kind=accounts.SESSION) if cookie else None
    if user is None:
        raise Unauthenticated("log in first")
    policy.require(user.role, action_of(request), name=user.name)
    feed, cap = centre.feed, centre.limits.subscriptions
    subscription = feed.subscribe(user.id, user.contingent, cap)
    subscriber = await subscription.__aenter__()  # refused here (429) when over the cap

    async def stream() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                if await request.is_disconnected():
                    break
                try:
                    yield await asyncio.wait_for(
                        subscriber.queue.get(), timeout=min(left, KEEPALIVE_S)
                    )
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            await subscription.__aexit__(None, None, None)

    return StreamingResponse(stream(), media_type="text/event-stream")
