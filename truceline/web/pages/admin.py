"""Accounts, for an admin: who can log in, how many sessions each has; end a user's sessions,
disable or enable it, set a new password."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Request
from fastapi import Path as FastPath
from fastapi.responses import Response

from truceline.domain.limits import PASSWORD_MAX
from truceline.errors import FieldError, NotFound
from truceline.i18n.message import M, Mn
from truceline.services import accounts
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.render import N_, check_csrf, page_language, render

UserName = Annotated[str, FastPath(max_length=64, pattern=r"^[A-Za-z0-9._-]{2,64}$")]
Csrf = Annotated[str, Form(max_length=100)]


def users_page(request: Request, centre: TheCentre, user: PageUser) -> Response:
    return _users_page(request, centre, user)


def _users_page(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    message: str = "",
    done: str = "",
    changed: str | None = None,
) -> Response:
    """The accounts; after a change, what was done, with a link to the account's row (shown
    here rather than after a redirect: the message is the server's, never the address's)."""
    with centre.engine.connect() as conn:
        listed = accounts.list_users(conn)
    return render(
        request, "users.html", user=user, title=N_("Accounts"), users=listed, message=message,
        done=done, changed=changed,
    )  # fmt: skip


def change_user(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    name: UserName,
    change: Annotated[Literal["revoke", "disable", "enable"], FastPath()],
    csrf: Csrf,
) -> Response:
    check_csrf(request, csrf)
    if change == "revoke":
        ended = accounts.revoke(centre.engine, name)
        done = Mn("{name}: {n} session or token ended", "{name}: {n} sessions or tokens ended",
                  ended, name=name)  # fmt: skip
    else:
        accounts.set_disabled(
            centre.engine, name, disabled=change == "disable", keyring=centre.keyring
        )
        done = (M("{name} is disabled: it cannot log in until it is enabled", name=name)
                if change == "disable" else M("{name} is enabled", name=name))  # fmt: skip
    return _users_page(request, centre, user, done=done, changed=name)


def set_password(
    request: Request,
    centre: TheCentre,
    user: PageUser,
    name: UserName,
    password: Annotated[str, Form(max_length=PASSWORD_MAX * 2)],
    csrf: Csrf,
) -> Response:
    check_csrf(request, csrf)
    try:
        accounts.set_password(centre.engine, name, password)
    except (FieldError, NotFound) as exc:
        with centre.engine.connect() as conn:
            lang = page_language(request, load_mission(conn).languages)
        # the refusal (each field's reason too) in the page's language, after the name
        message = M("{name}: {reason}", name=name, reason=exc.said(lang))
        return _users_page(request, centre, user, message=message)
    done = M("{name} has a new password; its sessions ended", name=name)
    return _users_page(request, centre, user, done=done, changed=name)
