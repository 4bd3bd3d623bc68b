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

app = typer.Typer(
    name="truceline",
    help="Software for a joint ceasefire monitoring centre.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
mission_app = typer.Typer(help="Check mission files.", no_args_is_help=True)
ingest_app = typer.Typer(help="Import observations and positions.", no_args_is_help=True)
listen_app = typer.Typer(help="Live feeds: CoT (TAK) and MQTT.", no_args_is_help=True)
keys_app = typer.Typer(help="Contingents' Ed25519 keys.", no_args_is_help=True)
complaints_app = typer.Typer(help="Parties' complaints.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
cases_app = typer.Typer(help="Joint verification of findings and complaints.", no_args_is_help=True)
ledger_app = typer.Typer(help="The contingents' signed logs.", no_args_is_help=True)
observations_app = typer.Typer(help="Stored observations.", no_args_is_help=True)
incidents_app = typer.Typer(
    help="Incidents: observations correlated into events.", no_args_is_help=True
)
findings_app = typer.Typer(help="Findings: apparent breaches of clauses.", no_args_is_help=True)
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
report_app = typer.Typer(help="Reports.", no_args_is_help=True)
app.add_typer(findings_app, name="findings")
app.add_typer(report_app, name="report")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Db = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (else TRUCELINE_DATABASE_URL, else sqlite:///truceline.db)."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print a JSON array of objects.")]
JsonObject = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ReportFormat = Annotated[str, typer.Option("--format", help="text, json, html or pdf.")]
ReportLang = Annotated[
    str | None, typer.Option("--lang", help="A language of the mission (default: its first).")
]
ReportOutput = Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")]
KeyDir = Annotated[
    Path | None,
    typer.Option("--key-dir", help="Private keys' folder (else TRUCELINE_KEY_DIR, else ./keys)."),
]
As = Annotated[
    str | None,
    typer.Option("--as", help="The contingent that signs (default: one whose key is here)."),
]
Since = Annotated[str | None, typer.Option(help="ISO 8601 time with offset.")]
Until = Annotated[str | None, typer.Option(help="ISO 8601 time with offset.")]


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
        raise TrucelineError(f"{option}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise TrucelineError(f"{option}: {value!r} has no offset (write e.g. +04:00 or Z)")
    return to_us(moment)


def query(db: str | None, listing: Any, **filters: Any) -> list[dict[str, Any]]:
    """Rows from a store listing function, on an initialised database."""
    from truceline.store.db import require_schema

    engine = engine_for(db)
    require_schema(engine)
    with engine.connect() as conn:
        rows: list[dict[str, Any]] = listing(conn, **filters)
    return rows


def show(rows: list[dict[str, Any]], as_json: bool, table: Table, cells: Any, noun: str) -> None:
    """Print rows as a JSON array, or as a table with a count."""
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    for row in rows:
        table.add_row(*cells(row))
    out.print(table)
    out.print(f"{len(rows)} {noun}(s)")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"truceline {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of internal errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Software for a joint ceasefire monitoring centre."""


@app.command("init")
def init_command(
    mission: Annotated[Path, typer.Argument(help="The mission file (YAML or JSON).")],
    generate_keys: Annotated[
        bool, typer.Option("--generate-keys", help="Make missing keys and print the public keys.")
    ] = False,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Create or migrate the database, load the mission, start the contingents' logs."""
    from truceline.services.missions import init_database

    keyring = keyring_for(key_dir)
    result = init_database(engine_for(db), mission, keyring=keyring, generate_keys=generate_keys)
    for contingent, public in result.generated.items():
        out.print(f"generated {keyring.path(contingent)}; pin it in the mission file:")
        out.print(f'  {contingent}: public_key: "{public}"')
    for contingent in result.started:
        out.print(f"started {contingent}'s log (genesis entry signed)")
    m = result.mission
    unpinned = [c.id for c in m.contingents.values() if c.public_key is None]
    if unpinned:
        err.print(
            f"warning: the mission file pins no key for {', '.join(unpinned)}: this node trusts "
            "the first genesis entry it holds for each; pin each contingent's key in the "
            'mission file (contingents: - {id: …, public_key: "ed25519:…"}) so that a re-keyed '
            "log is refused"
        )
    state = "loaded" if result.changed else "already loaded, nothing changed"
    out.print(f"mission {m.id} ({m.name}) {state}; sha256 {m.sha256}")
    out.print(
        f"{len(m.parties)} parties, {len(m.contingents)} contingents, {len(m.units)} units, "
        f"{len(m.zones)} zones, {len(m.clauses)} clauses"
    )


@keys_app.command("generate")
def keys_generate(
    contingent: Annotated[str, typer.Option("--contingent", help="The contingent's id.")],
    key_dir: KeyDir = None,
) -> None:
    """Make a new Ed25519 key pair: the private key file (mode 0600) and the public key to pin."""
    keyring = keyring_for(key_dir)
    public = keyring.generate(contingent)
    out.print(f"wrote {keyring.path(contingent)} (keep it secret; it never enters the database)")
    out.print(f"public key, to pin in the mission file: {public}")


@ledger_app.command("verify")
def ledger_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A published report (JSON, HTML or PDF) or a bundle whose heads the logs must "
            "still hold.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print a JSON array of every problem found ([] when intact)."),
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
        err.print("the logs are not started: run `truceline init MISSION --generate-keys`")
    elif report.ok:
        heads = ", ".join(
            f"{c} at {seq} ({h[:12]}…)" for c, (seq, h) in sorted(report.heads.items())
        )
        out.print(f"every log is intact: {report.entries} entries; heads: {heads}")
    else:
        err.print(f"the logs are NOT intact: {len(report.faults)} problem(s); the first:")
        for fault in report.faults:
            err.print(f"  {fault}")
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("rebuild")
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
    out.print(f"rebuilt the projections from {result.applied} entries")
    for fault in result.faults:
        err.print(f"  {fault}")
    if result.faults:
        raise typer.Exit(1)


@ledger_app.command("export")
def ledger_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The bundle file to write.")],
    db: Db = None,
) -> None:
    """Write every log entry held here to a bundle for another node."""
    from truceline.services.exchange import export_bundle

    count = export_bundle(engine_for(db), output)
    out.print(f"wrote {count} entries to {output}")


@ledger_app.command("import")
def ledger_import(
    bundle: Annotated[Path, typer.Argument(help="A bundle from another node.")],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Take another node's entries: all are verified first; a bad bundle is refused whole."""
    from truceline.services.exchange import import_bundle

    result = import_bundle(engine_for(db), bundle, keyring=keyring_for(key_dir))
    out.print(
        f"{bundle}: {result.received} entries, {result.new} new, {result.evidence} rows of "
        "evidence stored" + ("; run `truceline assess` to assess them" if result.evidence else "")
    )
    for problem in result.differing:
        err.print(f"warning: {problem}")
    for case in result.revealed:
        out.print(f"case {case}: every contingent has filed; the positions filed here are revealed")


@mission_app.command("new")
def mission_new(
    file: Annotated[Path, typer.Argument(help="The mission file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented mission file to start from: valid as it is (`mission check` passes),
    its zones, places and clauses placeholders to replace with the agreement's."""
    from importlib.resources import files

    if file.exists() and not force:
        raise TrucelineError(f"{file} exists: give --force to overwrite it")
    file.write_text(
        files("truceline.mission").joinpath("template.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    out.print(f"wrote {file}: edit it, then `truceline mission check {file}`")


@mission_app.command("check")
def mission_check(mission: Annotated[Path, typer.Argument(help="The mission file.")]) -> None:
    """Validate a mission file; print its zones (area in km²) and clauses with their versions."""
    from truceline.services.missions import read_mission

    m, _ = read_mission(mission)
    out.print(f"mission {m.id}: {m.name}")
    out.print(
        f"time zone {m.timezone.key}, reporting days close at {m.report_cutoff:%H:%M}; "
        f"sha256 {m.sha256}"
    )
    zones = Table("zone", "name", "area km²", "buffer m", title="zones", title_justify="left")
    for z in m.zones.values():
        zones.add_row(
            z.id, z.name, f"{z.area_km2:,.1f}", "" if z.buffer_m is None else f"{z.buffer_m:g}"
        )
    out.print(zones)
    clauses = Table("clause", "rule", "title", "versions", title="clauses", title_justify="left")
    for c in m.clauses.values():
        versions = ", ".join(
            f"v{v.version} from {v.effective.isoformat() if v.effective else 'the start'}"
            for v in c.versions
        )
        clauses.add_row(c.id, c.rule, c.title or "", versions)
    out.print(clauses)
    out.print("the mission file is valid")


ReporterOpt = Annotated[
    str | None, typer.Option("--reporter", help="Contingent for rows that name no reporter.")
]
SkipOpt = Annotated[
    bool,
    typer.Option("--skip-invalid", help="Import the good records; write the bad to a reject file."),
]
RejectOpt = Annotated[
    Path | None,
    typer.Option("--reject-file", help="Where the bad records go (with --skip-invalid)."),
]


def _check_reject_options(files: list[Path], skip_invalid: bool, reject_file: Path | None) -> None:
    if reject_file is not None and not skip_invalid:
        raise TrucelineError("--reject-file goes with --skip-invalid")
    if reject_file is not None and len(files) > 1:
        raise TrucelineError("--reject-file takes one input file")


NoAssess = Annotated[
    bool,
    typer.Option(
        "--no-assess", help="Do not assess what arrives (bulk loading: run `assess` after)."
    ),
]


def _assess_arrivals(engine: Any, keyring: Any, acting: str | None) -> None:
    """What an import stored is assessed at once (incrementally: the window of the new data),
    so its findings need nobody to run `truceline assess`."""
    from truceline.services.assess import assess

    report = assess(engine, keyring=keyring, acting=acting)
    if not report.up_to_date:
        found = sum(report.active_findings.values())
        err.print(f"assessed: {report.incidents} incident(s) in the new data's window, "
                  f"{found} active finding(s) in all")  # fmt: skip


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
            err.print(str(exc))
            err.print("  (fix them, or import the good records with --skip-invalid)")
            continue
        except ProblemsError as exc:
            failed += 1
            err.print(exc.render())
            continue
        except FieldError as exc:
            failed += 1
            err.print(f"{exc.render(_flag)}; nothing was imported")
            continue
        except TrucelineError as exc:
            failed += 1
            err.print(f"{exc}; nothing was imported")
            continue
        reports.append(report)
        if not quiet:
            out.print(report.summary())
        for error in report.errors[:20]:
            err.print(f"  rejected {error}")
    return reports, failed


Format = Annotated[
    str | None, typer.Option("--format", help="The file's format (default: by its suffix).")
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


@ingest_app.command("observations")
def ingest_observations_command(
    files: Annotated[list[Path], typer.Argument(help="CSV or GeoJSON files.")],
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


@ingest_app.command("positions")
def ingest_positions_command(
    files: Annotated[list[Path], typer.Argument(help="Positions CSV files.")],
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


@ingest_app.command("cot")
def ingest_cot_command(
    files: Annotated[list[Path], typer.Argument(help="Files of CoT events (TAK clients' XML).")],
    reporter: Annotated[
        str, typer.Option("--reporter", help="The feed's contingent: it reports and signs.")
    ],
    skip_invalid: SkipOpt = False,
    reject_file: RejectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
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
    str, typer.Option("--reporter", help="The feed's contingent: it reports and signs.")
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
    err.print("stopping: committing what is held")
    before_commit()
    counts = sink.stop()
    after_commit()
    out.print(json.dumps(counts.as_dict()))


@listen_app.command("cot")
def listen_cot_command(
    reporter: Reporter,
    tcp: Annotated[int | None, typer.Option("--tcp", help="Plain TCP port (8087).")] = None,
    udp: Annotated[int | None, typer.Option("--udp", help="UDP port (4242).")] = None,
    tls: Annotated[
        int | None, typer.Option("--tls", help="TLS port with client certificates (8089).")
    ] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="Server certificate (PEM).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="Its private key (PEM).")] = None,
    client_ca: Annotated[
        Path | None, typer.Option("--client-ca", help="CA of the clients' certificates (PEM).")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Receive CoT from TAK clients: events are stored as signed batches about every second
    and assessed as they arrive; TLS clients (and plain TCP ones on the loopback) are sent the
    zones, then each new finding. Ctrl-C or SIGTERM commits what is held, prints the counts."""
    import asyncio
    import threading

    from truceline.feeds.cot_server import CotListener, TlsFiles
    from truceline.feeds.sink import FeedSink

    files = None
    if tls is not None:
        if cert is None or key is None or client_ca is None:
            raise TrucelineError("--tls needs --cert, --key and --client-ca")
        files = TlsFiles(cert, key, client_ca)
    _feed_logging()
    sink = FeedSink(engine_for(db), reporter=reporter, keyring=keyring_for(key_dir),
                    name=f"listen cot {host}", fmt="cot", worker=True)  # fmt: skip
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
        err.print("listening: " + ", ".join(ports.said))
        ready.set()
        loop.run_forever()
        loop.run_until_complete(listener.close())
        loop.close()

    thread = threading.Thread(target=serve, name="listen-cot", daemon=True)

    def start() -> None:
        thread.start()
        ready.wait()
        if failure:
            raise TrucelineError(f"cannot listen on {host}: {failure[0]}")

    def close_servers() -> None:  # nothing arrives while the sink commits the rest
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    _run_feed(sink, start, close_servers, lambda: None)


@listen_app.command("mqtt")
def listen_mqtt_command(
    url: Annotated[str, typer.Option("--url", help="mqtt://HOST:PORT (mqtts:// for TLS).")],
    topic: Annotated[str, typer.Option("--topic", help="The topic (filter) to subscribe.")],
    reporter: Reporter,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="Session id (default from topic, reporter).")
    ] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="File holding the password.")
    ] = None,
    tls_ca: Annotated[
        Path | None, typer.Option("--tls-ca", help="CA of the broker's certificate (TLS).")
    ] = None,
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Receive a feed over MQTT (QoS 1, persistent session): each message is acknowledged
    only once stored, so nothing published while the listener is down or in flight when it
    stops is lost, and nothing is stored twice. Ctrl-C or SIGTERM commits what is held."""
    from truceline.feeds.mqtt import Broker, MqttListener
    from truceline.feeds.sink import FeedSink

    broker = Broker.parse(url)
    _feed_logging()
    sink = FeedSink(engine_for(db), reporter=reporter, keyring=keyring_for(key_dir),
                    name=f"listen mqtt {topic}"[:200], fmt="mqtt", worker=True)  # fmt: skip
    listener = MqttListener(
        sink, broker, topic, client_id=client_id, username=username,
        password_file=password_file, tls_ca=tls_ca,
    )  # fmt: skip

    def start() -> None:
        listener.start()
        if not listener.wait_subscribed(30):
            listener.stop()
            raise TrucelineError(f"the MQTT broker at {broker.host}:{broker.port} did not "
                                 f"accept the subscription to {topic!r} within 30 s")  # fmt: skip
        err.print(f"listening: mqtt {broker.host}:{broker.port} topic {topic!r} "
                  f"as {listener.client_id} (QoS 1, persistent session)")  # fmt: skip

    _run_feed(sink, start, lambda: None, listener.stop)  # acknowledged while connected


@observations_app.command("retract")
def observations_retract(
    observation: Annotated[int, typer.Argument(help="The observation's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn.")],
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
        f"observation {observation} retracted by {done.contingent}; re-assessed: "
        f"{done.assessed.incidents} incidents, {len(done.assessed.findings)} findings in the window"
    )


@observations_app.command("list")
def observations_list(
    since: Since = None,
    until: Until = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
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
        "id", "observed", "kind", "count", "actor", "source", "reporter", "lat", "lon", "retracted"
    )
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["observed_from"], _kind(r), str(r["count"]), r["actor"],
        f"{r['source_kind']}:{r['source']}", r["reporter"], f"{r['lat']:.5f}", f"{r['lon']:.5f}",
        "" if r["retracted"] is None else f"by {r['retracted']['by']}: {r['retracted']['reason']}",
    ), "observation")  # fmt: skip


@app.command("assess")
def assess_command(
    since: Since = None,
    until: Until = None,
    full: Annotated[bool, typer.Option("--full", help="Re-assess all the data.")] = False,
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
        out.print("nothing new since the last assessment; nothing changed")
    else:
        f0, f1 = report.window
        begin = iso(f0) if f0 is not None else "the beginning"
        span = f"{begin} to {iso(f1) if f1 is not None else 'the end'}"
        out.print(
            f"assessed {span}: {report.incidents} incident(s), {len(report.findings)} finding(s), "
            f"{report.changes} change(s)"
        )
    with engine.connect() as conn:
        from truceline.store.missions import load_mission

        mission = load_mission(conn)
    table = Table(
        "clause",
        "rule",
        "title",
        "active findings",
        title="findings per clause",
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
    out.print(f"{report.active_incidents} active incident(s)")


@incidents_app.command("list")
def incidents_list(
    since: Since = None,
    until: Until = None,
    superseded: Annotated[
        bool, typer.Option("--superseded", help="Include superseded ones.")
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
    table = Table("id", "start", "end", "kind", "count", "actor", "obs.", "sources", "lat", "lon")
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["start"], r["end"], r["kind"], str(r["count"]), r["actor"],
        str(len(r["observations"])), str(len(r["sources"])), f"{r['lat']:.5f}", f"{r['lon']:.5f}",
    ), "incident")  # fmt: skip


@findings_app.command("list")
def findings_list(
    clause: Annotated[str | None, typer.Option("--clause", help="Only this clause.")] = None,
    since: Since = None,
    until: Until = None,
    withdrawn: Annotated[bool, typer.Option("--withdrawn", help="Include withdrawn ones.")] = False,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """List findings in time order."""
    from truceline.store.compliance import finding_what, list_findings

    rows = query(
        db, list_findings, clause=clause, since_us=parse_time(since, "--since"),
        until_us=parse_time(until, "--until"), include_withdrawn=withdrawn,
    )  # fmt: skip
    table = Table("id", "clause", "v", "rule", "zone", "subject", "start", "end", "evidence")
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["clause"], str(r["clause_version"]), r["rule"], r["zone"] or "",
        r["subject"] or "", r["start"], r["end"], finding_what(r),
    ), "finding")  # fmt: skip


@report_app.command("daily")
def report_daily(
    day: Annotated[
        str | None, typer.Option("--date", help="Reporting day YYYY-MM-DD (default: today's).")
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
                  f"sha256 of the content {document.sha256}")  # fmt: skip


def _report_renderer(fmt: str, output: Path | None) -> Any:
    from truceline.services.reports import renderer_for

    renderer = renderer_for(fmt)
    if renderer.name == "pdf" and output is None:
        raise TrucelineError("--format pdf: give the file to write with -o FILE")
    return renderer


def _write_report(data: bytes, output: Path | None, said: str) -> None:
    """A rendering to standard output, or to the file given (saying what it holds)."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        err.print(f"wrote {output} ({said})")


@report_app.command("period")
def report_period(
    first: Annotated[str, typer.Option("--from", help="The first reporting day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="The last reporting day, YYYY-MM-DD.")],
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
    _write_report(data, output, f"{len(content['days'])} published day(s)")


@report_app.command("sign")
def report_sign(
    day: Annotated[str, typer.Option("--date", help="Reporting day YYYY-MM-DD.")],
    contingent: Annotated[str, typer.Option("--as", help="The contingent whose chief signs.")],
    sha256: Annotated[
        str, typer.Option("--sha256", help="The sha256 of the report read (report daily).")
    ],
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who signs (default: the contingent).")
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
        out.print(f"{day}: signed by {contingent}; published (sha256 {state['published_sha256']})")
    else:
        waiting = ", ".join(state["waiting_for"]) or "nobody"
        out.print(f"{day}: signed by {contingent}; waiting for {waiting}")


@report_app.command("export")
def report_export(
    day: Annotated[str, typer.Option("--date", help="Reporting day YYYY-MM-DD.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The JSON file to write.")],
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="A published version (default: the latest)."),
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
        which = f"version {version} of " if version is not None else ""
        raise TrucelineError(
            f"{which}the report of {day} is not published: every chief signs it first"
        )
    output.write_text(signed_json(document), encoding="utf-8")
    err.print(f"wrote {output} (sha256 {document.sha256})")


@report_app.command("verify")
def report_verify(
    file: Annotated[Path, typer.Argument(help="A published report: its JSON, HTML or PDF.")],
    mission_file: Annotated[
        Path | None, typer.Option("--mission", help="Check with the keys this mission pins.")
    ] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys", help='Check with these keys: {"contingent": "ed25519:…"}.'),
    ] = None,
    as_json: JsonObject = False,
) -> None:
    """Verify a published report offline: its content's sha256, every contingent's signed
    log entry, and for HTML and PDF that the words shown are the signed content's. Without
    --mission or --keys it uses the keys the document carries, and says so."""
    from truceline.services.reports.verify import Unreadable, verify_document

    if mission_file is not None and keys_file is not None:
        raise TrucelineError("give --mission or --keys, not both")
    pinned = _trusted_keys(mission_file, keys_file)
    try:
        result = verify_document(file.read_bytes(), pinned)
    except Unreadable as exc:
        raise TrucelineError(f"{file}: {exc}") from None
    except OSError as exc:
        raise TrucelineError(f"{file}: {exc.strerror}") from None
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
    else:
        for warning in result.warnings:
            err.print(f"warning: {warning}")
        for contingent, fingerprint in result.signers:
            out.print(f"  signed by {contingent}, key {fingerprint}")
        if result.ok:
            out.print(f"{file}: the report of {result.date} verifies (sha256 {result.sha256})")
        else:
            err.print(f"{file}: the report does NOT verify:")
            for problem in result.problems:
                err.print(f"  {problem}")
    if not result.ok:
        raise typer.Exit(1)


def _trusted_keys(mission_file: Path | None, keys_file: Path | None) -> dict[str, str] | None:
    from truceline.domain.keys import parse_public
    from truceline.services.missions import read_mission

    if mission_file is not None:
        mission, _ = read_mission(mission_file)
        unpinned = [c.id for c in mission.contingents.values() if c.public_key is None]
        if unpinned:
            raise TrucelineError(f"{mission_file}: it pins no key for {', '.join(unpinned)}")
        return {c.id: str(c.public_key) for c in mission.contingents.values()}
    if keys_file is None:
        return None
    try:
        listed = json.loads(keys_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrucelineError(f"{keys_file}: cannot be read as JSON: {exc}") from None
    if not isinstance(listed, dict) or not listed:
        raise TrucelineError(f'{keys_file}: expected {{"contingent": "ed25519:…"}}')
    for contingent, text in listed.items():
        try:
            parse_public(str(text))
        except ValueError as exc:
            raise TrucelineError(f"{keys_file}: {contingent}: {exc}") from None
    return {str(c): str(k) for c, k in listed.items()}


@app.command("export")
def export(
    kind: Annotated[str, typer.Argument(help="observations, incidents, violations or zones.")],
    fmt: Annotated[
        str, typer.Option("--format", help="csv, geojson, kml, acled (violations), cot (zones).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time.")] = None,
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
        raise TrucelineError(f"{kind!r} is not one of {', '.join(KINDS)}")
    renderer = renderer_for(fmt)
    engine = engine_for(db)
    with snapshot(engine) as conn:
        records = from_store(
            conn, load_mission(conn), kind, since_us=parse_time(since, "--since"),
            until_us=parse_time(until, "--until"),
        )  # fmt: skip
    output.write_bytes(renderer.records(records))
    err.print(f"wrote {output}: {len(records.rows)} {kind}")


@complaints_app.command("file")
def complaints_file(
    party: Annotated[str, typer.Option("--party", help="The party that complains.")],
    kind: Annotated[str, typer.Option("--kind", help="What happened (an observation kind).")],
    narrative: Annotated[str, typer.Option("--narrative", help="The party's account.")],
    at: Annotated[str | None, typer.Option("--at", help="When (ISO 8601 with offset).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Window start.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Window end.")] = None,
    lat: Annotated[float | None, typer.Option("--lat")] = None,
    lon: Annotated[float | None, typer.Option("--lon")] = None,
    zone: Annotated[
        str | None, typer.Option("--zone", help="Where, as a zone of the mission.")
    ] = None,
    against: Annotated[str, typer.Option("--against", help="Whom it accuses.")] = "unknown",
    attach: Annotated[list[Path] | None, typer.Option("--attach", help="A file to attach.")] = None,
    key_dir: KeyDir = None,
    acting: As = None,
    db: Db = None,
) -> None:
    """Record a party's complaint, received in the log of every contingent whose key is here
    (or the one given with --as); prints its id, and the receipt on standard error."""
    from truceline.services.verification import ComplaintInput, file_complaint

    if at is not None and (start or end):
        raise TrucelineError("give --at, or --from and --to, not both")
    first = parse_time(at or start, "--at" if at else "--from")
    last = parse_time(at or end, "--at" if at else "--to")
    if first is None or last is None:
        raise TrucelineError("give the time: --at, or --from and --to")
    complaint = ComplaintInput(
        party=party, kind=kind, narrative=narrative, observed_from_us=first, observed_to_us=last,
        against=against, lat=lat, lon=lon, zone=zone, attachments=tuple(attach or ()),
    )  # fmt: skip
    receipt = file_complaint(engine_for(db), complaint, keyring=keyring_for(key_dir), acting=acting)
    out.print(str(receipt.id))
    err.print(
        f"received by {', '.join(receipt.received_by)} at {receipt.received}; sha256 "
        f"{receipt.sha256}; a joint answer is due by {receipt.due}"
    )


@complaints_app.command("list")
def complaints_list(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue complaints.")] = False,
    party: Annotated[str | None, typer.Option("--party", help="Only this party's.")] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Complaints and their response status (overdue when no joint verdict came in time)."""
    from truceline.services.verification import list_complaints

    rows = query(db, list_complaints, party=party, overdue=overdue)
    table = Table("id", "party", "kind", "against", "received", "due", "status")
    show(rows, as_json, table, lambda r: (
        str(r["id"]), r["party"], r["kind"], r["against"], r["received"], r["due"], r["status"],
    ), "complaint")  # fmt: skip


@cases_app.command("open")
def cases_open(
    finding: Annotated[int | None, typer.Option("--finding", help="A finding's id.")] = None,
    complaint: Annotated[int | None, typer.Option("--complaint", help="A complaint's id.")] = None,
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


@cases_app.command("assess")
def cases_assess(
    case: Annotated[int, typer.Argument(help="The case's id.")],
    contingent: Annotated[
        str, typer.Option("--as", help="The contingent whose assessment this is.")
    ],
    verdict: Annotated[
        str, typer.Option("--verdict", help="confirmed, not_confirmed or inconclusive.")
    ],
    rationale: Annotated[str, typer.Option("--rationale", help="Why.")],
    attribution: Annotated[
        str, typer.Option("--attribution", help="The party responsible, or undetermined.")
    ] = "undetermined",
    round_: Annotated[
        int | None,
        typer.Option("--round", help="The round filed for; refused unless it is the open one."),
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
    out.print(f"case {case}: {contingent} has filed; verdict {view['verdict']}; {view['note']}")


@cases_app.command("reconsider")
def cases_reconsider(
    case: Annotated[int, typer.Argument(help="The case's id.")],
    contingent: Annotated[str, typer.Option("--as", help="The contingent asking.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the case is reconsidered.")],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Open a new blind round on a decided case; its verdict stands until the round completes."""
    from truceline.services.verification import reconsider

    view = reconsider(
        engine_for(db), case, contingent=contingent, reason=reason, actor=contingent,
        keyring=keyring_for(key_dir),
    )  # fmt: skip
    out.print(f"case {case}: round {view['round']} is open; {view['note']}")


@cases_app.command("show")
def cases_show(
    case: Annotated[int, typer.Argument(help="The case's id.")],
    viewer: Annotated[str | None, typer.Option("--as", help="The contingent looking.")] = None,
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
        f"finding {shown['finding']}" if shown["finding"] else f"complaint {shown['complaint']}"
    )
    out.print(f"case {shown['id']} on {subject}: verdict {shown['verdict']}")
    out.print(shown["note"])
    for a in shown["assessments"]:
        out.print(
            f"  {a['contingent']}: {a['verdict']}, attribution {a['attribution']}: {a['rationale']}"
        )


@cases_app.command("list")
def cases_list(
    viewer: Annotated[str | None, typer.Option("--as", help="The contingent looking.")] = None,
    as_json: Json = False,
    db: Db = None,
) -> None:
    """Cases and their verdicts."""
    from truceline.services.verification import list_cases

    rows = query(db, list_cases, viewer=viewer)
    table = Table("id", "on", "opened", "verdict", "filed", "waiting for")
    show(rows, as_json, table, lambda r: (
        str(r["id"]), f"finding {r['finding']}" if r["finding"] else f"complaint {r['complaint']}",
        r["opened"], r["verdict"], ", ".join(r["filed"]), ", ".join(r["waiting_for"]),
    ), "case")  # fmt: skip


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The user name.")],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Disable an account: an entry of the log that holds it; its tokens stop working and it
    can no longer log in, on every node, until `users enable`."""
    from truceline.services.accounts import set_disabled

    set_disabled(engine_for(db), name, disabled=True, keyring=keyring_for(key_dir))
    out.print(f"{name} is disabled")


@users_app.command("enable")
def users_enable(
    name: Annotated[str, typer.Argument(help="The user name.")],
    key_dir: KeyDir = None,
    db: Db = None,
) -> None:
    """Enable a disabled account again."""
    from truceline.services.accounts import set_disabled

    set_disabled(engine_for(db), name, disabled=False, keyring=keyring_for(key_dir))
    out.print(f"{name} is enabled")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[str, typer.Option("--role", help="officer, chief, liaison or admin.")],
    contingent: Annotated[
        str | None, typer.Option("--contingent", help="For officers and chiefs.")
    ] = None,
    party: Annotated[str | None, typer.Option("--party", help="For liaisons.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
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
    out.print(
        f"added {user.role} {user.name}"
        + (f" of {user.contingent or user.party}" if user.contingent or user.party else "")
    )


@users_app.command("list")
def users_list(as_json: Json = False, db: Db = None) -> None:
    """The accounts: role, contingent or party, state, sessions and tokens that work now."""
    from truceline.services.accounts import list_users

    rows = [vars(a) for a in query(db, list_users)]
    table = Table("name", "role", "of", "state", "sessions")
    show(rows, as_json, table, lambda r: (
        r["name"], r["role"], r["contingent"] or r["party"] or "",
        "disabled" if r["disabled"] else "active" if r["can_log_in"] else "no password here",
        str(r["sessions"]),
    ), "user")  # fmt: skip


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="The user name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: Db = None,
) -> None:
    """Set a user's password on this node (prompted for, or --password-stdin); its sessions
    and tokens end."""
    from truceline.services.accounts import set_password

    password = _password(password_stdin)
    set_password(engine_for(db), name, password)
    out.print(f"{name} has a new password; its sessions and tokens ended")


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user name.")], db: Db = None
) -> None:
    """End every session and token of a user now (it may log in again)."""
    from truceline.services.accounts import revoke

    ended = revoke(engine_for(db), name)
    out.print(f"{name}: {ended} session(s) and token(s) ended")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes.")] = 1,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Behind TLS: cookies only over https (TRUCELINE_SECURE_COOKIES).",
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
    out.print(f"serving http://{host}:{port}/ (API under /api/v1, docs at /docs); Ctrl-C stops")
    uvicorn.run(
        "truceline.web.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="warning", access_log=False,
    )  # fmt: skip


def _kind(row: dict[str, Any]) -> str:
    return str(row["kind"]) + (f"/{row['subtype']}" if row["subtype"] else "")


@app.command("demo")
def demo_command(
    days: Annotated[int, typer.Option(min=1, max=60, help="Days of synthetic activity.")] = 7,
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 1,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the generated files are written.")
    ] = Path("demo-data"),
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that has data.")
    ] = False,
    serve_it: Annotated[
        bool, typer.Option("--serve", help="Then serve it (an existing demo is kept).")
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: the address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: the port.")] = 8000,
    key_dir: Annotated[
        Path | None,
        typer.Option("--key-dir", help="Where the demo's keys go (default DATA_DIR/keys)."),
    ] = None,
    db: Db = None,
) -> None:
    """Build the illustrative demo centre into a fresh database (and serve it)."""
    from truceline.services.demo import DEMO_PASSWORD, build_demo, demo_accounts, holds_demo

    engine = engine_for(db)
    if serve_it and not force and holds_demo(engine):
        out.print("using the demo database built before (--force rebuilds it)")
    else:
        summary = build_demo(
            engine, days=days, seed=seed, data_dir=data_dir, force=force, key_dir=key_dir
        )
        for line in summary:
            out.print(line)
    if serve_it:
        out.print(f"demo accounts (password {DEMO_PASSWORD!r}, for the demo only):")
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
        err.print(exc.render())
        sys.exit(exc.exit_code)
    except FieldError as exc:  # a service names its fields; the CLI says them as its flags
        flags = FLAGS.get(command, {})
        err.print(f"error: {exc.render(lambda f: flags.get(f) or _flag(f))}")
        sys.exit(exc.exit_code)
    except TrucelineError as exc:
        err.print(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        sys.exit(70)


if __name__ == "__main__":
    main()
