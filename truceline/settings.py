"""Where the database and the keys are: flag, else environment, else the working directory."""

from __future__ import annotations

import os
from pathlib import Path

from truceline.store.db import normalise_url

DEFAULT_DATABASE_URL = "sqlite:///truceline.db"


def database_url(flag: str | None) -> str:
    return normalise_url(flag or os.environ.get("TRUCELINE_DATABASE_URL") or DEFAULT_DATABASE_URL)


def key_dir(flag: str | Path | None) -> Path:
    return Path(flag or os.environ.get("TRUCELINE_KEY_DIR") or "keys")
