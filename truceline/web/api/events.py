"""Server-sent events, from the process's one change feed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse

from truceline.domain import policy
from truceline.errors import Throttled, Unauthenticated
from truceline.i18n.message import M
from truceline.services import accounts
from truceline.web.centre import Centre
from truceline.web.deps import SESSION_COOKIE, TheCentre, action_of


def _credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip(), accounts.BEARER
    return request.cookies.get(SESSION_COOKIE, ""), accounts.SESSION


def _user(centre: Centre, token: str, kind: str) -> accounts.User | None:
    if not token:
        return None
    with centre.engine.connect() as conn:
        return accounts.user_for_token(conn, token, kind=kind)


async def events(
    request: Request,
    centre: TheCentre,
    seconds: Annotated[float, Query(ge=0, le=3600)] = 3600.0,
) -> Response:
    """Server-sent events: `finding` for each new finding, `verdict` when a case's verdict
    changes. For the API's bearer token or a page's session cookie; it ends after `seconds`
    (a client reconnects), or as soon as the session or token stops working (logout,
    revocation, a disabled account: checked every 15 s)."""
    token, kind = _credentials(request)
    user = _user(centre, token, kind)
    if user is None:
        raise Unauthenticated(M("log in first"))
    policy.require(user.role, action_of(request), name=user.name)
    feed, cap, every = centre.feed, centre.limits.subscriptions, centre.limits.recheck_s
    feed.check_cap(user.id, cap)  # refused here (429); the stream takes its slot below

    async def stream() -> AsyncIterator[str]:
        try:
            async with feed.subscribe(user.id, cap) as subscriber:
                yield ": connected\n\n"
                deadline = time.monotonic() + seconds
                checked = time.monotonic()
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        event = await asyncio.wait_for(
                            subscriber.queue.get(), timeout=min(left, every)
                        )
                    except TimeoutError:
                        event = ": keep-alive\n\n"
                    if time.monotonic() - checked >= every or event.startswith(":"):
                        if await asyncio.to_thread(_user, centre, token, kind) is None:
                            return  # logged out, revoked or disabled meanwhile
                        checked = time.monotonic()
                    yield event
        except Throttled:  # another stream of the user took the last slot meanwhile
            yield ": too many streams\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")
