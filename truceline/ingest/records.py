"""Records posted to the API: a JSON array of objects with the CSV columns as JSON values
(numbers as numbers). A record is named by its index: `body[3]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from truceline.domain.records import Problems
from truceline.i18n.message import M
from truceline.ingest.base import CHUNK_ROWS, Chunk, RowError

UNKNOWN_FIELD = M("unknown field")

Builder = Callable[[Mapping[str, Any], Any], tuple[Any, Problems]]


def parse(
    items: Sequence[Mapping[str, Any]],
    build: Builder,
    ctx: Any,
    columns: Sequence[str] | None = None,
    name: str = "body",
    labels: Sequence[str] | None = None,
) -> Iterator[Chunk]:
    """Chunks of the records built from `items`; a field not in `columns` (when given) is a
    problem of its record, as an unknown column is of a file. A bad record is named
    `name[index]`, or by its label (`labels[index]`, e.g. a CoT event's byte offset and uid)."""
    return parse_ordered(range(len(items)), items, build, ctx, columns, name, labels)


Ready = tuple[tuple[Any, ...], str]  # a record built already: its stored row and its hash


def parse_ordered(
    order: Sequence[int | Ready],
    items: Sequence[Mapping[str, Any]],
    build: Builder,
    ctx: Any,
    columns: Sequence[str] | None = None,
    name: str = "body",
    labels: Sequence[str] | None = None,
) -> Iterator[Chunk]:
    """`parse`, with records built elsewhere already (a feed's fast path) among the items:
    `order` holds, in the order they came, each record as the index of its item in `items`,
    or as its stored row and hash. The chunks are those `parse` makes of the same records."""
    known = None if columns is None else frozenset(columns)

    def where(index: int) -> str:
        return labels[index] if labels is not None else f"{name}[{index}]"

    for start in range(0, len(order), CHUNK_ROWS):
        chunk = Chunk(ref_format=f"{name}[{{}}]")
        ref, stop = start, min(start + CHUNK_ROWS, len(order))
        while ref < stop:
            entry = order[ref]
            if isinstance(entry, int):
                _build_into(chunk, items[entry], entry, ref, build, ctx, known, where)
                ref += 1
                continue
            end = ref + 1  # a run of records built already: added column by column
            while end < stop and not isinstance(order[end], int):
                end += 1
            chunk.add_rows(order[ref:end], ref)  # type: ignore[arg-type]
            ref = end
        yield chunk


def _build_into(
    chunk: Chunk,
    item: Any,
    index: int,
    ref: int,
    build: Builder,
    ctx: Any,
    known: frozenset[str] | None,
    where: Callable[[int], str],
) -> None:
    """Build one record (the item at `index`) into the chunk as its `ref`-th, or its
    problems into the chunk's errors."""
    if not isinstance(item, Mapping):
        problems = Problems()
        problems.add("", M("expected an object, found {kind}", kind=type(item).__name__))
        chunk.errors.append(RowError(where(index), problems, item))
        return
    fields = {k: v for k, v in item.items() if v is not None}
    try:
        record, problems = build(fields, ctx)
    except (ArithmeticError, ValueError, TypeError) as exc:  # a value no check foresaw
        reason = M("cannot be read: {error}", error=str(exc)[:184])  # 200 in all
        record, problems = None, Problems([("", reason)])
    if known is not None and not known.issuperset(fields):
        unknown = Problems((str(k)[:200], UNKNOWN_FIELD) for k in fields if k not in known)
        record, problems = None, Problems([*unknown, *problems])
    if record is None:
        chunk.errors.append(RowError(where(index), problems, fields))
    else:
        chunk.add(record, ref)
