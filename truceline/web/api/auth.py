"""Tokens for the API, behind the same throttle as the login page."""

from __future__ import annotations

from fastapi import Request

from truceline.services import accounts
from truceline.web.api.models import Token, TokenRequest
from truceline.web.deps import TheCentre
from truceline.web.pages.session import client_address


def token(request: Request, body: TokenRequest, centre: TheCentre) -> Token:
    """A bearer token (valid for 12 hours, until the user's sessions are revoked)."""
    issued = accounts.login(
        centre.engine, body.username, body.password, address=client_address(request)
    )
    return Token(access_token=issued)
