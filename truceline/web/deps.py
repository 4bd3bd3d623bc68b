"""Request dependencies: the centre, a connection, the user (by bearer token for the API, by
session cookie for the pages) with its role checked against the route's policy action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from truceline.domain import policy
from truceline.errors import Forbidden, Unauthenticated
from truceline.i18n.message import M
from truceline.services import accounts
from truceline.web.centre import Centre
from truceline.web.security import SESSION_COOKIE as SESSION_COOKIE

CSRF_COOKIE = "csrf"


class LoginRequired(Exception):
    """A page for logged-in users was asked for without a session: go to the login page."""


def centre_of(request: Request) -> Centre:
    centre: Centre = request.app.state.centre
    return centre


def action_of(request: Request) -> str:
    """The policy action of the route being served (set by the route table)."""
    action: str = request.scope["route"].action
    return action


async def _conn(request: Request) -> AsyncIterator[Connection]:
    with centre_of(request).engine.connect() as conn:
        yield conn


_bearer = HTTPBearer(auto_error=False)


# The dependencies run on the event loop (each is quick: a pool checkout, one indexed
# lookup): a synchronous dependency would cost a hop to a worker thread each.
async def _api_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> accounts.User:
    action = action_of(request)
    if credentials is None:
        raise Unauthenticated(M("log in first: POST /api/v1/auth/token"))
    with centre_of(request).engine.connect() as conn:
        found = accounts.user_for_token(conn, credentials.credentials, kind=accounts.BEARER)
    if found is None:
        raise Unauthenticated(M("the token is not valid (expired, revoked, or a page's session)"))
    policy.require(found.role, action, name=found.name)
    return found


def session_user(request: Request) -> accounts.User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with centre_of(request).engine.connect() as conn:
        return accounts.user_for_token(conn, token, kind=accounts.SESSION)


async def _page_user(request: Request) -> accounts.User:
    user = session_user(request)
    if user is None:
        raise LoginRequired()
    policy.require(user.role, action_of(request), name=user.name)
    return user


async def _maybe_page_user(request: Request) -> accounts.User | None:
    """For pages anyone may read: the user if logged in."""
    return session_user(request)


def require(who: accounts.User, action: str, target: str | None) -> str:
    """Refuse unless `who` may do the scoped `action` for `target` (a contingent or party);
    the user's own contingent or party (Forbidden if it has none)."""
    own = who.contingent if policy.POLICY[action].scope == "contingent" else who.party
    policy.require(who.role, action, own=own, target=target, name=who.name)
    if own is None:
        raise Forbidden(M("{user} has no contingent or party to act for", user=who.name))
    return own


Conn = Annotated[Connection, Depends(_conn)]
ApiUser = Annotated[accounts.User, Depends(_api_user)]
PageUser = Annotated[accounts.User, Depends(_page_user)]
MaybeUser = Annotated[accounts.User | None, Depends(_maybe_page_user)]
TheCentre = Annotated[Centre, Depends(centre_of)]
