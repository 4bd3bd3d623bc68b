"""Accounts, for an admin: who can log in, how many sessions each has; end a user's sessions,
disable or enable it, set a new password."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import Response

from truceline.domain.limits import PASSWORD_MAX
from truceline.errors import FieldError, NotFound
from truceline.i18n.message import M
from truceline.services import accounts
from truceline.store.missions import load_mission
from truceline.web.deps import PageUser, TheCentre
from truceline.web.pages.render import N_, check_csrf, page_language, redirect, render

UserName = Annotated[str, FastPath(max_length=64, pattern=r"^[A-Za-z0-9._-]{2,64}$")]
Csrf = Annotated[str, Form(max_length=100)]


DONE = frozenset({"revoked", "disabled", "enabled"})


def users_page(
    request: Request, centre: TheCentre, user: PageUser,
    done: Annotated[str | None, Query(max_length=20)] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:  # fmt: skip
    """The accounts; after a change (`?done=…&name=…`, from the change's redirect), what was
    done, said only when the account shows it (the address alone says nothing)."""
    listed = _listed(centre)
    account = next((u for u in listed if u.name == name), None)
    said = None
    if done in DONE and account is not None:
        if done == "revoked" and account.sessions == 0:
            said = M("{name}: every session and token ended", name=name)
        elif done == "disabled" and account.disabled:
            said = M("{name} is disabled: it cannot log in until it is enabled", name=name)
        elif done == "enabled" and not account.disabled:
            said = M("{name} is enabled", name=name)
    return _users_page(request, centre, user, done=said or "",
                       changed=name if said else None, listed=listed)  # fmt: skip


def _listed(centre: TheCentre) -> list[accounts.Account]:
    with centre.engine.connect() as conn:
        return accounts.list_users(conn)


def _users_page(
    request: Request,
    centre: TheCentre,
    user: accounts.User,
    message: str = "",
    done: str = "",
    changed: str | None = None,
    listed: list[accounts.Account] | None = None,
) -> Response:
    """The accounts; after a change, what was done, with a link to the account's row."""
    listed = _listed(centre) if listed is None else listed
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
        accounts.revoke(centre.engine, name)
    else:
        accounts.set_disabled(
            centre.engine, name, disabled=change == "disable", keyring=centre.keyring
        )
    done = {"revoke": "revoked", "disable": "disabled", "enable": "enabled"}[change]
    return redirect(f"/admin/users?{urlencode({'done': done, 'name': name})}#user-{name}")


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
