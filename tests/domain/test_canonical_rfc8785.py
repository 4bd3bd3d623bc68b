"""Our canonical JSON is RFC 8785 (JCS) for our values: strings, booleans, null, integers
within ±2⁵³, and lists and objects of these. Held to the `rfc8785` package (test-only)."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain.canonical import canonical_json

# any text a value or key may hold (no lone surrogate: it is not UTF-8)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_canonical_json_is_rfc8785_for_any_of_our_values(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_keys_beyond_the_bmp_sort_by_utf16_code_units_as_rfc8785_says() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "a": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U0001f600".encode()) < canonical_json(value).index(
        "\uffff".encode()
    )


def test_every_log_entry_and_report_of_the_demo_is_rfc8785(tmp_path: Any) -> None:
    from sqlalchemy import select

    from truceline.services.demo import build_demo
    from truceline.services.signing import report_content
    from truceline.store import ledger as repo
    from truceline.store import tables as t
    from truceline.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    build_demo(engine, days=2, seed=3, data_dir=tmp_path / "data", force=False)
    with engine.connect() as conn:
        entries = list(repo.entries_of(conn.execute(select(t.ledger_entries))))
    from truceline.domain import actions

    held = {e.action for e in entries}
    assert {actions.GENESIS, actions.IMPORT_BATCH, actions.ASSESSMENT_RUN} <= held
    for entry in entries:
        assert canonical_json(entry.body()) == rfc8785.dumps(entry.body()), entry.action
    from datetime import date

    content = report_content(engine, date(2020, 11, 21))
    assert canonical_json(content) == rfc8785.dumps(content)
    engine.dispose()
