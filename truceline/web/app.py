"""The web app's factory: the centre (database, keys, settings, change feed), the guard
(security headers, body limits), the error answers, and the route table."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from truceline import __version__
from truceline.services import accounts
from truceline.services.ledger import KeyRing
from truceline.settings import database_url, key_dir
from truceline.store.db import make_engine
from truceline.web import errors
from truceline.web.api.models import ERRORS
from truceline.web.centre import Centre
from truceline.web.feed import ChangeFeed
from truceline.web.routes import ROUTES
from truceline.web.security import Guard

STATIC = Path(__file__).with_name("static")
GC_THRESHOLD = 50_000  # allocations between collections of the youngest objects (default 700)
DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>truceline API</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


def create_app(database: str | None = None, keys: Path | None = None) -> FastAPI:
    engine = make_engine(database_url(database))
    centre = Centre(engine=engine, keyring=KeyRing(key_dir(keys)), feed=ChangeFeed(engine))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # What the app loaded stays for its lifetime: keep the collector from scanning it
        # again and again (a full collection paused requests for tens of milliseconds). A
        # request's objects are freed as it ends (by reference counts), so the collector
        # looks for cycles less often than by default.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 20)
        yield

    app = FastAPI(
        title="truceline", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
        description="The API of a joint ceasefire monitoring centre.", responses=ERRORS,
    )  # fmt: skip
    app.state.centre = centre

    def role_of(token: str, kind: str = accounts.BEARER) -> str | None:
        with engine.connect() as conn:
            user = accounts.user_for_token(conn, token, kind=kind)
        return None if user is None else user.role

    app.add_middleware(Guard, limits=centre.limits, role_of=role_of)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The API's documentation page, from local files (never a CDN), no inline script."""
        return HTMLResponse(DOCS)

    for route in ROUTES:
        app.add_api_route(route.path, route.endpoint, methods=[route.method], **route.options)
        app.router.routes[-1].action = route.action  # type: ignore[attr-defined]
    return app
