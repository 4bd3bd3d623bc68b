"""Logging in and out. The login page and the API share one throttle, in the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from truceline.domain.limits import PASSWORD_MAX, USER_NAME_MAX
from truceline.errors import Throttled, Unauthenticated
from truceline.i18n.message import M
from truceline.services import accounts, throttle
from truceline.web.deps import SESSION_COOKIE, TheCentre
from truceline.web.pages.render import N_, check_csrf, redirect, render, set_cookie

# Longer than any account's name or password: refused before any work (and kept nowhere).
Name = Annotated[str, Form(max_length=USER_NAME_MAX * 4)]
Password = Annotated[str, Form(max_length=PASSWORD_MAX)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_page(request: Request) -> Response:
    return render(request, "login.html", user=None, title=N_("Log in"))


def login(
    request: Request,
    centre: TheCentre,
    username: Name,
    password: Password,
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    check_csrf(request, csrf)
    try:
        token = accounts.login(
            centre.engine, username, password, address=client_address(request),
            kind=accounts.SESSION,
        )  # fmt: skip
    except (Unauthenticated, Throttled) as exc:
        status = 429 if isinstance(exc, Throttled) else 401
        # the service's refusal as a sentence: its own words, capitalised, with a full stop
        sentence = (
            M("Too many failed logins for this name from here: wait {minutes} minutes.",
              minutes=throttle.WINDOW_S // 60) if isinstance(exc, Throttled)
            else M("Wrong user name or password.")
        )  # fmt: skip
        return render(
            request, "login.html", user=None, title=N_("Log in"), message=sentence,
            status_code=status, typed_name=username,
        )  # fmt: skip
    response = redirect("/")
    set_cookie(request, response, SESSION_COOKIE, token)
    return response


def logout(
    request: Request, centre: TheCentre, csrf: Annotated[str, Form(max_length=100)]
) -> Response:
    """Log out: the session ends on the server (the cookie alone would be kept by a thief)."""
    check_csrf(request, csrf)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(centre.engine, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
