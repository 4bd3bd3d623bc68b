"""Rendering a page: the templates (autoescaped: nothing stored is ever markup), the menu's
user, the CSRF token (a cookie whose value every form sends back), the session cookie."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from truceline.errors import Forbidden, TrucelineError
from truceline.i18n import say, translator
from truceline.i18n.message import M, Message
from truceline.services import accounts
from truceline.store.missions import load_mission
from truceline.web.deps import CSRF_COOKIE, centre_of, session_user

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.with_name("templates"))
_UNSET: Any = object()
LANG_COOKIE = "truceline_lang"
KEPT = frozenset({"date", "kind", "verdict", "version", "zone", "clause", "state", "page"})


def N_(message: str) -> str:
    """A message marked for the catalogs, translated where it is shown (a page's title)."""
    return message


def page_language(request: Request, languages: tuple[str, ...]) -> str:
    """The language a page is shown in: the one asked for (`?lang=`, then remembered), else
    the one the browser prefers (`Accept-Language`) among the mission's, else its first."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in languages:
            return str(asked)
    weighted: list[tuple[float, int, str]] = []
    for n, part in enumerate(request.headers.get("accept-language", "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = params.replace(" ", "").removeprefix("q=") if params else ""
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if weight <= 0:  # "not acceptable"
            continue
        base = tag.strip().lower().split("-")[0]
        if base in languages:
            weighted.append((-weight, n, base))
    return min(weighted)[2] if weighted else languages[0]


def _lang_url(request: Request) -> Any:
    """The page's own address in another language (the parameters that choose what a page
    shows kept; nothing else from the address is ever echoed)."""
    kept = [(k, v[:64]) for k, v in request.query_params.multi_items() if k in KEPT]

    def url(lang: str) -> str:
        return f"{request.url.path}?{urlencode([*kept, ('lang', lang)])}"

    return url


_WORDS: dict[tuple[str, str], Any] = {}


def _words(mission: Any, lang: str) -> Any:
    """The mission's names and the vocabulary (rules, kinds, verdicts) in the page's language:
    made once per mission file and language."""
    from truceline.services.reports.content import mission_names
    from truceline.services.reports.words import Words

    key = (mission.sha256, lang)
    if key not in _WORDS:
        names = mission_names(mission, areas=False)
        _WORDS[key] = Words({"timezone": mission.timezone.key, "names": names}, lang)
    return _WORDS[key]


def _local_time(words: Any) -> Any:
    """A time (ISO 8601) as a page shows it: in the mission's time zone with its offset, to
    the second, the date in the page's language; anything else as it is."""

    def said(value: Any) -> str:
        if not isinstance(value, str) or len(value) < 19 or value[10] != "T":
            return "" if value is None else str(value)
        try:
            return str(words.moment(value))
        except ValueError:
            return value

    return said


def speaker(lang: str) -> tuple[Any, Any]:
    """`_` and `n_` for a template: the message in `lang`, its `{name}` fields filled."""
    tr = translator(lang)

    def _(message: str, **values: Any) -> str:
        text = tr.gettext(message)
        return text.format(**values) if values else text

    def n_(singular: str, plural: str, n: int, **values: Any) -> str:
        return tr.ngettext(singular, plural, n).format(n=n, **values)

    return _, n_


def _title(title: Any, lang: str) -> str:
    """A page's title in its language: a marked one (`N_`) or a `Message` with values."""
    if isinstance(title, Message) and title.values:
        return say(title, lang)
    return translator(lang).gettext(str(title))


def _said(value: Any, lang: str) -> Any:
    """A page's message in its language: a refusal (a `TrucelineError`) or a `Message`."""
    if isinstance(value, TrucelineError):
        return value.said(lang)
    if isinstance(value, Message):
        return say(value, lang)
    if isinstance(value, list) and value and all(isinstance(x, Message) for x in value):
        return [say(x, lang) for x in value]  # (a page's list of problems)
    return value


def csrf_of(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_csrf(request: Request, sent: str) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden(M("the form is stale (CSRF check failed): reload the page"))


def render(
    request: Request,
    name: str,
    *,
    user: accounts.User | None = _UNSET,
    status_code: int = 200,
    mission: Any = None,
    **context: Any,
) -> HTMLResponse:
    """A page: `mission`, when the caller has loaded it already (one connection less)."""
    centre = centre_of(request)
    if user is _UNSET:
        user = session_user(request)
    if mission is None:
        with centre.engine.connect() as conn:
            mission = load_mission(conn)
    csrf = csrf_of(request)
    lang = page_language(request, mission.languages)
    _, n_ = speaker(lang)
    response = TEMPLATES.TemplateResponse(
        request, name,
        {"user": user, "csrf": csrf, "mission_name": mission.names.get(lang, mission.name),
         "contingents": list(mission.contingents), "illustrative": mission.id == "demo",
         "page_lang": lang, "page_languages": mission.languages, "_": _, "n_": n_,
         "here": request.url.path, "lang_url": _lang_url(request),
         "local_time": _local_time(_words(mission, lang)),
         "words": _words(mission, lang),
         "title": _title(context.pop("title", name), lang),
         **{k: _said(v, lang) for k, v in context.items()}},
        status_code=status_code,
    )  # fmt: skip
    set_cookie(request, response, CSRF_COOKIE, csrf)
    if request.query_params.get("lang") in mission.languages:  # remembered
        set_cookie(request, response, LANG_COOKIE, str(request.query_params["lang"]))
    return response


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    secure = centre_of(request).secure_cookies
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)
