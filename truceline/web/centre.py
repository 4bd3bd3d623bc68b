"""What every request of one process shares: the database, the keys, the settings, the live
change feed. Built once by the app factory; requests reach it through `request.app.state`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import Engine

from truceline.services.ledger import KeyRing
from truceline.web.basemap import Basemap, basemap_from_settings
from truceline.web.feed import ChangeFeed

MiB = 1 << 20


def _env_bytes(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Limits:
    """Request bodies' largest sizes, in bytes: read up to this and no further, before any
    parsing or authentication (TRUCELINE_MAX_BODY, _MAX_RECORDS_BODY, _MAX_SYNC_BODY)."""

    body: int = field(default_factory=lambda: _env_bytes("TRUCELINE_MAX_BODY", 256 * 1024))
    records: int = field(default_factory=lambda: _env_bytes("TRUCELINE_MAX_RECORDS_BODY", 16 * MiB))
    sync: int = field(default_factory=lambda: _env_bytes("TRUCELINE_MAX_SYNC_BODY", 64 * MiB))
    # A complaint filed on its page with its attached files (a liaison's only): their 32 MiB
    # (ATTACHMENTS_TOTAL_MAX) and the form's fields.
    complaint: int = field(
        default_factory=lambda: _env_bytes("TRUCELINE_MAX_COMPLAINT_BODY", 33 * MiB)
    )
    subscriptions: int = 4  # live event streams open at once per user (per process)
    recheck_s: float = 15.0  # how often an open stream checks that its session still works

    def for_path(self, path: str) -> int:
        if path in ("/api/v1/observations", "/api/v1/positions"):
            return self.records
        if path == "/api/v1/ledger/entries":
            return self.sync
        if path == "/complaints":
            return self.complaint
        return self.body


@dataclass
class Centre:
    engine: Engine
    keyring: KeyRing
    feed: ChangeFeed
    limits: Limits = field(default_factory=Limits)
    # Behind TLS (a reverse proxy): cookies only over https (TRUCELINE_SECURE_COOKIES).
    secure_cookies: bool = field(default_factory=lambda: _env_flag("TRUCELINE_SECURE_COOKIES"))
    # An offline basemap (an MBTiles file: TRUCELINE_BASEMAP); None: the built-in borders.
    basemap: Basemap | None = field(default_factory=basemap_from_settings)
