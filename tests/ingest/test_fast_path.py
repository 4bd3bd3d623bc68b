"""The columnar fast path is an optimisation only: it never accepts what the per-row builder
rejects, and what it accepts it stores exactly as the per-row builder would."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from truceline.domain.observations import Context, build_observation
from truceline.ingest.csv_observations import fast_rows

CTX = Context(
    actors=frozenset({"east", "west", "blue", "green"}),
    contingents=frozenset({"blue", "green"}),
    default_reporter="blue",
)
HEADER = [
    "id", "observed_at", "lat", "lon", "uncertainty_m", "kind", "subtype", "count", "actor",
    "source_kind", "source", "reporter", "description",
]  # fmt: skip


def odd(*good: str) -> st.SearchStrategy[str]:
    """Mostly good values, sometimes awkward ones."""
    awkward = st.sampled_from([
        "", " ", " x", "=1", "+a", "-b", "@x", "\x00", "nan", "1e400", "inf", "4_0.1", "1e308",
        "\t=1", " =1", "\r@x", "- =x", "٣",
    ])  # fmt: skip
    return st.one_of(st.sampled_from(good), awkward, st.text(max_size=6))


ROW = st.tuples(
    odd("r1", "r2", "", "A-7"),
    odd("2020-11-20T10:00:00+04:00", "2020-11-20T10:00:00Z", "2020-11-20T10:00:00", "2020-11-20"),
    odd("40.05", "-89.9999999", "90", "90.0000001", "1_0", " 40.1", "40.12345675"),
    odd("46.9", "-180", "180.5", "0", "1e2"),
    odd("", "", "250", "-1", "0.5", "100000", "100000.5", "1e5", "2.5E+4"),
    odd("explosion", "flare", "shot", "count", "boom"),
    odd("", "impact", "airburst", "tank", "mortar"),
    odd("", "1", "12", "0", "٣", "+3", "999999999999999999", "100000", "100001"),
    odd("", "unknown", "east", "blue", "north"),
    odd("observation_post", "uav", "drone"),
    odd("OP-3", "UAV-7", "P 1"),
    odd("", "blue", "green", "east"),
    odd("", "seen", "- none", "x" * 30, " =cmd", "\t@x", "- =x", "-5 km"),
)


def per_row(rows: list[list[str]]) -> tuple[list[tuple], list[str]] | None:
    stored, hashes = [], []
    for row in rows:
        record, _ = build_observation(dict(zip(HEADER, row, strict=True)), CTX)
        if record is None:
            return None
        stored.append(record.stored())
        hashes.append(record.row_hash)
    return stored, hashes


@settings(max_examples=400, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=6))
@example([("r1", "2020-11-20T10:00:00+04:00", "40.05", "46.9", "", "explosion", "impact", "3",
           "", "observation_post", "OP-3", "", "seen")])  # fmt: skip
def test_the_fast_path_accepts_only_what_the_per_row_builder_accepts_and_the_same_way(
    rows: list[tuple[str, ...]],
) -> None:
    table = [list(row) for row in rows]
    columns = [list(c) for c in zip(*table, strict=True)]
    # As the CSV reader calls it: knowing no field is longer than the longest line.
    longest = max(len(",".join(row)) for row in table)
    for fast in (fast_rows(HEADER, columns, CTX), fast_rows(HEADER, columns, CTX, longest)):
        if fast is not None:
            stored, hashes = fast
            assert (list(zip(*stored, strict=True)), hashes) == per_row(table)


def test_the_fast_path_takes_clean_chunks() -> None:
    row = ["r1", "2020-11-20T10:00:00+04:00", "40.05", "46.9", "", "explosion", "impact", "3",
           "", "observation_post", "OP-3", "", "seen"]  # fmt: skip
    table = [row, [*row[:1], "2020-11-20T11:00:00Z", *row[2:]]]
    fast = fast_rows(HEADER, [list(c) for c in zip(*table, strict=True)], CTX)
    assert fast is not None and len(fast[1]) == 2
    assert (list(zip(*fast[0], strict=True)), fast[1]) == per_row(table)
