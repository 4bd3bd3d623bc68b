"""Importing files: all-or-nothing per file by default, or `skip_invalid` with a reject file.

Idempotent: importing the same content again adds nothing (identity is `source + id`, else
the hash of the canonical record). Every bad record is named with its location and reason.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from truceline.domain import actions
from truceline.domain import observations as obs
from truceline.domain import positions as pos
from truceline.domain.records import Problems
from truceline.errors import FieldError, TrucelineError, said_in
from truceline.i18n.message import M, Message, Mn, joined
from truceline.ingest import records
from truceline.ingest.base import Chunk, RowError
from truceline.ingest.formats import FORMATS, Format, RejectWriter, Split, SplitContext, format_for
from truceline.ingest.worker import parse_in_worker
from truceline.mission import Mission
from truceline.services.ledger import KeyRing, Signer, node_id, signer
from truceline.store import imports
from truceline.store.db import require_schema, writing
from truceline.store.missions import load_mission

# Files above this size are parsed in a second process while this one writes.
WORKER_THRESHOLD_BYTES = 8 * 1024 * 1024
ERRORS_KEPT = 1000
Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class ImportReport:
    path: Path
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ERRORS_KEPT
    batch_id: int | None = None
    reject_file: Path | None = None

    def summary(self) -> Message:
        text = M(
            "{path}: {accepted}, {duplicates}, {rejected}", path=str(self.path),
            accepted=Mn("{n} accepted", "{n} accepted", self.accepted),
            duplicates=Mn("{n} duplicate", "{n} duplicate", self.duplicates),
            rejected=Mn("{n} rejected", "{n} rejected", self.rejected),
        )  # fmt: skip
        if self.reject_file is not None and self.rejected:
            text = M("{summary} (rejects in {file})", summary=text, file=str(self.reject_file))
        return text


class ImportRejected(TrucelineError):
    """A file with bad records, imported all-or-nothing: nothing of it was stored."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(self.render())

    def render(self, lang: str | None = None) -> str:
        """What was refused, each bad record's problems, in `lang` (None: English)."""
        report = self.report
        headline = Mn(
            "{path}: {n} bad record(s); nothing was imported",
            "{path}: {n} bad record(s); nothing was imported", report.rejected,
            path=str(report.path),
        )  # fmt: skip
        lines = [said_in(headline, lang)]
        lines += [f"  {error.said(lang)}" for error in report.errors[:50]]
        if report.rejected > 50:
            more = Mn("… and {n} more", "… and {n} more", report.rejected - 50)
            lines.append(f"  {said_in(more, lang)}")
        return "\n".join(lines)

    def said(self, lang: str) -> str:
        return self.render(lang)


@dataclass(frozen=True)
class RecordKind:
    """A kind of record: how one is built and checked, its columns, the table it goes to."""

    build: Callable[..., Any]
    columns: tuple[str, ...]
    spec: imports.TableSpec


KINDS = {
    "observations": RecordKind(obs.build_observation, tuple(obs.COLUMNS), imports.OBSERVATIONS),
    "positions": RecordKind(pos.build_position, tuple(pos.COLUMNS), imports.POSITIONS),
}


def check_reporter(mission: Mission, reporter: str) -> None:
    """The contingent that reports (a feed's, a file's default) must be one of the mission's."""
    if reporter not in mission.contingents:
        known = ", ".join(sorted(mission.contingents))
        raise FieldError(
            "reporter",
            M("{reporter!r} is not a contingent ({known})", reporter=reporter, known=known),
        )


def _context(
    kind: str, mission: Mission, default_reporter: str | None, poster: str | None = None
) -> Any:
    """What the record builders of `kind` check records against; `poster` is the contingent
    recording positions (it may not record those of another contingent's declared units)."""
    if kind == "positions":
        return pos.Context(
            mission.actors, mission.unit_owners(), frozenset(mission.contingents), poster
        )
    if default_reporter is not None:
        check_reporter(mission, default_reporter)
    return obs.Context(mission.actors, frozenset(mission.contingents), default_reporter)


def ingest_file(
    engine: Engine,
    path: Path,
    kind: str,
    *,
    fmt: str | None = None,
    default_reporter: str | None = None,
    skip_invalid: bool = False,
    reject_file: Path | None = None,
    progress: Progress | None = None,
    keyring: KeyRing | None = None,
    acting: str | None = None,
) -> ImportReport:
    """Records of `kind` from a file of any registered format (named, else told by the
    file's suffix): all or nothing, or the good ones with `skip_invalid`; idempotent. Positions
    of a unit the mission declares for a contingent other than the one recording them (the
    signer, or `acting`) are bad records."""
    form = format_for(path, kind, fmt)
    require_schema(engine)
    with engine.connect() as conn:
        mission = load_mission(conn)
        sign = signer(conn, mission, keyring, acting or default_reporter)
    poster = _poster(mission, sign, acting) if kind == "positions" else None
    ctx = _context(kind, mission, default_reporter, poster)
    source = Source.file(path, form, kind, ctx)
    return store_import(
        engine, source, kind, KINDS[kind].spec, skip_invalid=skip_invalid,
        reject_file=reject_file, progress=progress, sign=sign, mission=mission,
    )  # fmt: skip


def ingest_observations(engine: Engine, path: Path, **options: Any) -> ImportReport:
    return ingest_file(engine, path, "observations", **options)


def ingest_positions(engine: Engine, path: Path, **options: Any) -> ImportReport:
    return ingest_file(engine, path, "positions", **options)


def _poster(mission: Mission, sign: Signer | None, acting: str | None) -> str | None:
    """The contingent recording positions: the one that signs, else the one acting (None for
    an unsigned import on nobody's behalf)."""
    if sign is not None:
        return sign.contingent
    if acting is not None and acting not in mission.contingents:
        raise TrucelineError(
            M(
                "{acting!r} is not a contingent ({known})",
                acting=acting,
                known=", ".join(sorted(mission.contingents)),
            )
        )
    return acting


def default_reject_path(path: Path) -> Path:
    return Path.cwd() / f"{path.stem}.rejects{path.suffix or '.csv'}"


def _chunks(form: Format, kind: str, path: Path, ctx: Any) -> Iterator[Chunk]:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if form.parallel and size > WORKER_THRESHOLD_BYTES:
        return parse_in_worker(form.parser(kind), path, ctx)
    return form.parser(kind)(path, ctx)


@dataclass
class Source:
    """What an import reads: a file, or records posted to the API."""

    name: str  # as logged and named in the report
    fmt: str
    chunks: Callable[[], Iterator[Chunk]]
    total: int = 0  # bytes, for progress
    path: Path | None = None  # the file (reject files and re-reading need one)
    raw: Callable[[list[str]], dict[str, Any]] = lambda _: {}  # records at locations
    rejects: Callable[[Path, Path], RejectWriter] | None = None  # its format's reject writer
    first_wins: bool = False  # the same identity again with other content is a duplicate

    @classmethod
    def file(cls, path: Path, form: Format, kind: str, ctx: Any) -> Source:
        return cls(
            name=path.name, fmt=form.name, chunks=lambda: _chunks(form, kind, path, ctx),
            total=path.stat().st_size if path.is_file() else 0, path=path,
            raw=lambda locations: form.reread(path, locations), rejects=form.rejects,
        )  # fmt: skip


def store_import(
    engine: Engine,
    source: Source,
    kind: str,
    spec: imports.TableSpec,
    *,
    skip_invalid: bool = False,
    reject_file: Path | None = None,
    progress: Progress | None = None,
    sign: Signer | None = None,
    mission: Mission | None = None,
) -> ImportReport:
    """Store what `source` holds as one batch: all or nothing, or the good records with
    `skip_invalid` (the bad ones to a reject file); its log entry signed by `sign`."""
    with writing(engine) as conn:
        return store_into(
            conn, source, kind, spec, skip_invalid=skip_invalid, reject_file=reject_file,
            progress=progress, sign=sign, mission=mission,
        )  # fmt: skip


def store_into(
    conn: Connection,
    source: Source,
    kind: str,
    spec: imports.TableSpec,
    *,
    skip_invalid: bool = False,
    reject_file: Path | None = None,
    progress: Progress | None = None,
    sign: Signer | None = None,
    mission: Mission | None = None,
    rejects_to: RejectWriter | None = None,
) -> ImportReport:
    """`store_import` within the caller's write transaction (which a refusal rolls back):
    several batches of one file (a CoT file's positions and observations) stand or fall
    together, their bad records written to the caller's one `rejects_to` (which it closes)."""
    path, fmt = source.path, source.fmt
    report = ImportReport(path or Path(source.name))
    rejects: RejectWriter | None = None
    if skip_invalid and path is not None:
        report.reject_file = reject_file or default_reject_path(path)
    batch_hash = imports.BatchHash()
    conflicts: list[RowError] = []

    def reject(error: RowError) -> None:
        nonlocal rejects
        report.rejected += 1
        if len(report.errors) < ERRORS_KEPT:
            report.errors.append(error)
        if rejects_to is not None:
            rejects_to.write(error)
        elif report.reject_file is not None and path is not None and source.rejects is not None:
            if rejects is None:
                rejects = source.rejects(report.reject_file, path)
            rejects.write(error)

    try:
        batch_id = imports.begin_batch(
            conn, kind=kind, source_name=source.name, fmt=fmt, now_us=time.time_ns() // 1000
        )
        for chunk in source.chunks():
            for error in chunk.errors:
                reject(error)
            # After a bad record, an all-or-nothing import only reads on to name the rest.
            if skip_invalid or not report.rejected:
                outcome = imports.insert_chunk(conn, spec, batch_id, chunk.columns, chunk.hashes)
                report.accepted += outcome.inserted
                report.duplicates += outcome.duplicates
                if source.first_wins:  # a re-sent record with other content: the first stands
                    report.duplicates += len(outcome.conflicts)
                batch_hash.add(outcome.hashes)
                for index in [] if source.first_wins else outcome.conflicts:
                    problems = Problems()
                    problems.add("id", M("stored already with other content (same source and id)"))
                    conflicts.append(RowError(chunk.location(index), problems, None))
            if progress is not None:
                progress(chunk.bytes_read, source.total)
        if conflicts:
            raw = source.raw([error.location for error in conflicts])
            for error in conflicts:
                error.raw = raw.get(error.location)
                reject(error)
        if report.rejected and not skip_invalid:
            report.accepted = report.duplicates = 0
            raise ImportRejected(report)
        imports.finish_batch(
            conn,
            batch_id,
            rows=report.accepted,
            duplicates=report.duplicates,
            rejected=report.rejected,
            sha256=batch_hash.hexdigest(),
        )
        if sign is not None and mission is not None and report.accepted:
            payload = {
                "node": node_id(conn), "batch": batch_id, "kind": kind,
                "source": source.name, "format": fmt,
                "rows": report.accepted, "duplicates": report.duplicates,
                "rejected": report.rejected, "sha256": batch_hash.hexdigest(),
            }  # fmt: skip
            sign.log(conn, mission, actions.IMPORT_BATCH, payload)
        report.batch_id = batch_id if report.accepted else None
    finally:
        if rejects is not None:
            rejects.close()
    return report


def ingest_records(
    engine: Engine,
    kind: str,
    items: list[dict[str, Any]],
    *,
    source_name: str,
    default_reporter: str | None = None,
    keyring: KeyRing | None = None,
    acting: str | None = None,
) -> ImportReport:
    """Records posted to the API (observations or positions), all or nothing, idempotent as
    files are; a bad record is named by its index (`body[3]`). Positions of a unit the mission
    declares for a contingent other than `acting` (or the signer) are bad records."""
    if kind not in KINDS:
        raise TrucelineError(
            M("unknown kind of record {kind!r}: {kinds}", kind=kind, kinds=", ".join(KINDS))
        )
    require_schema(engine)
    with engine.connect() as conn:
        mission = load_mission(conn)
        sign = signer(conn, mission, keyring, acting)
    poster = _poster(mission, sign, acting) if kind == "positions" else None
    ctx = _context(kind, mission, default_reporter, poster)
    record = KINDS[kind]
    by_location = {f"body[{i}]": item for i, item in enumerate(items)}
    source = Source(
        name=source_name, fmt="json",
        chunks=lambda: records.parse(items, record.build, ctx, list(record.columns)),
        raw=lambda locations: {x: by_location.get(x) for x in locations},
    )  # fmt: skip
    return store_import(engine, source, kind, record.spec, sign=sign, mission=mission)


@dataclass
class SplitReport:
    """What importing a file of several kinds (a CoT capture) did: records stored per kind,
    duplicates, what its format counts beside (no fix, ignored), and rejected."""

    path: Path
    stored: dict[str, int] = field(default_factory=dict)  # per kind
    duplicates: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # the format's `counted`
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ERRORS_KEPT
    reject_file: Path | None = None
    batches: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {**self.stored, "duplicates": self.duplicates, **self.counts,
                "rejected": self.rejected}  # fmt: skip

    def summary(self) -> Message:
        said = joined([_counted(k, v) for k, v in self.as_dict().items()], ", ")
        text = M("{path}: {counts}", path=str(self.path), counts=said)
        if self.reject_file is not None and self.rejected:
            text = M("{summary} (rejects in {file})", summary=text, file=str(self.reject_file))
        return text

    @property
    def accepted(self) -> int:
        return sum(self.stored.values())


def _counted(what: str, n: int) -> Message:
    """`3 observations`, `1 no fix`: a count of a split's report (its `as_dict`)."""
    if what == "observations":
        return Mn("{n} observations", "{n} observations", n)
    if what == "positions":
        return Mn("{n} positions", "{n} positions", n)
    if what == "duplicates":
        return Mn("{n} duplicates", "{n} duplicates", n)
    if what == "no_fix":
        return Mn("{n} no fix", "{n} no fix", n)
    if what == "ignored":
        return Mn("{n} ignored", "{n} ignored", n)
    if what == "rejected":
        return Mn("{n} rejected", "{n} rejected", n)
    return M("{n} {what}", n=n, what=what.replace("_", " "))  # a kind named by its key


@dataclass
class Built:
    """A split's records built and checked, by kind (chunks ready to store), with its bad
    records and what its format counted: what a feed's worker process hands back."""

    chunks: dict[str, list[Chunk]]
    errors: list[RowError]
    counts: Counter[str]


def build_split(
    split: Split,
    form: Format,
    mission: Mission,
    reporter: str,
    order: Mapping[str, Sequence[int | records.Ready]] | None = None,
) -> Built:
    """Build and check a split's records (no database): by the kind's builder, against the
    mission, as reported by the feed's contingent `reporter`. `order`, by kind: the records
    in the order they came, each the index of one of the split's or one built already (a
    feed's fast path); without it, the split's records in their order."""
    chunks: dict[str, list[Chunk]] = {}
    for kind in form.kinds:
        record = KINDS[kind]
        ctx = _context(kind, mission, reporter, reporter)
        items, labels = split.records.get(kind, []), split.labels.get(kind, [])
        ordered = None if order is None else order.get(kind)
        if ordered is None:
            made = records.parse(items, record.build, ctx, record.columns, labels=labels)
        else:
            made = records.parse_ordered(
                ordered, items, record.build, ctx, record.columns, labels=labels
            )
        chunks[kind] = list(made)
    return Built(chunks, split.errors, split.counts)


def store_split(
    conn: Connection,
    built: Built,
    form: Format,
    *,
    name: str,
    mission: Mission,
    sign: Signer | None,
    skip_invalid: bool,
    path: Path | None = None,
    rejects: RejectWriter | None = None,
) -> SplitReport:
    """Store a split's built records in the caller's write transaction, one batch per kind,
    each signed by `sign`: all or nothing (`ImportRejected`, the caller's transaction then
    rolls back every batch), or the good records with `skip_invalid`. Bad records go to
    `rejects`."""
    report = SplitReport(path or Path(name), counts={c: built.counts[c] for c in form.counted})

    def keep(error: RowError) -> None:
        report.rejected += 1
        if len(report.errors) < ERRORS_KEPT:
            report.errors.append(error)

    for error in built.errors:
        keep(error)
        if rejects is not None:
            rejects.write(error)
    if report.rejected and not skip_invalid:
        raise ImportRejected(ImportReport(report.path, rejected=report.rejected,
                                          errors=report.errors))  # fmt: skip
    for kind in form.kinds:
        record = KINDS[kind]
        source = Source(
            name=name, fmt=form.name, first_wins=kind in form.first_wins, path=path,
            chunks=functools.partial(iter, built.chunks.get(kind, [])),
        )  # fmt: skip
        try:
            done = store_into(
                conn, source, kind, record.spec, skip_invalid=skip_invalid, sign=sign,
                mission=mission, rejects_to=rejects,
            )  # fmt: skip
        except ImportRejected as exc:  # the other batches are rolled back with this one
            exc.report.path = report.path
            raise
        report.stored[kind] = done.accepted
        report.duplicates += done.duplicates
        report.rejected += done.rejected
        report.errors += done.errors[: max(0, ERRORS_KEPT - len(report.errors))]
        if done.batch_id is not None:
            report.batches.append(done.batch_id)
    return report


def ingest_split(
    engine: Engine,
    path: Path,
    fmt: str,
    *,
    reporter: str,
    skip_invalid: bool = False,
    reject_file: Path | None = None,
    keyring: KeyRing | None = None,
) -> SplitReport:
    """A file of several kinds of record (a format with `split`: CoT), all reported and
    signed by the feed's contingent `reporter`, stored as one batch per kind in one
    transaction: all or nothing, or the good records with `skip_invalid` (the bad ones to a
    reject file in the file's own form). Idempotent."""
    form = FORMATS.get(fmt)
    if form is None or form.split is None:
        several = ", ".join(f.name for f in FORMATS.values() if f.split is not None)
        raise FieldError(
            "format",
            M("{fmt!r} is not a format of several kinds ({several})", fmt=fmt, several=several),
        )
    require_schema(engine)
    with engine.connect() as conn:
        mission = load_mission(conn)
        check_reporter(mission, reporter)
        sign = signer(conn, mission, keyring, reporter)
    built = build_split(form.split(path, SplitContext(mission, reporter)), form, mission, reporter)
    target = (reject_file or default_reject_path(path)) if skip_invalid else None
    rejects = None if target is None else form.rejects(target, path)
    try:
        with writing(engine) as conn:
            report = store_split(
                conn, built, form, name=path.name, mission=mission, sign=sign,
                skip_invalid=skip_invalid, path=path, rejects=rejects,
            )  # fmt: skip
    finally:
        if rejects is not None:
            rejects.close()
    if target is not None and report.rejected:
        report.reject_file = target
    elif target is not None and not report.rejected:
        target.unlink(missing_ok=True)
    return report
