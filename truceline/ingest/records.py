"""Records posted to the API: a JSON array of objects with the CSV columns as JSON values
(numbers as numbers). A record is named by its index: `body[3]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from truceline.domain.records import Problems
from truceline.ingest.base import CHUNK_ROWS, Chunk, RowError

Builder = Callable[[Mapping[str, Any], Any], tuple[Any, Problems]]


def parse(
    items: Sequence[Mapping[str, Any]], build: Builder, ctx: Any, name: str = "body"
) -> Iterator[Chunk]:
    for start in range(0, len(items), CHUNK_ROWS):
        chunk = Chunk(ref_format=f"{name}[{{}}]")
        for index in range(start, min(start + CHUNK_ROWS, len(items))):
            fields = {k: v for k, v in items[index].items() if v is not None}
            record, problems = build(fields, ctx)
            if record is None:
                chunk.errors.append(RowError(chunk.ref_format.format(index), problems, fields))
            else:
                chunk.add(record, index)
        yield chunk
