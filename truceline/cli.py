"""The `truceline` command: parse arguments, call services, print."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from truceline import __version__
from truceline.domain import policy
from truceline.errors import FieldError, ProblemsError, TrucelineError
from truceline.i18n import environment_language, say
from truceline.i18n.message import M, Mn

# The terminal's language (TRUCELINE_LANG, else the locale's): the CLI's own words, its help
# and the errors it prints are said in it; machine-readable output (JSON, CSV, ids) never is.
CLI_LANG = environment_language(os.environ)


def _(template: str, /, **values: Any) -> str:
    """Text the CLI prints, in the terminal's language (a template, as `M`'s)."""
    return say(M(template, **values), CLI_LANG)


def n_(singular: str, plural: str, n: int, /, **values: Any) -> str:
    """Text with a number that chooses its form (`{n}`), in the terminal's language."""
    return say(Mn(singular, plural, n, **values), CLI_LANG)


app = typer.Typer(
    name="truceline",
    help=_("Software for a joint ceasefire monitoring centre."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
mission_app = typer.Typer(help=_("Check mission files."), no_args_is_help=True)
ingest_app = typer.Typer(help=_("Import observations and positions."), no_args_is_help=True)
listen_app = typer.Typer(help=_("Live feeds: CoT (TAK) and MQTT."), no_args_is_help=True)
keys_app = typer.Typer(help=_("Contingents' Ed25519 keys."), no_args_is_help=True)
complaints_app = typer.Typer(help=_("Parties' complaints."), no_args_is_help=True)
users_app = typer.Typer(help=_("Accounts."), no_args_is_help=True)
cases_app = typer.Typer(
    help=_("Joint verification of findings and complaints."), no_args_is_help=True
)
ledger_app = typer.Typer(help=_("The contingents' signed logs."), no_args_is_help=True)
observations_app = typer.Typer(help=_("Stored observations."), no_args_is_help=True)
incidents_app = typer.Typer(
    help=_("Incidents: observations correlated into events."), no_args_is_help=True
)
findings_app = typer.Typer(help=_("Findings: apparent breaches of clauses."), no_args_is_help=True)
app.add_typer(mission_app, name="mission")
app.add_typer(ingest_app, name="ingest")
app.add_typer(listen_app, name="listen")
app.add_typer(keys_app, name="keys")
app.add_typer(complaints_app, name="complaints")
app.add_typer(users_app, name="users")
app.add_typer(cases_app, name="cases")
app.add_typer(ledger_app, name="ledger")
app.add_typer(observations_app, name="observations")
app.add_typer(incidents_app, name="incidents")
report_app = typer.Typer(help=_("Reports."), no_args_is_help=True)
app.add_typer(findings_app, name="findings")
app.add_typer(report_app, name="report")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Db = Annotated[
    str | None,
    typer.Option(
        "--db", help=_("Database URL (else TRUCELINE_DATABASE_URL, else sqlite:///truceline.db).")
    ),
]
Json = Annotated[bool, typer.Option("--json", help=_("Print a JSON array of objects."))]
JsonObject = Annotated[bool, typer.Option("--json", help=_("Print one JSON object."))]
ReportFormat = Annotated[str, typer.Option("--format", help=_("text, json, html or pdf."))]
ReportLang = Annotated[
    str | None, typer.Option("--lang", help=_("A language of the mission (default: its first)."))
]
ReportOutput = Annotated[Path | None, typer.Option("-o", "--output", help=_("Write to this file."))]
KeyDir = Annotated[
    Path | None,
    typer.Option(
        "--key-dir", help=_("Private keys' folder (else TRUCELINE_KEY_DIR, else ./keys).")
    ),
]
As = Annotated[
    str | None,
    typer.Option("--as", help=_("The contingent that signs (default: one whose key is here).")),
]
Since = Annotated[str | None, typer.Option(help=_("ISO 8601 time with offset."))]
Until = Annotated[str | None, typer.Option(help=_("ISO 8601 time with offset."))]


def keyring_for(key_dir: Path | None) -> Any:
    from truceline.services.ledger import KeyRing
    from truceline.settings import key_dir as resolve

    return KeyRing(resolve(key_dir))


def engine_for(db: str | None) -> Any:
    from truceline.settings import database_url
    from truceline.store.db import make_engine

    return make_engine(database_url(db))


def parse_time(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    from truceline.domain.timeutil import to_us

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise TrucelineError(
            M("{option}: not an ISO 8601 time: {value!r}", option=option, value=value)
        ) from None
    if moment.tzinfo is None:
        raise TrucelineError(
            M("{option}: {value!r} has no offset (write e.g. +04:00 or Z)", option=option,
              value=value)
        )  # fmt: skip
    return to_us(moment)


def query(db: str | None, listing: Any, **filters: Any) -> list[dict[str, Any]]:
    """Rows from a store listing function, on an initialised database."""
    from truceline.store.db import require_schema

    engine = engine_for(db)
    require_schema(engine)
    with engine.connect() as conn:
        rows: list[dict[str, Any]] = listing(conn, **filters)
    return rows


def show(rows: list[dict[str, Any]], as_json: bool, table: Table, cells: Any, counted: Any) -> None:
    """Print rows as a JSON array, or as a table with a count (`counted(n)`: its words)."""
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    for row in rows:
        table.add_row(*cells(row))
    out.print(table)
    out.print(counted(len(rows)))


def _said(thing: Any) -> str:
    """A service's text in the terminal's language: a `Message`, or what says itself (an
    error, a row error); anything else as it is."""
    if isinstance(thing, str):
        return say(thing, CLI_LANG)
    said = getattr(thing, "said", None)
    return str(said(CLI_LANG)) if callable(said) else str(thing)


def _reason(exc: BaseException) -> Any:
    """An exception's text as a value of a message: its `Message` (said in the terminal's
    language with the rest), else its text."""
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc)


def _fault(fault: Any) -> str:
    """A log's fault (truceline.domain.ledger.Fault): where, then its problem in the
    terminal's language."""
    if callable(getattr(fault, "said", None)):
        return str(fault.said(CLI_LANG))
    where = fault.contingent if fault.seq is None else f"{fault.contingent}#{fault.seq}"
    return f"{where}: {say(fault.problem, CLI_LANG)}"


def _print_version(value: bool) -> None:
    if value:
        out.print(f"truceline {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help=_("Show tracebacks of internal errors."))
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help=_("Print the version."), callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Software for a joint ceasefire monitoring centre."""


@app.command(
    "init",
    help=_("Create or migrate the database, load the mission, start the contingents' logs."),
)
def init_command(
    mission: Annotated[Path, typer.Argument(help=_("The mission file (YAML or JSON)."))],
    generate_keys: Annotated[
        bool,
        typer.Option("--generate-keys", help=_("Make missing keys and print the public keys.")),
    ] = False,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Create or migrate the database, load the mission, start the contingents' logs."""
    from truceline.services.missions import init_database

    keyring = keyring_for(key_dir)
    result = init_database(engine_for(db), mission, keyring=keyring, generate_keys=generate_keys)
    for contingent, public in result.generated.items():
        out.print(_("generated {path}; pin it in the mission file:", path=keyring.path(contingent)))
        out.print(f'  {contingent}: public_key: "{public}"')
    for contingent in result.started:
        out.print(_("started {contingent}'s log (genesis entry signed)", contingent=contingent))
    m = result.mission
    unpinned = [c.id for c in m.contingents.values() if c.public_key is None]
    if unpinned:
        err.print(
            _(
                "warning: the mission file pins no key for {contingents}: this node trusts "
                "the first genesis entry it holds for each; pin each contingent's key in the "
                'mission file (contingents: - {{id: …, public_key: "ed25519:…"}}) so that a '
                "re-keyed log is refused",
                contingents=", ".join(unpinned),
            )
        )
    if result.changed:
        out.print(_("mission {id} ({name}) loaded; sha256 {sha256}", id=m.id, name=m.name,
                    sha256=m.sha256))  # fmt: skip
    else:
        out.print(_("mission {id} ({name}) already loaded, nothing changed; sha256 {sha256}",
                    id=m.id, name=m.name, sha256=m.sha256))  # fmt: skip
    out.print(
        _(
            "{parties} parties, {contingents} contingents, {units} units, {zones} zones, "
            "{clauses} clauses",
            parties=len(m.parties),
            contingents=len(m.contingents),
            units=len(m.units),
            zones=len(m.zones),
            clauses=len(m.clauses),
        )
    )


@keys_app.command(
    "generate",
    help=_(
        "Make a new Ed25519 key pair: the private key file (mode 0600) and the public key to pin."
    ),
)
def keys_generate(
    contingent: Annotated[str, typer.Option("--contingent", help=_("The contingent's id."))],
    key_dir: KeyDir = None,
) -> None:
    """Make a new Ed25519 key pair: the private key file (mode 0600) and the public key to pin."""
    keyring = keyring_for(key_dir)
    public = keyring.generate(contingent)
    out.print(_("wrote {path} (keep it secret; it never enters the database)",
                path=keyring.path(contingent)))  # fmt: skip
    out.print(_("public key, to pin in the mission file: {key}", key=public))


@ledger_app.command(
    "verify",
    help=_(
        "Check every log (chains, signatures, pinned keys, seen references, heads), the "
        "evidence against its logged hashes, and every projection re-derived from the "
        "entries."
    ),
)
def ledger_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help=_(
                "A published report (JSON, HTML or PDF) or a bundle whose heads the logs must "
                "still hold."
            ),
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help=_("Print a JSON array of every problem found ([] when intact).")
        ),
    ] = False,
    db: Db = None,
) -> None:
    """Check every log (chains, signatures, pinned keys, seen references, heads), the evidence
    against its logged hashes, and every projection re-derived from the entries."""
    from truceline.services.ledger import read_checkpoint, verify_ledger
    from truceline.store.db import require_schema
    from truceline.store.missions import load_mission

    engine = engine_for(db)
    require_schema(engine)
    points = [read_checkpoint(path) for path in checkpoint or []]
    with engine.connect() as conn:
        report = verify_ledger(conn, load_mission(conn), checkpoints=points)
    if as_json:
        sys.stdout.write(json.dumps(report.problems(), ensure_ascii=False) + "\n")
    elif not report.started:
        err.print(_("the logs are not started: run `truceline init MISSION --generate-keys`"))
    elif report.ok:
        heads = ", ".join(
            _("{contingent} at {seq} ({hash}…)", contingent=c, seq=seq, hash=h[:12])
            for c, (seq, h) in sorted(report.heads.items())
        )
        out.print(n_("every log is intact: {n} entries; heads: {heads}",
                     "every log is intact: {n} entries; heads: {heads}", report.entries,
                     heads=heads))  # fmt: skip
    else:
        err.print(n_("the logs are NOT intact: {n} problem(s); the first:",
                     "the logs are NOT intact: {n} problem(s); the first:",
                     len(report.faults)))  # fmt: skip
        for fault in report.faults:
            err.print(f"  {_fault(fault)}")
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command(
    "rebuild",
    help=_(
        "Re-derive every projection (cases, rounds, assessments, complaints, retractions, "
        "accounts' roles and state) from the entries alone."
    ),
)
def ledger_rebuild(db: Db = None) -> None:
    """Re-derive every projection (cases, rounds, assessments, complaints, retractions,
    accounts' roles and state) from the entries alone."""
    from truceline.services.projector import rebuild
    from truceline.store.db import require_schema, writing
    from truceline.store.missions import load_mission

    engine = engine_for(db)
    require_schema(engine)
    with writing(engine) as conn:
        result = rebuild(conn, load_mission(conn))
    out.print(n_("rebuilt the projections from {n} entries",
                 "rebuilt the projections from {n} entries", result.applied))  # fmt: skip
    for fault in result.faults:
        err.print(f"  {_fault(fault)}")
    if result.faults:
        raise typer.Exit(1)


@ledger_app.command(
    "export",
    help=_("Write every log entry held here to a bundle for another node."),
)
def ledger_export(
    output: Annotated[Path, typer.Option("-o", "--output", help=_("The bundle file to write."))],
    db: Db = None,
) -> None:
    """Write every log entry held here to a bundle for another node."""
    from truceline.services.exchange import export_bundle

    count = export_bundle(engine_for(db), output)
    out.print(n_("wrote {n} entries to {output}", "wrote {n} entries to {output}", count,
                 output=output))  # fmt: skip


@ledger_app.command(
    "import",
    help=_("Take another node's entries: all are verified first; a bad bundle is refused whole."),
)
def ledger_import(
    bundle: Annotated[Path, typer.Argument(help=_("A bundle from another node."))],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Take another node's entries: all are verified first; a bad bundle is refused whole."""
    from truceline.services.exchange import import_bundle

    result = import_bundle(engine_for(db), bundle, keyring=keyring_for(key_dir))
    counts = {"bundle": bundle, "received": result.received, "new": result.new,
              "evidence": result.evidence}  # fmt: skip
    if result.evidence:
        out.print(_("{bundle}: {received} entries, {new} new, {evidence} rows of evidence "
                    "stored; run `truceline assess` to assess them", **counts))  # fmt: skip
    else:
        out.print(_("{bundle}: {received} entries, {new} new, {evidence} rows of evidence "
                    "stored", **counts))  # fmt: skip
    for problem in result.differing:
        err.print(_("warning: {problem}", problem=problem))
    for case in result.revealed:
        out.print(_("case {case}: every contingent has filed; the positions filed here are "
                    "revealed", case=case))  # fmt: skip


@mission_app.command(
    "new",
    help=_(
        "Write a commented mission file to start from: valid as it is (`mission check` "
        "passes), its zones, places and clauses placeholders to replace with the agreement's."
    ),
)
def mission_new(
    file: Annotated[Path, typer.Argument(help=_("The mission file to write."))],
    force: Annotated[bool, typer.Option("--force", help=_("Overwrite an existing file."))] = False,
) -> None:
    """Write a commented mission file to start from: valid as it is (`mission check` passes),
    its zones, places and clauses placeholders to replace with the agreement's."""
    from importlib.resources import files

    if file.exists() and not force:
        raise TrucelineError(M("{file} exists: give --force to overwrite it", file=file))
    file.write_text(
        files("truceline.mission").joinpath("template.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    out.print(_("wrote {file}: edit it, then `truceline mission check {file}`", file=file))


@mission_app.command(
    "check",
    help=_(
        "Validate a mission file; print its zones (area in km²) and clauses with their versions."
    ),
)
def mission_check(mission: Annotated[Path, typer.Argument(help=_("The mission file."))]) -> None:
    """Validate a mission file; print its zones (area in km²) and clauses with their versions."""
    from truceline.services.missions import read_mission

    m = read_mission(mission)[0]
    out.print(_("mission {id}: {name}", id=m.id, name=m.name))
    out.print(
        _("time zone {timezone}, reporting days close at {cutoff:%H:%M}; sha256 {sha256}",
          timezone=m.timezone.key, cutoff=m.report_cutoff, sha256=m.sha256)
    )  # fmt: skip
    zones = Table(_("zone"), _("name"), _("area km²"), _("buffer m"), title=_("zones"),
                  title_justify="left")  # fmt: skip
    for z in m.zones.values():
        zones.add_row(
            z.id, z.name, f"{z.area_km2:,.1f}", "" if z.buffer_m is None else f"{z.buffer_m:g}"
        )
    out.print(zones)
    clauses = Table(_("clause"), _("rule"), _("title"), _("versions"), title=_("clauses"),
                    title_justify="left")  # fmt: skip
    for c in m.clauses.values():
        versions = ", ".join(
            _("v{version} from {start}", version=v.version,
              start=v.effective.isoformat() if v.effective else _("the start"))
            for v in c.versions
        )  # fmt: skip
        clauses.add_row(c.id, c.rule, c.title or "", versions)
    out.print(clauses)
    out.print(_("the mission file is valid"))


ReporterOpt = Annotated[
    str | None, typer.Option("--reporter", help=_("Contingent for rows that name no reporter."))
]
SkipOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid", help=_("Import the good records; write the bad to a reject file.")
    ),
]
RejectOpt = Annotated[
    Path | None,
    typer.Option("--reject-file", help=_("Where the bad records go (with --skip-invalid).")),
]


def _check_reject_options(files: list[Path], skip_invalid: bool, reject_file: Path | None) -> None:
    if reject_file is not None and not skip_invalid:
        raise TrucelineError(M("--reject-file goes with --skip-invalid"))
    if reject_file is not None and len(files) > 1:
        raise TrucelineError(M("--reject-file takes one input file"))


NoAssess = Annotated[
    bool,
    typer.Option(
        "--no-assess", help=_("Do not assess what arrives (bulk loading: run `assess` after).")
    ),
]


def _assess_arrivals(engine: Any, keyring: Any, acting: str | None) -> None:
    """What an import stored is assessed at once (incrementally: the window of the new data),
    so its findings need nobody to run `truceline assess`."""
    from truceline.services.assess import assess

    report = assess(engine, keyring=keyring, acting=acting)
    if not report.up_to_date:
        found = sum(report.active_findings.values())
        err.print(_("assessed: {incidents} incident(s) in the new data's window, {found} "
                    "active finding(s) in all", incidents=report.incidents,
                    found=found))  # fmt: skip


def _run_imports(files: list[Path], run: Any, *, quiet: bool = False) -> tuple[list[Any], int]:
    """Run an import per file, saying what each did (not its summary when `quiet`): the
    reports of those that ran, and how many files failed."""
    from truceline.services.ingest import ImportRejected

    failed = 0
    reports: list[Any] = []
    for path in files:
        try:
            if err.is_terminal:
                with Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    DownloadColumn(),
                    TimeRemainingColumn(),
                    console=err,
                    transient=True,
                ) as bar:
                    task = bar.add_task(
                        path.name, total=path.stat().st_size if path.is_file() else None
                    )

                    def advance(done: int, total: int, task: Any = task, bar: Any = bar) -> None:
                        bar.update(task, completed=done, total=total)

                    report = run(path, advance)
            else:
                report = run(path, None)
        except ImportRejected as exc:
            failed += 1
            err.print(exc.said(CLI_LANG))
            err.print("  " + _("(fix them, or import the good records with --skip-invalid)"))
            continue
        except ProblemsError as exc:
            failed += 1
            err.print(exc.render(lang=CLI_LANG))
            continue
        except FieldError as exc:
            failed += 1
            err.print(_("{error}; nothing was imported", error=exc.render(_flag, lang=CLI_LANG)))
            continue
        except TrucelineError as exc:
            failed += 1
            err.print(_("{error}; nothing was imported", error=exc.said(CLI_LANG)))
            continue
        reports.append(report)
        if not quiet:
            out.print(_said(report.summary()))
        for error in report.errors[:20]:
            err.print("  " + _("rejected {error}", error=error.said(CLI_LANG)))
    return reports, failed


Format = Annotated[
    str | None, typer.Option("--format", help=_("The file's format (default: by its suffix)."))
]


def _ingest(
    kind: str,
    files: list[Path],
    fmt: str | None,
    reporter: str | None,
    skip_invalid: bool,
    reject_file: Path | None,
    key_dir: Path | None,
    acting: str | None,
    db: str | None,
    no_assess: bool = False,
) -> None:
    from truceline.services.ingest import ingest_file

    _check_reject_options(files, skip_invalid, reject_file)
    engine, keyring = engine_for(db), keyring_for(key_dir)
    reports, failed = _run_imports(files, lambda path, progress: ingest_file(
        engine, path, kind, fmt=fmt, default_reporter=reporter, skip_invalid=skip_invalid,
        reject_file=reject_file, progress=progress, keyring=keyring, acting=acting,
    ))  # fmt: skip
    if any(r.accepted for r in reports) and not no_assess:
        _assess_arrivals(engine, keyring, acting or reporter)
    if failed:
        raise typer.Exit(1)


@ingest_app.command(
    "observations",
    help=_(
        "Import observations. Each file is all-or-nothing unless --skip-invalid; importing "
        "again adds nothing. What is stored is assessed at once (unless --no-assess)."
    ),
)
def ingest_observations_command(
    files: Annotated[list[Path], typer.Argument(help=_("CSV or GeoJSON files."))],
    fmt: Format = None,
    reporter: ReporterOpt = None,
    skip_invalid: SkipOpt = False,
    reject_file: RejectOpt = None,
    key_dir: KeyDir = None,
    acting: As = None,
    no_assess: NoAssess = False,
    db: Db = None,
) -> None:
    """Import observations. Each file is all-or-nothing unless --skip-invalid; importing
    again adds nothing. What is stored is assessed at once (unless --no-assess)."""
    _ingest(
        "observations", files, fmt, reporter, skip_invalid, reject_file, key_dir, acting, db,
        no_assess,
    )  # fmt: skip


@ingest_app.command(
    "positions",
    help=_(
        "Import unit positions (tracks). Each file is all-or-nothing unless --skip-invalid; "
        "importing again adds nothing. What is stored is assessed at once (unless "
        "--no-assess)."
    ),
)
def ingest_positions_command(
    files: Annotated[list[Path], typer.Argument(help=_("Positions CSV files."))],
    fmt: Format = None,
    skip_invalid: SkipOpt = False,
    reject_file: RejectOpt = None,
    key_dir: KeyDir = None,
    acting: As = None,
    no_assess: NoAssess = False,
    db: Db = None,
) -> None:
    """Import unit positions (tracks). Each file is all-or-nothing unless --skip-invalid;
    importing again adds nothing. What is stored is assessed at once (unless --no-assess)."""
    _ingest(
        "positions", files, fmt, None, skip_invalid, reject_file, key_dir, acting, db, no_assess
    )


@ingest_app.command(
    "cot",
    help=_(
        "Import CoT events: self-reports as positions, markers as observations. Each file is "
        "all-or-nothing unless --skip-invalid (the bad events then go to a reject file, each "
        "after a comment saying where and why); importing again adds nothing. What is stored "
        "is assessed at once (unless --no-assess)."
    ),
)
def ingest_cot_command(
    files: Annotated[list[Path], typer.Argument(help=_("Files of CoT events (TAK clients' XML)."))],
    reporter: Annotated[
        str, typer.Option("--reporter", help=_("The feed's contingent: it reports and signs."))
    ],
    skip_invalid: SkipOpt = False,
    reject_file: RejectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print one JSON object."))] = False,
    key_dir: KeyDir = None,
    no_assess: NoAssess = False,
    db: Db = None,
) -> None:
    """Import CoT events: self-reports as positions, markers as observations. Each file is
    all-or-nothing unless --skip-invalid (the bad events then go to a reject file, each after
    a comment saying where and why); importing again adds nothing. What is stored is assessed
    at once (unless --no-assess)."""
    from truceline.services.ingest import ingest_split

    _check_reject_options(files, skip_invalid, reject_file)
    engine, keyring = engine_for(db), keyring_for(key_dir)
    reports, failed = _run_imports(files, lambda path, _progress: ingest_split(
        engine, path, "cot", reporter=reporter, skip_invalid=skip_invalid,
        reject_file=reject_file, keyring=keyring,
    ), quiet=as_json)  # fmt: skip
    totals = {k: sum(r.as_dict()[k] for r in reports) for k in COT_COUNTS}
    if any(r.accepted for r in reports) and not no_assess:
        _assess_arrivals(engine, keyring, reporter)
    if as_json:
        out.print(json.dumps(totals))
    if failed:
        raise typer.Exit(1)


COT_COUNTS = ("positions", "observations", "duplicates", "no_fix", "ignored", "rejected")


Reporter = Annotated[
    str, typer.Option("--reporter", help=_("The feed's contingent: it reports and signs."))
]


def _feed_logging() -> None:
    """A feed says what it rejects and refuses (its own messages only, not its libraries')."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    feeds = logging.getLogger("truceline.feeds")
    feeds.addHandler(handler)
    feeds.setLevel(logging.INFO)
    feeds.propagate = False


def _run_feed(sink: Any, start: Any, before_commit: Any, after_commit: Any) -> None:
    """Start a feed, run until SIGINT or SIGTERM, commit what it holds, print its counts."""
    import signal
    import threading

    stopping = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopping.set())
    sink.start()
    try:
        start()
    except BaseException:
        sink.stop()
        raise
    stopping.wait()
    err.print(_("stopping: committing what is held"))
    before_commit()
    counts = sink.stop()
    after_commit()
    out.print(json.dumps(counts.as_dict()))


@listen_app.command(
    "cot",
    help=_(
        "Receive CoT from TAK clients: events are stored as signed batches about every second "
        "and assessed as they arrive; TLS clients (and plain TCP ones on the loopback) are "
        "sent the zones, then each new finding. Ctrl-C or SIGTERM commits what is held, "
        "prints the counts."
    ),
)
def listen_cot_command(
    reporter: Reporter,
    tcp: Annotated[int | None, typer.Option("--tcp", help=_("Plain TCP port (8087)."))] = None,
    udp: Annotated[int | None, typer.Option("--udp", help=_("UDP port (4242)."))] = None,
    tls: Annotated[
        int | None, typer.Option("--tls", help=_("TLS port with client certificates (8089)."))
    ] = None,
    cert: Annotated[
        Path | None, typer.Option("--cert", help=_("Server certificate (PEM)."))
    ] = None,
    key: Annotated[Path | None, typer.Option("--key", help=_("Its private key (PEM)."))] = None,
    client_ca: Annotated[
        Path | None, typer.Option("--client-ca", help=_("CA of the clients' certificates (PEM)."))
    ] = None,
    host: Annotated[str, typer.Option("--host", help=_("Address to bind."))] = "127.0.0.1",
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Receive CoT from TAK clients: events are stored as signed batches about every second
    and assessed as they arrive; TLS clients (and plain TCP ones on the loopback) are sent the
    zones, then each new finding. Ctrl-C or SIGTERM commits what is held, prints the counts."""
    import asyncio
    import threading

    from truceline.feeds.cot_server import CotListener, TlsFiles
    from truceline.feeds.sink import FeedSink, tune_collector

    files = None
    if tls is not None:
        if cert is None or key is None or client_ca is None:
            raise TrucelineError(M("--tls needs --cert, --key and --client-ca"))
        files = TlsFiles(cert, key, client_ca)
    _feed_logging()
    sink = FeedSink(engine_for(db), reporter=reporter, keyring=keyring_for(key_dir),
                    name=f"listen cot {host}", fmt="cot", worker=True)  # fmt: skip
    tune_collector()
    listener = CotListener(sink, host=host, tcp=tcp, udp=udp, tls=tls, tls_files=files)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            ports = loop.run_until_complete(listener.start())
        except OSError as exc:
            failure.append(exc)
            ready.set()
            return
        err.print(_("listening: {ports}", ports=", ".join(_said(p) for p in ports.said)))
        ready.set()
        loop.run_forever()
        loop.run_until_complete(listener.close())
        loop.close()

    thread = threading.Thread(target=serve, name="listen-cot", daemon=True)

    def start() -> None:
        thread.start()
        ready.wait()
        if failure:
            raise TrucelineError(
                M("cannot listen on {host}: {reason}", host=host, reason=_reason(failure[0]))
            )

    def close_servers() -> None:  # nothing arrives while the sink commits the rest
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    _run_feed(sink, start, close_servers, lambda: None)


@listen_app.command(
    "mqtt",
    help=_(
        "Receive a feed over MQTT (QoS 1, persistent session): each message is acknowledged "
        "only once stored, so nothing published while the listener is down or in flight when "
        "it stops is lost, and nothing is stored twice. Ctrl-C or SIGTERM commits what is "
        "held."
    ),
)
def listen_mqtt_command(
    url: Annotated[str, typer.Option("--url", help=_("mqtt://HOST:PORT (mqtts:// for TLS)."))],
    topic: Annotated[str, typer.Option("--topic", help=_("The topic (filter) to subscribe."))],
    reporter: Reporter,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help=_("Session id (default from topic, reporter).")),
    ] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help=_("File holding the password."))
    ] = None,
    tls_ca: Annotated[
        Path | None, typer.Option("--tls-ca", help=_("CA of the broker's certificate (TLS)."))
    ] = None,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Receive a feed over MQTT (QoS 1, persistent session): each message is acknowledged
    only once stored, so nothing published while the listener is down or in flight when it
    stops is lost, and nothing is stored twice. Ctrl-C or SIGTERM commits what is held."""
    from truceline.feeds.mqtt import Broker, MqttListener
    from truceline.feeds.sink import FeedSink, tune_collector

    broker = Broker.parse(url)
    _feed_logging()
    sink = FeedSink(engine_for(db), reporter=reporter, keyring=keyring_for(key_dir),
                    name=f"listen mqtt {topic}"[:200], fmt="mqtt", worker=True)  # fmt: skip
    tune_collector()
    listener = MqttListener(
        sink, broker, topic, client_id=client_id, username=username,
        password_file=password_file, tls_ca=tls_ca,
    )  # fmt: skip

    def start() -> None:
        listener.start()
        if not listener.wait_subscribed(30):
            listener.stop()
            raise TrucelineError(M("the MQTT broker at {host}:{port} did not accept the "
                                   "subscription to {topic!r} within 30 s", host=broker.host,
                                   port=broker.port, topic=topic))  # fmt: skip
        err.print(_("listening: mqtt {host}:{port} topic {topic!r} as {client} (QoS 1, "
                    "persistent session)", host=broker.host, port=broker.port, topic=topic,
                    client=listener.client_id))  # fmt: skip

    _run_feed(sink, start, lambda: None, listener.stop)  # acknowledged while connected


@observations_app.command(
    "retract",
    help=_(
        "Retract an observation (an entry of the contingent that reported it): it stays "
        "stored, shown as retracted, stops counting, and its time window is assessed again."
    ),
)
def observations_retract(
    observation: Annotated[int, typer.Argument(help=_("The observation's id."))],
    reason: Annotated[str, typer.Option("--reason", help=_("Why it is withdrawn."))],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Retract an observation (an entry of the contingent that reported it): it stays stored,
    shown as retracted, stops counting, and its time window is assessed again."""
    from truceline.services.corrections import retract_observation

    done = retract_observation(
        engine_for(db), observation, reason=reason, keyring=keyring_for(key_dir)
    )
    out.print(
        _("observation {observation} retracted by {contingent}; re-assessed: {incidents} "
          "incidents, {findings} findings in the window", observation=observation,
          contingent=done.contingent, incidents=done.assessed.incidents,
          findings=len(done.assessed.findings))
    )  # fmt: skip


@observations_app.command("list", help=_("List stored observations in time order."))
def observations_list(
    since: Since = None,
    until: Until = None,
    kind: Annotated[str | None, typer.Option(help=_("Only this kind."))] = None,
    limit: Annotated[int | None, typer.Option(help=_("At most this many."))] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """List stored observations in time order."""
    from truceline.store.observations import list_observations

    rows = query(
        db, list_observations, since_us=parse_time(since, "--since"),
        until_us=parse_time(until, "--until"), kind=kind, limit=limit,
    )  # fmt: skip
    table = Table(
        _("id"), _("observed"), _("kind"), _("count"), _("actor"), _("source"), _("reporter"),
        _("lat"), _("lon"), _("retracted"),
    )  # fmt: skip
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["observed_from"], _kind(r), str(r["count"]), r["actor"],
        f"{r['source_kind']}:{r['source']}", r["reporter"], f"{r['lat']:.5f}", f"{r['lon']:.5f}",
        "" if r["retracted"] is None
        else _("by {by}: {reason}", by=r["retracted"]["by"], reason=r["retracted"]["reason"]),
    ), lambda n: n_("{n} observation(s)", "{n} observation(s)", n))  # fmt: skip


@app.command(
    "assess",
    help=_("Correlate observations into incidents and evaluate every clause; store the findings."),
)
def assess_command(
    since: Since = None,
    until: Until = None,
    full: Annotated[bool, typer.Option("--full", help=_("Re-assess all the data."))] = False,
    key_dir: KeyDir = None,
    acting: As = None,
    db: Db = None,
) -> None:
    """Correlate observations into incidents and evaluate every clause; store the findings."""
    from truceline.domain.timeutil import iso
    from truceline.services.assess import assess

    engine = engine_for(db)
    report = assess(
        engine,
        since_us=parse_time(since, "--since"),
        until_us=parse_time(until, "--until"),
        full=full,
        keyring=keyring_for(key_dir),
        acting=acting,
    )
    if report.up_to_date:
        out.print(_("nothing new since the last assessment; nothing changed"))
    else:
        f0, f1 = report.window
        begin = iso(f0) if f0 is not None else _("the beginning")
        end = iso(f1) if f1 is not None else _("the end")
        out.print(
            _("assessed {begin} to {end}: {incidents} incident(s), {findings} finding(s), "
              "{changes} change(s)", begin=begin, end=end, incidents=report.incidents,
              findings=len(report.findings), changes=report.changes)
        )  # fmt: skip
    with engine.connect() as conn:
        from truceline.store.missions import load_mission

        mission = load_mission(conn)
    table = Table(
        _("clause"),
        _("rule"),
        _("title"),
        _("active findings"),
        title=_("findings per clause"),
        title_justify="left",
    )
    for clause in mission.clauses.values():
        table.add_row(
            clause.id,
            clause.rule,
            clause.title or "",
            str(report.active_findings.get(clause.id, 0)),
        )
    out.print(table)
    out.print(n_("{n} active incident(s)", "{n} active incident(s)", report.active_incidents))


@incidents_app.command("list", help=_("List incidents in time order."))
def incidents_list(
    since: Since = None,
    until: Until = None,
    superseded: Annotated[
        bool, typer.Option("--superseded", help=_("Include superseded ones."))
    ] = False,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """List incidents in time order."""
    from truceline.store.compliance import list_incidents

    rows = query(
        db, list_incidents, since_us=parse_time(since, "--since"),
        until_us=parse_time(until, "--until"), include_superseded=superseded,
    )  # fmt: skip
    table = Table(
        _("id"), _("start"), _("end"), _("kind"), _("count"), _("actor"), _("obs."),
        _("sources"), _("lat"), _("lon"),
    )  # fmt: skip
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["start"], r["end"], r["kind"], str(r["count"]), r["actor"],
        str(len(r["observations"])), str(len(r["sources"])), f"{r['lat']:.5f}", f"{r['lon']:.5f}",
    ), lambda n: n_("{n} incident(s)", "{n} incident(s)", n))  # fmt: skip


@findings_app.command("list", help=_("List findings in time order."))
def findings_list(
    clause: Annotated[str | None, typer.Option("--clause", help=_("Only this clause."))] = None,
    since: Since = None,
    until: Until = None,
    withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help=_("Include withdrawn ones."))
    ] = False,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """List findings in time order."""
    from truceline.store.compliance import finding_what, list_findings

    rows = query(
        db, list_findings, clause=clause, since_us=parse_time(since, "--since"),
        until_us=parse_time(until, "--until"), include_withdrawn=withdrawn,
    )  # fmt: skip
    table = Table(
        _("id"), _("clause"), _("v"), _("rule"), _("zone"), _("subject"), _("start"), _("end"),
        _("evidence"),
    )  # fmt: skip
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["clause"], str(r["clause_version"]), r["rule"], r["zone"] or "",
        r["subject"] or "", r["start"], r["end"], _said(finding_what(r)),
    ), lambda n: n_("{n} finding(s)", "{n} finding(s)", n))  # fmt: skip


@report_app.command(
    "daily",
    help=_(
        "The report of a reporting day as it stands (the mission's time zone and cutoff), "
        "with the sha256 that `report sign` takes; a draft until every contingent has signed "
        "it."
    ),
)
def report_daily(
    day: Annotated[
        str | None, typer.Option("--date", help=_("Reporting day YYYY-MM-DD (default: today's)."))
    ] = None,
    fmt: ReportFormat = "text",
    lang: ReportLang = None,
    output: ReportOutput = None,
    db: Db = None,
) -> None:
    """The report of a reporting day as it stands (the mission's time zone and cutoff), with
    the sha256 that `report sign` takes; a draft until every contingent has signed it."""
    from datetime import UTC

    from truceline.services.report import current_day, parse_day
    from truceline.services.reports import language_for
    from truceline.services.signing import report_document

    renderer = _report_renderer(fmt, output)
    engine = engine_for(db)
    chosen = parse_day(day) if day else current_day(engine, datetime.now(UTC))
    document = report_document(engine, chosen)
    _write_report(renderer.report(document, language_for(document.content, lang)), output,
                  _("sha256 of the content {sha256}", sha256=document.sha256))  # fmt: skip


def _report_renderer(fmt: str, output: Path | None) -> Any:
    from truceline.services.reports import renderer_for

    renderer = renderer_for(fmt)
    if renderer.name == "pdf" and output is None:
        raise TrucelineError(M("--format pdf: give the file to write with -o FILE"))
    return renderer


def _write_report(data: bytes, output: Path | None, said: str) -> None:
    """A rendering to standard output, or to the file given (saying what it holds)."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        err.print(_("wrote {output} ({said})", output=output, said=said))


@report_app.command(
    "period",
    help=_(
        "A report for a period, built only from the published reports of the days it covers "
        "(each listed with its sha256 and version; a day not published is named and not "
        "counted). It is not signed again."
    ),
)
def report_period(
    first: Annotated[str, typer.Option("--from", help=_("The first reporting day, YYYY-MM-DD."))],
    last: Annotated[str, typer.Option("--to", help=_("The last reporting day, YYYY-MM-DD."))],
    fmt: ReportFormat = "text",
    lang: ReportLang = None,
    output: ReportOutput = None,
    db: Db = None,
) -> None:
    """A report for a period, built only from the published reports of the days it covers
    (each listed with its sha256 and version; a day not published is named and not
    counted). It is not signed again."""
    from truceline.services.report import parse_day
    from truceline.services.reports import Document, language_for
    from truceline.services.reports.period import period_content
    from truceline.store.db import snapshot
    from truceline.store.missions import load_mission

    renderer = _report_renderer(fmt, output)
    with snapshot(engine_for(db)) as conn:
        content = period_content(conn, load_mission(conn), parse_day(first), parse_day(last))
    data = renderer.report(Document.of(content), language_for(content, lang))
    days = len(content["days"])
    _write_report(data, output, n_("{n} published day(s)", "{n} published day(s)", days))


@report_app.command(
    "sign",
    help=_(
        "Sign the day's report for a contingent: exactly the version whose sha256 its chief "
        "read (refused if the report changed since). Published once every contingent has "
        "signed."
    ),
)
def report_sign(
    day: Annotated[str, typer.Option("--date", help=_("Reporting day YYYY-MM-DD."))],
    contingent: Annotated[str, typer.Option("--as", help=_("The contingent whose chief signs."))],
    sha256: Annotated[
        str, typer.Option("--sha256", help=_("The sha256 of the report read (report daily)."))
    ],
    actor: Annotated[
        str | None, typer.Option("--actor", help=_("Who signs (default: the contingent)."))
    ] = None,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Sign the day's report for a contingent: exactly the version whose sha256 its chief
    read (refused if the report changed since). Published once every contingent has signed."""
    from truceline.services.report import parse_day
    from truceline.services.signing import sign_report

    state = sign_report(
        engine_for(db), parse_day(day), sha256=sha256.strip().lower(), contingent=contingent,
        actor=actor or contingent, keyring=keyring_for(key_dir),
    )  # fmt: skip
    if state["published"]:
        out.print(_("{day}: signed by {contingent}; published (sha256 {sha256})", day=day,
                    contingent=contingent, sha256=state["published_sha256"]))  # fmt: skip
    else:
        waiting = ", ".join(state["waiting_for"]) or _("nobody")
        out.print(_("{day}: signed by {contingent}; waiting for {waiting}", day=day,
                    contingent=contingent, waiting=waiting))  # fmt: skip


@report_app.command(
    "export",
    help=_(
        "Write the published report of a day with its signed log entries, pinned keys and "
        "checkpoint: what `report verify` checks, offline, anywhere. Every version of a "
        "corrected day stays published: `--version 1` writes the first."
    ),
)
def report_export(
    day: Annotated[str, typer.Option("--date", help=_("Reporting day YYYY-MM-DD."))],
    output: Annotated[Path, typer.Option("-o", "--output", help=_("The JSON file to write."))],
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help=_("A published version (default: the latest).")),
    ] = None,
    db: Db = None,
) -> None:
    """Write the published report of a day with its signed log entries, pinned keys and
    checkpoint: what `report verify` checks, offline, anywhere. Every version of a corrected
    day stays published: `--version 1` writes the first."""
    from truceline.services.report import parse_day
    from truceline.services.reports.json_renderer import signed_json
    from truceline.services.signing import published_document
    from truceline.store.missions import load_mission

    engine = engine_for(db)
    with engine.connect() as conn:
        document = published_document(conn, load_mission(conn), parse_day(day), version)
    if document is None:
        if version is not None:
            raise TrucelineError(
                M("version {version} of the report of {day} is not published: every chief signs "
                  "it first", version=version, day=day)
            )  # fmt: skip
        raise TrucelineError(
            M("the report of {day} is not published: every chief signs it first", day=day)
        )
    output.write_text(signed_json(document), encoding="utf-8")
    err.print(_("wrote {output} (sha256 {sha256})", output=output, sha256=document.sha256))


@report_app.command(
    "verify",
    help=_(
        "Verify a published report offline: its content's sha256, every contingent's signed "
        "log entry, and for HTML and PDF that the words shown are the signed content's. "
        "Without --mission or --keys it uses the keys the document carries, and says so."
    ),
)
def report_verify(
    file: Annotated[Path, typer.Argument(help=_("A published report: its JSON, HTML or PDF."))],
    mission_file: Annotated[
        Path | None, typer.Option("--mission", help=_("Check with the keys this mission pins."))
    ] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys", help=_('Check with these keys: {{"contingent": "ed25519:…"}}.')),
    ] = None,
    as_json: JsonObject = False,
) -> None:
    """Verify a published report offline: its content's sha256, every contingent's signed
    log entry, and for HTML and PDF that the words shown are the signed content's. Without
    --mission or --keys it uses the keys the document carries, and says so."""
    from truceline.services.reports.verify import Unreadable, verify_document

    if mission_file is not None and keys_file is not None:
        raise TrucelineError(M("give --mission or --keys, not both"))
    pinned = _trusted_keys(mission_file, keys_file)
    try:
        result = verify_document(file.read_bytes(), pinned)
    except Unreadable as exc:
        raise TrucelineError(M("{file}: {reason}", file=file, reason=_reason(exc))) from None
    except OSError as exc:
        raise TrucelineError(M("{file}: {reason}", file=file, reason=exc.strerror)) from None
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
    else:
        for warning in result.warnings:
            err.print(_("warning: {warning}", warning=warning))
        for contingent, fingerprint in result.signers:
            out.print("  " + _("signed by {contingent}, key {key}", contingent=contingent,
                               key=fingerprint))  # fmt: skip
        if result.ok:
            out.print(_("{file}: the report of {day} verifies (sha256 {sha256})", file=file,
                        day=result.date, sha256=result.sha256))  # fmt: skip
        else:
            err.print(_("{file}: the report does NOT verify:", file=file))
            for problem in result.problems:
                err.print(f"  {_said(problem)}")
    if not result.ok:
        raise typer.Exit(1)


def _trusted_keys(mission_file: Path | None, keys_file: Path | None) -> dict[str, str] | None:
    from truceline.domain.keys import parse_public
    from truceline.services.missions import read_mission

    if mission_file is not None:
        mission = read_mission(mission_file)[0]
        unpinned = [c.id for c in mission.contingents.values() if c.public_key is None]
        if unpinned:
            raise TrucelineError(M("{file}: it pins no key for {contingents}", file=mission_file,
                                   contingents=", ".join(unpinned)))  # fmt: skip
        return {c.id: str(c.public_key) for c in mission.contingents.values()}
    if keys_file is None:
        return None
    try:
        listed = json.loads(keys_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrucelineError(
            M("{file}: cannot be read as JSON: {reason}", file=keys_file, reason=_reason(exc))
        ) from None
    if not isinstance(listed, dict) or not listed:
        raise TrucelineError(M('{file}: expected {{"contingent": "ed25519:…"}}', file=keys_file))
    for contingent, text in listed.items():
        try:
            parse_public(str(text))
        except ValueError as exc:
            reason = M("{file}: {contingent}: {reason}", file=keys_file, contingent=contingent,
                       reason=_reason(exc))  # fmt: skip
            raise TrucelineError(reason) from None
    return {str(c): str(k) for c, k in listed.items()}


@app.command(
    "export",
    help=_(
        "Export what the store holds: observations (CSV that re-imports to the same rows), "
        "incidents, violations (findings a joint verdict confirmed; also as ACLED CSV) or the "
        "mission's zones (also as CoT drawing shapes for TAK clients)."
    ),
)
def export(
    kind: Annotated[str, typer.Argument(help=_("observations, incidents, violations or zones."))],
    fmt: Annotated[
        str, typer.Option("--format", help=_("csv, geojson, kml, acled (violations), cot (zones)."))
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help=_("The file to write."))],
    since: Annotated[
        str | None, typer.Option("--since", help=_("From this time (ISO 8601)."))
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help=_("Before this time."))] = None,
    db: Db = None,
) -> None:
    """Export what the store holds: observations (CSV that re-imports to the same rows),
    incidents, violations (findings a joint verdict confirmed; also as ACLED CSV) or the
    mission's zones (also as CoT drawing shapes for TAK clients)."""
    from truceline.services.reports import renderer_for
    from truceline.services.reports.records import KINDS, from_store
    from truceline.store.db import snapshot
    from truceline.store.missions import load_mission

    if kind not in KINDS:
        raise TrucelineError(M("{kind!r} is not one of {kinds}", kind=kind, kinds=", ".join(KINDS)))
    renderer = renderer_for(fmt)
    engine = engine_for(db)
    with snapshot(engine) as conn:
        records = from_store(
            conn, load_mission(conn), kind, since_us=parse_time(since, "--since"),
            until_us=parse_time(until, "--until"),
        )  # fmt: skip
    output.write_bytes(renderer.records(records))
    err.print(_("wrote {output}: {rows} {kind}", output=output, rows=len(records.rows),
                kind=kind))  # fmt: skip


@complaints_app.command(
    "file",
    help=_(
        "Record a party's complaint, received in the log of every contingent whose key is "
        "here (or the one given with --as); prints its id, and the receipt on standard error."
    ),
)
def complaints_file(
    party: Annotated[str, typer.Option("--party", help=_("The party that complains."))],
    kind: Annotated[str, typer.Option("--kind", help=_("What happened (an observation kind)."))],
    narrative: Annotated[str, typer.Option("--narrative", help=_("The party's account."))],
    at: Annotated[str | None, typer.Option("--at", help=_("When (ISO 8601 with offset)."))] = None,
    start: Annotated[str | None, typer.Option("--from", help=_("Window start."))] = None,
    end: Annotated[str | None, typer.Option("--to", help=_("Window end."))] = None,
    lat: Annotated[float | None, typer.Option("--lat")] = None,
    lon: Annotated[float | None, typer.Option("--lon")] = None,
    zone: Annotated[
        str | None, typer.Option("--zone", help=_("Where, as a zone of the mission."))
    ] = None,
    against: Annotated[str, typer.Option("--against", help=_("Whom it accuses."))] = "unknown",
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help=_("A file to attach."))
    ] = None,
    key_dir: KeyDir = None,
    acting: As = None,
    db: Db = None,
) -> None:
    """Record a party's complaint, received in the log of every contingent whose key is here
    (or the one given with --as); prints its id, and the receipt on standard error."""
    from truceline.services.verification import ComplaintInput, Upload, file_complaint

    if at is not None and (start or end):
        raise TrucelineError(M("give --at, or --from and --to, not both"))
    first = parse_time(at or start, "--at" if at else "--from")
    last = parse_time(at or end, "--at" if at else "--to")
    if first is None or last is None:
        raise TrucelineError(M("give the time: --at, or --from and --to"))
    complaint = ComplaintInput(
        party=party, kind=kind, narrative=narrative, observed_from_us=first, observed_to_us=last,
        against=against, lat=lat, lon=lon, zone=zone,
        attachments=tuple(Upload.read(path) for path in attach or ()),
    )  # fmt: skip
    receipt = file_complaint(engine_for(db), complaint, keyring=keyring_for(key_dir), acting=acting)
    out.print(str(receipt.id))
    err.print(
        _(
            "received by {contingents} at {received}; sha256 {sha256}; a joint answer is due "
            "by {due}",
            contingents=", ".join(receipt.received_by),
            received=receipt.received,
            sha256=receipt.sha256,
            due=receipt.due,
        )
    )


@complaints_app.command(
    "list",
    help=_("Complaints and their response status (overdue when no joint verdict came in time)."),
)
def complaints_list(
    overdue: Annotated[bool, typer.Option("--overdue", help=_("Only overdue complaints."))] = False,
    party: Annotated[str | None, typer.Option("--party", help=_("Only this party's."))] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Complaints and their response status (overdue when no joint verdict came in time)."""
    from truceline.services.verification import list_complaints

    rows = query(db, list_complaints, party=party, overdue=overdue)
    table = Table(
        _("id"), _("party"), _("kind"), _("against"), _("received"), _("due"), _("status")
    )
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["party"], r["kind"], r["against"], r["received"], r["due"], r["status"],
    ), lambda n: n_("{n} complaint(s)", "{n} complaint(s)", n))  # fmt: skip


@cases_app.command(
    "open",
    help=_("Open a case on a finding or a complaint; prints the new case's id (or its object)."),
)
def cases_open(
    finding: Annotated[int | None, typer.Option("--finding", help=_("A finding's id."))] = None,
    complaint: Annotated[
        int | None, typer.Option("--complaint", help=_("A complaint's id."))
    ] = None,
    as_json: JsonObject = False,
    key_dir: KeyDir = None,
    acting: As = None,
    db: Db = None,
) -> None:
    """Open a case on a finding or a complaint; prints the new case's id (or its object)."""
    from truceline.services.verification import open_case

    case = open_case(
        engine_for(db), finding=finding, complaint=complaint, keyring=keyring_for(key_dir),
        acting=acting,
    )  # fmt: skip
    sys.stdout.write((json.dumps(case, ensure_ascii=False) if as_json else str(case["id"])) + "\n")


@cases_app.command(
    "assess",
    help=_(
        "File a contingent's position in the case's open round: it binds (no second filing in "
        "the round) and stays blind until every contingent has filed."
    ),
)
def cases_assess(
    case: Annotated[int, typer.Argument(help=_("The case's id."))],
    contingent: Annotated[
        str, typer.Option("--as", help=_("The contingent whose assessment this is."))
    ],
    verdict: Annotated[
        str, typer.Option("--verdict", help=_("confirmed, not_confirmed or inconclusive."))
    ],
    rationale: Annotated[str, typer.Option("--rationale", help=_("Why."))],
    attribution: Annotated[
        str, typer.Option("--attribution", help=_("The party responsible, or undetermined."))
    ] = "undetermined",
    round_: Annotated[
        int | None,
        typer.Option("--round", help=_("The round filed for; refused unless it is the open one.")),
    ] = None,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """File a contingent's position in the case's open round: it binds (no second filing in
    the round) and stays blind until every contingent has filed."""
    from truceline.domain.cases import Position
    from truceline.services.verification import file_assessment

    position = Position(verdict, attribution, rationale)
    view = file_assessment(
        engine_for(db), case, contingent=contingent, position=position, actor=contingent,
        keyring=keyring_for(key_dir), round=round_,
    )  # fmt: skip
    out.print(_("case {case}: {contingent} has filed; verdict {verdict}; {note}", case=case,
                contingent=contingent, verdict=view["verdict"], note=view["note"]))  # fmt: skip


@cases_app.command(
    "reconsider",
    help=_(
        "Open a new blind round on a decided case; its verdict stands until the round completes."
    ),
)
def cases_reconsider(
    case: Annotated[int, typer.Argument(help=_("The case's id."))],
    contingent: Annotated[str, typer.Option("--as", help=_("The contingent asking."))],
    reason: Annotated[str, typer.Option("--reason", help=_("Why the case is reconsidered."))],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Open a new blind round on a decided case; its verdict stands until the round completes."""
    from truceline.services.verification import reconsider

    view = reconsider(
        engine_for(db), case, contingent=contingent, reason=reason, actor=contingent,
        keyring=keyring_for(key_dir),
    )  # fmt: skip
    out.print(_("case {case}: round {round} is open; {note}", case=case, round=view["round"],
                note=view["note"]))  # fmt: skip


@cases_app.command("show", help=_("A case, its verdict, and the assessments the viewer may see."))
def cases_show(
    case: Annotated[int, typer.Argument(help=_("The case's id."))],
    viewer: Annotated[str | None, typer.Option("--as", help=_("The contingent looking."))] = None,
    as_json: JsonObject = False,
    db: Db = None,
) -> None:
    """A case, its verdict, and the assessments the viewer may see."""
    from truceline.services.verification import case_view
    from truceline.store.missions import load_mission

    def view(conn: Any) -> dict[str, Any]:
        return case_view(conn, load_mission(conn), case, viewer)

    [shown] = query(db, lambda conn: [view(conn)])
    if as_json:
        sys.stdout.write(json.dumps(shown, ensure_ascii=False) + "\n")
        return
    subject = (
        _("finding {finding}", finding=shown["finding"]) if shown["finding"]
        else _("complaint {complaint}", complaint=shown["complaint"])
    )  # fmt: skip
    out.print(_("case {case} on {subject}: verdict {verdict}", case=shown["id"], subject=subject,
                verdict=shown["verdict"]))  # fmt: skip
    out.print(_said(shown["note"]))
    for a in shown["assessments"]:
        out.print("  " + _("{contingent}: {verdict}, attribution {attribution}: {rationale}",
                           contingent=a["contingent"], verdict=a["verdict"],
                           attribution=a["attribution"], rationale=a["rationale"]))  # fmt: skip


@cases_app.command("list", help=_("Cases and their verdicts."))
def cases_list(
    viewer: Annotated[str | None, typer.Option("--as", help=_("The contingent looking."))] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Cases and their verdicts."""
    from truceline.services.verification import list_cases

    rows = query(db, list_cases, viewer=viewer)
    table = Table(_("id"), _("on"), _("opened"), _("verdict"), _("filed"), _("waiting for"))
    show(rows, as_json, table, lambda r: (
        str(r["id"]),
        _("finding {finding}", finding=r["finding"]) if r["finding"]
        else _("complaint {complaint}", complaint=r["complaint"]),
        r["opened"], r["verdict"], ", ".join(r["filed"]), ", ".join(r["waiting_for"]),
    ), lambda n: n_("{n} case(s)", "{n} case(s)", n))  # fmt: skip


@users_app.command(
    "disable",
    help=_(
        "Disable an account: an entry of the log that holds it; its tokens stop working and "
        "it can no longer log in, on every node, until `users enable`."
    ),
)
def users_disable(
    name: Annotated[str, typer.Argument(help=_("The user name."))],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Disable an account: an entry of the log that holds it; its tokens stop working and it
    can no longer log in, on every node, until `users enable`."""
    from truceline.services.accounts import set_disabled

    set_disabled(engine_for(db), name, disabled=True, keyring=keyring_for(key_dir))
    out.print(_("{name} is disabled", name=name))


@users_app.command("enable", help=_("Enable a disabled account again."))
def users_enable(
    name: Annotated[str, typer.Argument(help=_("The user name."))],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Enable a disabled account again."""
    from truceline.services.accounts import set_disabled

    set_disabled(engine_for(db), name, disabled=False, keyring=keyring_for(key_dir))
    out.print(_("{name} is enabled", name=name))


@users_app.command(
    "add",
    help=_("Add an account (the password is prompted for, or read with --password-stdin)."),
)
def users_add(
    name: Annotated[str, typer.Argument(help=_("The user name."))],
    role: Annotated[str, typer.Option("--role", help=_("officer, chief, liaison or admin."))],
    contingent: Annotated[
        str | None, typer.Option("--contingent", help=_("For officers and chiefs."))
    ] = None,
    party: Annotated[str | None, typer.Option("--party", help=_("For liaisons."))] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=_("Read the password from standard input."))
    ] = False,
    key_dir: KeyDir = None,
    acting: As = None,
    db: Db = None,
) -> None:
    """Add an account (the password is prompted for, or read with --password-stdin)."""
    from truceline.services.accounts import add_user

    password = _password(password_stdin)
    user = add_user(
        engine_for(db), name, role=role, password=password, contingent=contingent, party=party,
        keyring=keyring_for(key_dir), acting=acting,
    )  # fmt: skip
    if user.contingent or user.party:
        out.print(_("added {role} {name} of {of}", role=user.role, name=user.name,
                    of=user.contingent or user.party))  # fmt: skip
    else:
        out.print(_("added {role} {name}", role=user.role, name=user.name))


@users_app.command(
    "list",
    help=_("The accounts: role, contingent or party, state, sessions and tokens that work now."),
)
def users_list(as_json: Json = False, db: Db = None) -> None:
    """The accounts: role, contingent or party, state, sessions and tokens that work now."""
    from truceline.services.accounts import list_users

    rows = [vars(a) for a in query(db, list_users)]
    table = Table(_("name"), _("role"), _("of"), _("state"), _("sessions"))
    show(rows, as_json, table, lambda r: (
        r["name"], r["role"], r["contingent"] or r["party"] or "",
        _("disabled") if r["disabled"] else _("active") if r["can_log_in"]
        else _("no password here"),
        str(r["sessions"]),
    ), lambda n: n_("{n} user(s)", "{n} user(s)", n))  # fmt: skip


@users_app.command(
    "passwd",
    help=_(
        "Set a user's password on this node (prompted for, or --password-stdin); its sessions "
        "and tokens end."
    ),
)
def users_passwd(
    name: Annotated[str, typer.Argument(help=_("The user name."))],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=_("Read the password from standard input."))
    ] = False,
    db: Db = None,
) -> None:
    """Set a user's password on this node (prompted for, or --password-stdin); its sessions
    and tokens end."""
    from truceline.services.accounts import set_password

    password = _password(password_stdin)
    set_password(engine_for(db), name, password)
    out.print(_("{name} has a new password; its sessions and tokens ended", name=name))


@users_app.command(
    "revoke",
    help=_("End every session and token of a user now (it may log in again)."),
)
def users_revoke(
    name: Annotated[str, typer.Argument(help=_("The user name."))], db: Db = None
) -> None:
    """End every session and token of a user now (it may log in again)."""
    from truceline.services.accounts import revoke

    ended = revoke(engine_for(db), name)
    out.print(n_("{name}: {n} session(s) and token(s) ended",
                 "{name}: {n} session(s) and token(s) ended", ended, name=name))  # fmt: skip


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(_("password"), hide_input=True, confirmation_prompt=True))


@app.command(
    "serve",
    help=_("Serve the web application and the HTTP API (OpenAPI at /openapi.json, docs at /docs)."),
)
def serve(
    host: Annotated[str, typer.Option(help=_("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=_("Port."))] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help=_("Worker processes."))] = 1,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help=_("Behind TLS: cookies only over https (TRUCELINE_SECURE_COOKIES)."),
        ),
    ] = False,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Serve the web application and the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    if secure_cookies:
        os.environ["TRUCELINE_SECURE_COOKIES"] = "1"
    import uvicorn

    from truceline.settings import database_url
    from truceline.settings import key_dir as resolve_key_dir
    from truceline.store.db import require_schema

    require_schema(engine_for(db))
    # Workers are separate processes: they find the database and keys in the environment.
    os.environ["TRUCELINE_DATABASE_URL"] = database_url(db)
    os.environ["TRUCELINE_KEY_DIR"] = str(resolve_key_dir(key_dir).resolve())
    out.print(_("serving http://{host}:{port}/ (API under /api/v1, docs at /docs); Ctrl-C stops",
                host=host, port=port))  # fmt: skip
    uvicorn.run(
        "truceline.web.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="warning", access_log=False,
    )  # fmt: skip


def _kind(row: dict[str, Any]) -> str:
    return str(row["kind"]) + (f"/{row['subtype']}" if row["subtype"] else "")


@app.command(
    "demo",
    help=_("Build the illustrative demo centre into a fresh database (and serve it)."),
)
def demo_command(
    days: Annotated[int, typer.Option(min=1, max=60, help=_("Days of synthetic activity."))] = 7,
    seed: Annotated[int, typer.Option(help=_("Seed of the generator."))] = 1,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help=_("Where the generated files are written."))
    ] = Path("demo-data"),
    force: Annotated[
        bool, typer.Option("--force", help=_("Replace a database that has data."))
    ] = False,
    serve_it: Annotated[
        bool, typer.Option("--serve", help=_("Then serve it (an existing demo is kept)."))
    ] = False,
    host: Annotated[str, typer.Option(help=_("With --serve: the address."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=_("With --serve: the port."))] = 8000,
    key_dir: Annotated[
        Path | None,
        typer.Option("--key-dir", help=_("Where the demo's keys go (default DATA_DIR/keys).")),
    ] = None,
    db: Db = None,
) -> None:
    """Build the illustrative demo centre into a fresh database (and serve it)."""
    from truceline.services.demo import DEMO_PASSWORD, build_demo, demo_accounts, holds_demo

    engine = engine_for(db)
    if serve_it and not force and holds_demo(engine):
        out.print(_("using the demo database built before (--force rebuilds it)"))
    else:
        summary = build_demo(
            engine, days=days, seed=seed, data_dir=data_dir, force=force, key_dir=key_dir
        )
        for line in summary:
            out.print(_said(line))
    if serve_it:
        out.print(_("demo accounts (password {password!r}, for the demo only):",
                    password=DEMO_PASSWORD))  # fmt: skip
        for name, role, contingent, party in demo_accounts():
            out.print(f"  {name:<15} {role:<8} {contingent or party or ''}")
        serve(host=host, port=port, key_dir=key_dir or data_dir / "keys", db=db)


# Each command's action in the policy table (truceline.domain.policy): the console may do
# them all, as the holder of the node's keys; the table is the one the web layer checks.
POLICY_ACTIONS = {
    "init": "node.operate", "keys generate": "node.operate", "ledger verify": "ledger.read",
    "ledger rebuild": "node.operate", "ledger export": "ledger.read",
    "ledger import": "ledger.sync", "mission check": "node.operate",
    "mission new": "node.operate",
    "ingest observations": "evidence.record", "ingest positions": "evidence.record",
    "ingest cot": "evidence.record", "listen cot": "evidence.record",
    "listen mqtt": "evidence.record",
    "observations retract": "evidence.retract", "observations list": "record.read",
    "assess": "node.operate", "incidents list": "record.read", "findings list": "record.read",
    "report daily": "reports.draft", "report sign": "reports.sign",
    "report export": "reports.published", "report verify": "reports.published",
    "export": "record.read", "report period": "reports.published",
    "complaints file": "complaints.file",
    "complaints list": "complaints.read", "cases open": "cases.open",
    "cases assess": "cases.assess", "cases reconsider": "cases.reconsider",
    "cases show": "record.read", "cases list": "record.read", "users disable": "users.manage",
    "users enable": "users.manage", "users add": "users.manage", "users list": "users.manage",
    "users passwd": "users.manage", "users revoke": "users.manage", "serve": "node.operate",
    "demo": "node.operate",
}  # fmt: skip
# A field a service names, as the command's flag (else --FIELD).
# (listen mqtt: password_file is --password-file, url --url: the default rule says them.)
FLAGS: dict[str, dict[str, str]] = {
    "cases assess": {"contingent": "--as"},
    "cases reconsider": {"contingent": "--as"},
    "complaints file": {"observed_from": "--from/--at", "observed_to": "--to"},
    "users add": {"name": "NAME", "password": "the password"},
    "users passwd": {"password": "the password"},
}


def _flag(field: str) -> str:
    return "--as" if field == "acting" else "--" + field.replace("_", "-")


def _command(args: list[str]) -> str:
    """The command named in the arguments: `cases assess`, `serve`."""
    words = [a for a in args if not a.startswith("-")][:2]
    groups = {g.name for g in app.registered_groups}
    return " ".join(words) if words and words[0] in groups else " ".join(words[:1])


def main() -> None:
    debug = "--debug" in sys.argv or os.environ.get("TRUCELINE_DEBUG") == "1"
    for console in (out, err):
        if not console.is_terminal:  # piped or captured: keep whole values in tables
            console.width = 250
    command = _command(sys.argv[1:])
    try:
        if command in POLICY_ACTIONS:
            policy.require(policy.CONSOLE, POLICY_ACTIONS[command])
        app(prog_name="truceline")
    except ProblemsError as exc:
        err.print(exc.render(lang=CLI_LANG))
        sys.exit(exc.exit_code)
    except FieldError as exc:  # a service names its fields; the CLI says them as its flags
        flags = FLAGS.get(command, {})
        said = exc.render(lambda f: flags.get(f) or _flag(f), lang=CLI_LANG)
        err.print(_("error: {error}", error=said))
        sys.exit(exc.exit_code)
    except TrucelineError as exc:
        err.print(_("error: {error}", error=exc.said(CLI_LANG)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print(_("interrupted"))
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        err.print(_("internal error: {kind}: {error} (run with --debug for details)",
                    kind=type(exc).__name__, error=str(exc)))  # fmt: skip
        sys.exit(70)


if __name__ == "__main__":
    main()
