"""The tables. Times are integers of microseconds since the epoch (UTC) and coordinates integers
of 1e-7 degrees, so that SQLite and PostgreSQL hold exactly the same values and hashes over
stored rows can be recomputed on either.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

# An auto-incrementing 64-bit key on PostgreSQL, the rowid on SQLite.
RowId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

mission_files = Table(
    "mission_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("mission_id", String(64), nullable=False),
    Column("source_name", Text, nullable=False),
    Column("source_text", Text, nullable=False),
    Column("document", Text, nullable=False),  # resolved JSON (geometry files inlined)
    Column("loaded_at_us", BigInteger, nullable=False),
)

missions = Table(
    "missions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("sha256", String(64), ForeignKey("mission_files.sha256"), nullable=False),
)

parties = Table(
    "parties",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
)

contingents = Table(
    "contingents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("public_key", String(64)),
)

units = Table(
    "units",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("contingent", String(64), ForeignKey("contingents.id")),
    Column("party", String(64), ForeignKey("parties.id")),
    Column("name", Text),
)

zones = Table(
    "zones",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("source_geometry", Text, nullable=False),  # GeoJSON as given
    Column("buffer_m", Float),
    Column("geometry", Text, nullable=False),  # GeoJSON of the zone's area, lon/lat
    Column("area_km2", Float, nullable=False),
)

clause_versions = Table(
    "clause_versions",
    metadata,
    Column("clause_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("effective_us", BigInteger),  # null: from the mission's start
    Column("title", Text),
    Column("params", Text, nullable=False),  # JSON
    PrimaryKeyConstraint("clause_id", "version"),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # observations | positions
    Column("source_name", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),  # over the row hashes in id order
    Column("created_at_us", BigInteger, nullable=False),
    # A batch another node logged, stored here from a bundle: its node and number there, and
    # the rows it shares with batches held already ([index, uid]: stored once, in the other).
    Column("origin_node", String(32)),
    Column("origin_batch", BigInteger),
    Column("shared", Text),
    UniqueConstraint("origin_node", "origin_batch"),
)

observations = Table(
    "observations",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("uid", Text, nullable=False, unique=True),  # ["source","id"], or the row's hash
    Column("record_id", Text),
    Column("observed_from_us", BigInteger, nullable=False),
    Column("observed_to_us", BigInteger, nullable=False),
    Column("lat_e7", BigInteger, nullable=False),
    Column("lon_e7", BigInteger, nullable=False),
    Column("uncertainty_m", Float),
    Column("kind", String(32), nullable=False),
    Column("subtype", Text),
    Column("count", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("source_kind", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("reporter", String(64), ForeignKey("contingents.id"), nullable=False),
    Column("description", Text),
    Column("observer_lat_e7", BigInteger),
    Column("observer_lon_e7", BigInteger),
    Column("bearing_deg", Float),
    Column("distance_min_m", Float),
    Column("distance_max_m", Float),
    Column("batch_id", RowId, ForeignKey("import_batches.id"), nullable=False),
    Index(None, "observed_from_us"),
)

positions = Table(
    "positions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("uid", String(64), nullable=False),  # the hash of its row: unique with its time
    Column("unit", String(200), nullable=False),
    Column("time_us", BigInteger, nullable=False),
    Column("lat_e7", BigInteger, nullable=False),
    Column("lon_e7", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("speed_mps", Float),
    Column("course_deg", Float),
    Column("hae_m", Float),
    Column("name", String(200)),  # the unit's name as its device calls itself (callsign)
    Column("batch_id", RowId, ForeignKey("import_batches.id"), nullable=False),
    # every query of positions asks for a time window, and a feed adds fixes in time order
    Index(None, "time_us", "uid", unique=True),  # (0011)
)

assessment_runs = Table(
    "assessment_runs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("started_at_us", BigInteger, nullable=False),
    Column("mission_sha256", String(64), nullable=False),
    Column("last_observation_id", BigInteger, nullable=False),  # data assessed up to here
    Column("last_position_id", BigInteger, nullable=False),
    Column("window_from_us", BigInteger),  # the time window re-assessed (null: unbounded)
    Column("window_to_us", BigInteger),
    Column("incidents", Integer, nullable=False),  # in the window after the run
    Column("findings", Integer, nullable=False),
    Column("changes", Integer, nullable=False),  # rows added, changed or retired
    Column("sha256", String(64), nullable=False),  # over the window's findings, canonical JSON
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("anchor", BigInteger, nullable=False, unique=True),  # its smallest observation id
    Column("family", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("kinds", Text, nullable=False),  # JSON list
    Column("subtypes", Text, nullable=False),  # JSON list
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("lat_e7", BigInteger, nullable=False),
    Column("lon_e7", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("observations", Integer, nullable=False),
    Column("sources", Text, nullable=False),  # JSON: each source's count and observations
    Column("status", String(16), nullable=False),  # active | superseded (merged or split)
    Column("run_id", RowId, ForeignKey("assessment_runs.id"), nullable=False),
    Index(None, "start_us"),
)

incident_observations = Table(
    "incident_observations",
    metadata,
    Column("observation_id", RowId, ForeignKey("observations.id"), primary_key=True),
    Column("incident_id", RowId, ForeignKey("incidents.id"), nullable=False, index=True),
)

findings = Table(
    "findings",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),  # clause/version/what: stable identity
    Column("clause_id", String(64), nullable=False, index=True),
    Column("clause_version", Integer, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("zone", String(64)),
    Column("subject", Text),
    Column("start_us", BigInteger, nullable=False, index=True),
    Column("end_us", BigInteger, nullable=False),
    Column("incident_id", RowId, ForeignKey("incidents.id")),
    Column("unit", String(200)),
    Column("observation_id", RowId, ForeignKey("observations.id")),
    Column("evidence", Text, nullable=False),  # JSON
    Column("status", String(16), nullable=False),  # active | withdrawn
    Column("run_id", RowId, ForeignKey("assessment_runs.id"), nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("contingent", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("prev", String(64)),
    Column("seen", Text, nullable=False),  # JSON
    Column("time_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("hash", String(64), nullable=False),
    Column("sig", Text, nullable=False),
    Column("v", Integer, nullable=False, server_default="1"),  # the log format
    # what the entry is about, where a reader looks it up by that: a report signature's day
    Column("subject", String(64)),
    Index("ix_ledger_entries_action_subject", "action", "subject"),
    # Not unique on (contingent, seq): two signed entries with one seq are kept as the proof
    # of equivocation. Appending goes through ledger_heads, so this node never forks a log.
    UniqueConstraint("contingent", "seq", "hash"),
    Index(None, "contingent", "seq"),
)

ledger_heads = Table(
    "ledger_heads",
    metadata,
    Column("contingent", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("sha256", String(64), primary_key=True),  # stored by content: one copy per content
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

complaints = Table(
    "complaints",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),  # this node's number for it
    Column("key", String(64), nullable=False, unique=True),  # sha256 of the complaint: global
    Column("party", String(64), nullable=False),  # who complains
    Column("received_at_us", BigInteger, nullable=False),  # its first receipt
    Column("due_us", BigInteger, nullable=False),  # a joint verdict is due by then
    Column("observed_from_us", BigInteger, nullable=False),
    Column("observed_to_us", BigInteger, nullable=False),
    Column("lat_e7", BigInteger),
    Column("lon_e7", BigInteger),
    Column("zone", String(64)),
    Column("kind", String(32), nullable=False),
    Column("against", String(64), nullable=False),  # a party, or unknown
    Column("narrative", Text, nullable=False),
    Column("attachments", Text, nullable=False),  # JSON: [{name, sha256, size}]
    Column("filed_by", Text, nullable=False),
    Column("received_by", String(64), nullable=False),  # the contingent of the first receipt
)

complaint_receipts = Table(
    "complaint_receipts",
    metadata,
    Column("complaint_key", String(64), nullable=False),
    Column("contingent", String(64), nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("complaint_key", "contingent"),
)

nodes = Table(
    "nodes",
    metadata,
    Column("id", String(32), primary_key=True),  # this database's own id (one row)
)

# Projections of the entries (cases, rounds, assessments, complaints and their receipts,
# retractions, users' roles and state): `ledger rebuild` re-derives them, `ledger verify`
# re-derives and compares. They refer to each other by global keys, never by local ids.
cases = Table(
    "cases",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),  # this node's number for it
    Column("key", String(64), nullable=False, unique=True),  # the hash of its opening entry
    Column("subject_key", Text, nullable=False, index=True),  # finding:<key> | complaint:<sha>
    Column("subject", Text, nullable=False),  # JSON: {"finding": key} | {"complaint": sha256}
    Column("opened_at_us", BigInteger, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # open | decided | reconsidering
    Column("duplicate_of", String(64)),  # the key of the case that speaks for its subject
    Column("round", Integer, nullable=False),  # its latest round
    Column("verdict", String(16), nullable=False),  # the latest complete round's, or pending
)

rounds = Table(
    "rounds",
    metadata,
    Column("case_key", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # committing | sealed | revealed
    Column("opened_at_us", BigInteger, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("reason", Text),  # why it was reconsidered (rounds after the first)
    Column("verdict", String(16)),  # once revealed
    Column("revealed_at_us", BigInteger),
    PrimaryKeyConstraint("case_key", "number"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("case_key", String(64), nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("contingent", String(64), nullable=False),
    Column("commitment", String(64), nullable=False, unique=True),  # what the log carries
    Column("filed_at_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    # The position, once its contingent has revealed it (after every contingent has filed).
    Column("verdict", String(16)),
    Column("attribution", String(64)),
    Column("rationale", Text),
    Column("salt", String(128)),
    Column("revealed_at_us", BigInteger),
    UniqueConstraint("case_key", "round", "contingent"),  # a filing binds for its round
)

# Local to this node, never a projection: the positions this node's contingents filed and have
# not revealed yet (a node holding one key holds only its own).
sealed_positions = Table(
    "sealed_positions",
    metadata,
    Column("commitment", String(64), primary_key=True),
    Column("verdict", String(16), nullable=False),
    Column("attribution", String(64), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("salt", String(128), nullable=False),
)

retractions = Table(
    "retractions",
    metadata,
    Column("observation_uid", Text, primary_key=True),
    Column("contingent", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # officer | chief | liaison | admin
    Column("contingent", String(64)),
    Column("party", String(64)),
    # Local to this node: scrypt, with its parameters and salt (none: no login on this node).
    Column("password_hash", Text),
    Column("created_at_us", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("logged_by", String(64)),  # the contingent whose log holds the account
)

tokens = Table(
    "tokens",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256 of the bearer token
    Column("user_id", RowId, ForeignKey("users.id"), nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False, server_default="bearer"),  # session | bearer
    Column("issued_at_us", BigInteger, nullable=False, server_default="0"),
)

# The version of a day's report each account last read (its content, to say what changed
# since): a reader's place in the record, local to this node and never evidence (0012).
report_reads = Table(
    "report_reads",
    metadata,
    Column("user_id", RowId, ForeignKey("users.id"), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON of the version read
    Column("read_at_us", BigInteger, nullable=False),
)

# Failed logins of the last quarter hour: the throttle that every worker of a node shares.
# The name is kept as its sha256 (fixed size, whatever was typed); the client address as sent.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name_digest", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Index("ix_login_failures_pair", "name_digest", "address", "at_us"),
    Index("ix_login_failures_address", "address", "at_us"),
    Index("ix_login_failures_at", "at_us"),
)

# Tables in an order that respects foreign keys (for clearing and copying).
ORDERED = [
    mission_files,
    missions,
    parties,
    contingents,
    units,
    zones,
    clause_versions,
    import_batches,
    observations,
    positions,
    assessment_runs,
    incidents,
    incident_observations,
    findings,
    ledger_entries,
    ledger_heads,
    nodes,
    attachments,
    complaints,
    complaint_receipts,
    cases,
    rounds,
    assessments,
    sealed_positions,
    retractions,
    users,
    tokens,
    report_reads,
    login_failures,
]
