"""A centre with a cast of users for the security tests (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import add_accounts, signed_centre
from truceline.services.ledger import KeyRing

PASSWORD = "correct horse battery"
USERS = {"blue-officer": ("officer", "blue", None), "green-officer": ("officer", "green", None),
         "blue-chief": ("chief", "blue", None), "east-liaison": ("liaison", None, "east"),
         "admin": ("admin", None, None)}  # fmt: skip


@pytest.fixture
def centre(engine: Engine, db_url: str, tmp_path: Path) -> dict[str, Any]:
    keyring = KeyRing(tmp_path / "keys")
    finding = signed_centre(engine, keyring, tmp_path)
    add_accounts(engine, keyring, USERS, PASSWORD)
    return {"engine": engine, "url": db_url, "keys": tmp_path / "keys", "keyring": keyring,
            "finding": finding}  # fmt: skip
