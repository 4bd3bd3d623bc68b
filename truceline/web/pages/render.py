"""Rendering a page: the templates (autoescaped: nothing stored is ever markup), the menu's
user, the CSRF token (a cookie whose value every form sends back), the session cookie."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from truceline.errors import Forbidden
from truceline.services import accounts
from truceline.store.missions import load_mission
from truceline.web.deps import CSRF_COOKIE, centre_of, session_user

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.with_name("templates"))
_UNSET: Any = object()


def csrf_of(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_csrf(request: Request, sent: str) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden("the form is stale (CSRF check failed): reload the page")


def render(
    request: Request,
    name: str,
    *,
    user: accounts.User | None = _UNSET,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    centre = centre_of(request)
    if user is _UNSET:
        user = session_user(request)
    with centre.engine.connect() as conn:
        mission = load_mission(conn)
    csrf = csrf_of(request)
    response = TEMPLATES.TemplateResponse(
        request, name,
        {"user": user, "csrf": csrf, "mission_name": mission.name,
         "contingents": list(mission.contingents), "illustrative": mission.id == "demo",
         "title": context.pop("title", name), **context},
        status_code=status_code,
    )  # fmt: skip
    set_cookie(request, response, CSRF_COOKIE, csrf)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    secure = centre_of(request).secure_cookies
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)
