"""What every answer carries and what every request may cost, as one ASGI middleware:

- security headers: a Content-Security-Policy (scripts only from this server, none inline;
  no framing), nosniff, no referrer, and `Cache-Control: no-store` on everything but the
  static files;
- a body-size limit per route, applied while the body is read (a declared Content-Length
  over the limit is refused before reading anything), so an oversized request costs no more
  memory than the limit;
- an API write without a valid token is refused before its body is read at all, and the
  large limits (posted records, a sync page, a complaint with its attached files) apply only
  to the roles that may post there (for the complaint page: a liaison's session cookie).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser

from truceline.domain import policy
from truceline.i18n import LANGUAGES, say
from truceline.i18n.message import M
from truceline.web.centre import Limits

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
NO_STORE = (b"cache-control", b"no-store")
OPEN_WRITES = frozenset({"/api/v1/auth/token"})  # API writes that need no credentials
# The routes with a larger body limit, and the action a user must be allowed to post there.
LARGE = {"/api/v1/observations": "evidence.record", "/api/v1/positions": "evidence.record",
         "/api/v1/ledger/entries": "ledger.sync"}  # fmt: skip
# The pages' forms with a larger limit (a session's role must be allowed the action).
LARGE_PAGES = {"/complaints": "complaints.file"}
SESSION_COOKIE = "session"  # the pages' session cookie (web.deps)


def _session_token(raw_headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session cookie as the pages will read it: Starlette's parser, on the first Cookie
    header (the one `Request.cookies` reads), so that no other cookie hides it."""
    raw = next((value for name, value in raw_headers if name == b"cookie"), b"")
    if not raw or len(raw) > 8192:
        return None
    token = cookie_parser(raw.decode("latin-1")).get(SESSION_COOKIE, "").strip()
    return token if 0 < len(token) <= 256 else None


class BodyTooLarge(HTTPException):
    """Raised while the body is read (an HTTPException, so that FastAPI's body parsing passes
    it on as it is; the error handlers answer 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, M("the request body is larger than {limit:,} bytes", limit=limit))
        self.limit = limit


def asked_language(headers: dict[bytes, bytes]) -> str:
    """The language the guard answers in: the first of `Accept-Language` that truceline has a
    catalog for (it answers before the app, so before the mission's languages are read)."""
    for part in headers.get(b"accept-language", b"").decode("latin-1")[:500].split(","):
        tag, _, params = part.strip().partition(";")
        if params.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES:
            return base
    return "en"


def _error(status: int, code: str, message: str) -> tuple[dict[str, Any], bytes]:
    body = orjson.dumps({"error": {"code": code, "message": message, "details": []}})
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *HEADERS,
            NO_STORE,
        ],
    }
    return start, body


class Guard:
    def __init__(
        self, app: ASGIApp, limits: Limits, role_of: Callable[[str, str], str | None]
    ) -> None:
        """`role_of(token, kind)`: the role of a valid API token's (kind `bearer`) or page
        session's (`session`) user, else None."""
        self.app, self.limits, self.role_of = app, limits, role_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope["headers"])
        limit = self.limits.body
        writes = scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if writes and path.startswith("/api/") and path not in OPEN_WRITES:
            # An API write is its user's: no valid token, nothing is read; the large limits
            # are for the roles that may post there, everyone else has the small one.
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            role = None
            if scheme.lower() == "bearer" and 0 < len(token.strip()) <= 256:
                role = await asyncio.to_thread(self.role_of, token.strip(), "bearer")
            if role is None:
                await self._refuse(
                    send, 401, "unauthenticated",
                    say(M("log in first: POST /api/v1/auth/token"), asked_language(headers)),
                )  # fmt: skip
                return
            action = LARGE.get(path)
            if action is not None and policy.allowed(role, action):
                limit = self.limits.for_path(path)
        elif writes and path in LARGE_PAGES:
            token = _session_token(scope["headers"])
            role = (
                None if token is None else await asyncio.to_thread(self.role_of, token, "session")
            )
            if role is not None and policy.allowed(role, LARGE_PAGES[path]):
                limit = self.limits.for_path(path)
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            message = M("the request body is larger than {limit:,} bytes", limit=limit)
            await self._refuse(send, 413, "too_large", say(message, asked_language(headers)))
            return
        static = path.startswith("/static/")
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def headed_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = HEADERS if static else [*HEADERS, NO_STORE]
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in names),
                ]
            await send(message)

        try:
            await self.app(scope, bounded_receive, headed_send)
        except BodyTooLarge as exc:
            if not started:
                said = say(exc.detail, asked_language(headers))
                await self._refuse(send, 413, "too_large", said)

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        start, body = _error(status, code, message)
        await send(start)
        await send({"type": "http.response.body", "body": body})
