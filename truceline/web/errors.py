"""Errors to answers, in one place: a typed error's status (truceline.errors.STATUS), as JSON
`{"error": {"code", "message", "details"}}` for the API and as an HTML page with the menu for
the pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from truceline.errors import FieldError, TrucelineError, status_of
from truceline.i18n import LANGUAGES, say
from truceline.i18n.message import M
from truceline.web.deps import LoginRequired

CODES = {400: "refused", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
         409: "conflict", 413: "too_large", 422: "invalid", 429: "throttled"}  # fmt: skip
TITLES = {400: M("Refused"), 401: M("Not logged in"), 403: M("Not allowed"),
          404: M("Not found"), 409: M("Not now"), 413: M("Too large"), 422: M("Not valid"),
          429: M("Too many attempts")}  # fmt: skip


DETAILS_MAX = 50  # problems named in an answer (a huge bad body is not echoed back whole)


class ApiError(HTTPException):
    """An answer the web layer itself gives (a bad query parameter), with its code."""

    def __init__(
        self, status: int, code: str, message: object, details: list[Any] | None = None
    ) -> None:
        super().__init__(status, str(message))
        self.code, self.details, self.message = code, details or [], message


def _is_api(request: Request) -> bool:
    """An answer in JSON: for the API and data files, unless a browser navigates there (it
    asks for HTML first and no JSON), which gets the error as a page it can read."""
    if not (request.url.path.startswith("/api/") or request.url.path.endswith(".json")):
        return False
    accept = request.headers.get("accept", "")
    return not (accept.startswith("text/html") and "json" not in accept)


def language(request: Request) -> str:
    """The language an answer says its message in: the page's (the mission's languages),
    or, when the mission cannot be read, the browser's among those truceline speaks."""
    from truceline.web.pages.render import page_language

    try:
        from truceline.store.missions import load_mission
        from truceline.web.deps import centre_of

        with centre_of(request).engine.connect() as conn:
            languages = load_mission(conn).languages
    except Exception:  # no mission yet, the database away: an error page still answers
        languages = LANGUAGES
    return page_language(request, languages)


def answer(
    request: Request, status: int, code: str, message: object, details: list[Any] | None = None
) -> Response:
    """The answer to a refused request, its message (and each detail's) in the reader's
    language: `Accept-Language` for the API; the page's language for a page."""
    lang = language(request)
    text = say(message, lang)
    if _is_api(request):
        said = [
            {**d, "message": say(d["message"], lang)} if isinstance(d, dict) and "message" in d
            else d for d in details or []
        ]  # fmt: skip
        body = {"error": {"code": code, "message": text, "details": said}}
        return JSONResponse(body, status_code=status)
    from truceline.web.pages.render import render  # the pages' templates (and menu)

    return render(
        request, "error.html", title=TITLES.get(status, M("Error")), status_code=status,
        status=status, message=text,
    )  # fmt: skip


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    def api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        status = exc.status_code
        message = M("no such page") if status == 404 else exc.detail
        return answer(request, status, CODES.get(status, "http_error"), message)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": [str(x) for x in e.get("loc", ())], "message": e.get("msg", ""),
             "type": e.get("type", "")}
            for e in exc.errors()[:DETAILS_MAX]
        ]  # fmt: skip
        if _is_api(request):
            return answer(request, 422, "invalid", M("the request is not valid"), details)
        said = "; ".join(f"{d['loc'][-1]}: {d['message']}" for d in details if d["loc"])
        return answer(request, 400, "invalid", said or M("the request is not valid"))

    @app.exception_handler(TrucelineError)
    def refused(request: Request, exc: TrucelineError) -> Response:
        status = status_of(exc)
        details: list[Any] = []
        if isinstance(exc, FieldError):
            details = [{"field": f, "message": m} for f, m in exc.problems]
        lang = language(request)
        return answer(request, status, CODES.get(status, "refused"), exc.said(lang), details)

    @app.exception_handler(LoginRequired)
    def login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)
