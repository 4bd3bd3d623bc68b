"""A published report of the demo centre, shared by the report tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from truceline.services.demo import build_demo
from truceline.services.ledger import KeyRing
from truceline.services.reports import Document
from truceline.services.signing import report_document, sign_report
from truceline.store.db import make_engine

DAY = date(2020, 11, 21)


@pytest.fixture(scope="session")
def published(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Engine, Document]]:
    """The demo centre with the report of DAY signed by both chiefs (so: published)."""
    where = tmp_path_factory.mktemp("report")
    engine = make_engine(f"sqlite:///{where / 'demo.db'}")
    build_demo(engine, days=3, seed=11, data_dir=where / "data", force=False)
    keyring = KeyRing(where / "data" / "keys")
    draft = report_document(engine, DAY)
    assert draft.draft
    for contingent in ("blue", "green"):
        sign_report(engine, DAY, sha256=draft.sha256, contingent=contingent, actor="chief",
                    keyring=keyring)  # fmt: skip
    document = report_document(engine, DAY)
    assert not document.draft
    yield engine, document
    engine.dispose()


@pytest.fixture(scope="session")
def mission_file(published: tuple[Engine, Document]) -> Path:
    """The published centre's mission file, its keys pinned."""
    return Path(str(published[0].url.database)).parent / "data" / "mission.yaml"
