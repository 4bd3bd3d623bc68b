"""Load a mission file: every problem found, each named by its path.

Sections are checked one by one so that one problem does not hide the others: a file with a
misspelt zone, a naive time and an unknown key reports all three.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from truceline.domain.canonical import canonical_sha256, no_duplicate_keys
from truceline.domain.rules import RULES
from truceline.domain.rules.base import ClauseParams
from truceline.errors import MissionError, Problem
from truceline.i18n.message import M, Message, Mn
from truceline.mission import schema
from truceline.mission.geometry import GeometryProblem, area_km2, build_zone, extract_geometry
from truceline.mission.model import (
    Clause,
    ClauseVersion,
    Contingent,
    Correlation,
    Mission,
    Party,
    Place,
    Post,
    Unit,
    Zone,
)
from truceline.mission.names import check_name, resolve
from truceline.mission.yamlstrict import YamlSyntaxError, load_yaml

Model = TypeVar("Model", bound=BaseModel)
ReadFile = Callable[[str], str]


# the branch names pydantic puts in the path of a value of a union type (a name that may be
# a string or a map of language to string): not the file's keys
_BRANCH = re.compile(r"^(constrained-)?(str|int|float|bool)$|^(dict|list|tuple)\[")


def join_path(base: str, loc: tuple[int | str, ...]) -> str:
    path = base
    for part in loc:
        if isinstance(part, str) and _BRANCH.match(part):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _message(error: ErrorDetails) -> str:
    """The problem pydantic found, in our words where we have them: our validators' messages
    (a `ValueError` of a `Message`) and the kinds named here; else pydantic's text (English)."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return M("unknown key")
    if kind == "missing":
        return M("required")
    if kind == "timezone_aware":
        return M("a time needs an offset, e.g. 2020-11-10T00:00:00+04:00")
    if kind in ("datetime_from_date_parsing", "datetime_parsing", "datetime_type"):
        return M("not an ISO 8601 time with offset: {value!r}", value=error["input"])
    raised = (error.get("ctx") or {}).get("error")
    ours = raised.args[0] if isinstance(raised, Exception) and raised.args else None
    if kind == "value_error" and isinstance(ours, Message):
        return ours
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _either(messages: list[str]) -> str:
    """`a; or b; or c`: each message said in the reader's language."""
    said = messages[0]
    for other in messages[1:]:
        said = M("{first}; or {other}", first=said, other=other)
    return said


def validate(model: type[Model], data: Any, path: str, problems: list[Problem]) -> Model | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        said: dict[str, list[str]] = {}  # (a union's branches each say why: one problem)
        branches: dict[str, set[str]] = {}
        for error in exc.errors():
            where = join_path(path, tuple(error["loc"]))
            said.setdefault(where, []).append(_message(error))
            branches.setdefault(where, set()).update(
                p.split("[")[0] for p in error["loc"] if isinstance(p, str) and _BRANCH.match(p)
            )
        for where, messages in said.items():
            if {"constrained-str", "dict"} <= branches[where]:  # a name: one or per language
                messages = [M("expected a string, or a map of language to string")]
            elif len(messages) > 1:
                messages = [_either(list(dict.fromkeys(messages)))]
            problems.extend(Problem(where, m) for m in messages)
        return None


def _items(doc: dict[str, Any], key: str, problems: list[Problem]) -> list[Any]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(key, M("expected a list")))
        return []
    return value


def _ids(items: list[Any], key: str, problems: list[Problem]) -> set[str]:
    """Ids in a list (valid items or not, so one bad item does not cascade); no duplicates."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            ident = item["id"]
            if ident in seen:
                problems.append(Problem(f"{key}[{i}].id", M("duplicate id {id!r}", id=ident)))
            seen.add(ident)
    return seen


def parse_mission(text: str, *, source: str, read_file: ReadFile | None = None) -> Mission:
    """Parse mission text (YAML, or JSON when `source` ends in .json)."""
    try:
        if source.endswith(".json"):
            doc = json.loads(text, object_pairs_hook=no_duplicate_keys)
        else:
            doc = load_yaml(text)
    except YamlSyntaxError as exc:
        raise MissionError(
            M("{source}: not valid YAML", source=source),
            [
                Problem(
                    M("line {line}, column {column}", line=exc.line, column=exc.column), exc.message
                )
            ],
        ) from None
    except json.JSONDecodeError as exc:
        raise MissionError(
            M("{source}: not valid JSON", source=source),
            [
                Problem(
                    M("line {line}, column {column}", line=exc.lineno, column=exc.colno), exc.msg
                )
            ],
        ) from None
    except ValueError as exc:  # (a duplicate key: ours, a Message; else Python's English)
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else str(exc)
        raise MissionError(
            M("{source}: not valid JSON", source=source), [Problem("", reason)]
        ) from None
    return parse_mission_document(doc, source=source, read_file=read_file)


def parse_mission_document(
    doc: Any, *, source: str = "mission", read_file: ReadFile | None = None
) -> Mission:
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise MissionError(
            M("{source}: invalid mission file", source=source),
            [Problem("", M("expected a mapping"))],
        )
    for key in doc:
        if key not in schema.TOP_LEVEL_KEYS:
            problems.append(Problem(str(key), M("unknown key")))
    if doc.get("format") != schema.FORMAT:
        problems.append(
            Problem(
                "format",
                M(
                    "expected {format!r}, found {found!r}",
                    format=schema.FORMAT,
                    found=doc.get("format"),
                ),
            )
        )
    resolved = dict(doc)

    info = validate(schema.MissionInfo, doc.get("mission"), "mission", problems)
    party_items = _items(doc, "parties", problems)
    contingent_items = _items(doc, "contingents", problems)
    party_ids = _ids(party_items, "parties", problems)
    contingent_ids = _ids(contingent_items, "contingents", problems)
    for clash in sorted(party_ids & contingent_ids):
        problems.append(Problem("contingents", M("id {id!r} is also a party's id", id=clash)))
    for reserved in sorted((party_ids | contingent_ids) & {"unknown", "undetermined"}):
        problems.append(Problem("parties", M("id {id!r} is reserved", id=reserved)))
    if not party_items:
        problems.append(Problem("parties", M("at least one party is needed")))
    if len(contingent_items) < 2:
        problems.append(Problem("contingents", M("a joint centre needs at least two contingents")))

    parties = [
        validate(schema.PartySpec, p, f"parties[{i}]", problems) for i, p in enumerate(party_items)
    ]
    contingents = [
        validate(schema.ContingentSpec, c, f"contingents[{i}]", problems)
        for i, c in enumerate(contingent_items)
    ]

    unit_items = _items(doc, "units", problems)
    _ids(unit_items, "units", problems)
    units: list[schema.UnitSpec] = []
    for i, item in enumerate(unit_items):
        unit = validate(schema.UnitSpec, item, f"units[{i}]", problems)
        if unit is None:
            continue
        if unit.contingent is not None and unit.contingent not in contingent_ids:
            problems.append(
                Problem(
                    f"units[{i}].contingent",
                    M("unknown contingent {contingent!r}", contingent=unit.contingent),
                )
            )
        if unit.party is not None and unit.party not in party_ids:
            problems.append(
                Problem(f"units[{i}].party", M("unknown party {party!r}", party=unit.party))
            )
        units.append(unit)

    zone_items = _items(doc, "zones", problems)
    zone_ids = _ids(zone_items, "zones", problems)
    zones, resolved["zones"] = _zones(zone_items, read_file, problems)

    clause_items = _items(doc, "clauses", problems)
    clause_ids = _ids(clause_items, "clauses", problems)
    clause_raw: dict[str, dict[str, Any]] = {}
    first_versions: dict[str, ClauseParams] = {}
    refs_ok = _RefChecker(party_ids, contingent_ids, zone_ids, problems)
    for i, item in enumerate(clause_items):
        params = _clause(item, f"clauses[{i}]", problems)
        if params is not None:
            refs_ok.check(params, f"clauses[{i}]")
            first_versions.setdefault(params.id, params)
            clause_raw.setdefault(params.id, dict(item))

    correlation = validate(
        schema.CorrelationSpec, doc.get("correlation") or {}, "correlation", problems
    )
    complaints = validate(
        schema.ComplaintsSpec, doc.get("complaints") or {}, "complaints", problems
    )
    tracks = validate(schema.TracksSpec, doc.get("tracks") or {}, "tracks", problems)

    versions: dict[str, list[ClauseVersion]] = {}
    start = info.start if info else None
    for clause_id, params in first_versions.items():
        versions[clause_id] = [ClauseVersion(clause_id, 1, params.effective or start, params)]
    for i, item in enumerate(_items(doc, "amendments", problems)):
        _amendment(item, i, clause_ids, clause_raw, versions, refs_ok, problems)

    languages = tuple(info.languages) if info is not None else _raw_languages(doc)
    posts = _posts(_items(doc, "posts", problems), contingent_ids, languages, problems)
    places, resolved_places = _places(doc.get("places"), read_file, languages, problems)
    if "places" in doc:
        resolved["places"] = resolved_places
    if info is not None:  # (else the languages themselves may be what is wrong)
        _check_names(doc, languages, problems)

    if problems or info is None or correlation is None or complaints is None or tracks is None:
        # (the English says `problem(s)` for any number, as it always has)
        raise MissionError(
            Mn(
                "{source}: {n} problem(s) in the mission file",
                "{source}: {n} problem(s) in the mission file",
                len(problems),
                source=source,
            ),
            problems,
        )

    clauses = {}
    for cid, vs in versions.items():
        ordered = tuple(sorted(vs, key=lambda v: v.version))
        latest = ordered[-1].params
        clauses[cid] = Clause(
            cid, ordered, titles=resolve(latest.title, languages) if latest.title else {},
            texts=resolve(latest.text, languages) if latest.text else {},
        )  # fmt: skip
    first = {x.id: resolve(x.name, languages) for x in (*parties, *contingents) if x}
    return Mission(
        id=info.id,
        name=resolve(info.name, languages)[languages[0]],
        names=resolve(info.name, languages),
        posts=posts,
        places=places,
        timezone=ZoneInfo(info.timezone),
        report_cutoff=time.fromisoformat(info.report_cutoff),
        languages=tuple(info.languages),
        start=info.start,
        parties={
            p.id: Party(p.id, first[p.id][languages[0]], names=first[p.id]) for p in parties if p
        },
        contingents={
            c.id: Contingent(c.id, first[c.id][languages[0]], c.public_key, names=first[c.id])
            for c in contingents
            if c
        },
        units={
            u.id: Unit(
                u.id,
                u.kind,
                u.contingent,
                u.party,
                None if u.name is None else resolve(u.name, languages)[languages[0]],
                names={} if u.name is None else resolve(u.name, languages),
            )
            for u in units
        },
        zones={
            zid: replace(
                z,
                name=resolve(z.name, languages)[languages[0]],
                names=resolve(z.name, languages),
            )
            for zid, z in zones.items()
        },
        clauses=clauses,
        correlation=Correlation(float(correlation.time_s), float(correlation.distance_m)),
        response_hours=float(complaints.response_hours),
        max_gap_s=float(tracks.max_gap_s),
        document=resolved,
        sha256=canonical_sha256(resolved),
    )


def _zones(
    items: list[Any], read_file: ReadFile | None, problems: list[Problem]
) -> tuple[dict[str, Zone], list[Any]]:
    zones: dict[str, Zone] = {}
    resolved_items: list[Any] = []
    for i, item in enumerate(items):
        resolved_items.append(item)
        where = f"zones[{i}]"
        spec = validate(schema.ZoneSpec, item, where, problems)
        if spec is None:
            continue
        geometry = spec.geometry
        geometry_where = f"{where}.geometry"
        if spec.geometry_file is not None:
            geometry_where = f"{where}.geometry_file"
            if read_file is None:
                problems.append(Problem(geometry_where, M("geometry files cannot be read here")))
                continue
            try:
                text = read_file(spec.geometry_file)
                geometry = extract_geometry(
                    json.loads(text), f"{geometry_where} ({spec.geometry_file})"
                )
            except OSError as exc:
                problems.append(
                    Problem(
                        geometry_where,
                        M(
                            "cannot read {file}: {reason}",
                            file=spec.geometry_file,
                            reason=exc.strerror,
                        ),
                    )
                )
                continue
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(
                        geometry_where,
                        M(
                            "{file}:{line}: not JSON: {reason}",
                            file=spec.geometry_file,
                            line=exc.lineno,
                            reason=exc.msg,
                        ),
                    )
                )
                continue
            except GeometryProblem as exc:
                problems.append(Problem(exc.where, exc.message))
                continue
            inline = {k: v for k, v in item.items() if k != "geometry_file"}
            inline["geometry"] = geometry
            resolved_items[-1] = inline
        assert geometry is not None
        try:
            area = build_zone(geometry, spec.buffer, geometry_where)
        except GeometryProblem as exc:
            problems.append(Problem(exc.where, exc.message))
            continue
        zones[spec.id] = Zone(
            spec.id, spec.name or spec.id,  # type: ignore[arg-type]  # (resolved by the caller)
            geometry, spec.buffer, area, area_km2(area),
        )  # fmt: skip
    return zones, resolved_items


def _raw_languages(doc: dict[str, Any]) -> tuple[str, ...]:
    """The languages as the file lists them, when the mission section is invalid."""
    info = doc.get("mission")
    listed = info.get("languages") if isinstance(info, dict) else None
    if isinstance(listed, list) and listed and all(isinstance(x, str) for x in listed):
        return tuple(listed)
    return ("en",)


def _check_names(doc: dict[str, Any], languages: tuple[str, ...], problems: list[Problem]) -> None:
    """Every map of names names only the mission's languages, and its first."""
    if isinstance(doc.get("mission"), dict):
        check_name(doc["mission"].get("name"), languages, "mission.name", problems)
    for section, keys in (("parties", ("name",)), ("contingents", ("name",)),
                          ("units", ("name",)), ("zones", ("name",)), ("posts", ("name",)),
                          ("clauses", ("title", "text"))):  # fmt: skip
        items = doc.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            for key in keys:
                if isinstance(item, dict):
                    check_name(item.get(key), languages, f"{section}[{i}].{key}", problems)
    amendments = doc.get("amendments")
    for i, item in enumerate(amendments if isinstance(amendments, list) else []):
        if isinstance(item, dict) and isinstance(item.get("set"), dict):
            for key in ("title", "text"):
                check_name(item["set"].get(key), languages, f"amendments[{i}].set.{key}", problems)


def _hours(value: str | None) -> tuple[time, time] | None:
    if value is None:
        return None
    end = value[6:]
    return time.fromisoformat(value[:5]), (
        time(0, 0) if end == "24:00" else time.fromisoformat(end)
    )


def _posts(
    items: list[Any], contingents: set[str], languages: tuple[str, ...], problems: list[Problem]
) -> dict[str, Post]:
    _ids(items, "posts", problems)
    posts: dict[str, Post] = {}
    for i, item in enumerate(items):
        spec = validate(schema.PostSpec, item, f"posts[{i}]", problems)
        if spec is None:
            continue
        if spec.contingent not in contingents:
            problems.append(
                Problem(
                    f"posts[{i}].contingent",
                    M("unknown contingent {contingent!r}", contingent=spec.contingent),
                )
            )
            continue
        posts[spec.id] = Post(
            spec.id, spec.contingent, float(spec.point[0]), float(spec.point[1]),
            float(spec.view_m), _hours(spec.hours), names=resolve(spec.name, languages, spec.id),
        )  # fmt: skip
    return posts


MAX_PLACES = 100_000


def _places(
    value: Any, read_file: ReadFile | None, languages: tuple[str, ...], problems: list[Problem]
) -> tuple[tuple[Place, ...], Any]:
    """The gazetteer: a GeoJSON file of Point features with a `name` (a string or a map of
    language to string), named by its path, or the FeatureCollection inline. Answers the
    places and the collection to keep in the resolved document (a file inlined)."""
    if value is None:
        return (), None
    where, doc = "places", value
    if isinstance(value, str):
        if read_file is None:
            problems.append(Problem(where, M("a places file cannot be read here")))
            return (), value
        try:
            doc = json.loads(read_file(value))
        except OSError as exc:
            problems.append(
                Problem(where, M("cannot read {file}: {reason}", file=value, reason=exc.strerror))
            )
            return (), value
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(
                Problem(where, M("{file}: not JSON: {reason}", file=value, reason=str(exc)))
            )
            return (), value
        where = f"places ({value})"
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        problems.append(Problem(where, M("expected a GeoJSON FeatureCollection of Point features")))
        return (), value
    features = doc.get("features")
    if not isinstance(features, list):
        problems.append(Problem(f"{where}.features", M("expected a list")))
        return (), value
    if len(features) > MAX_PLACES:
        problems.append(
            Problem(
                f"{where}.features",
                Mn("more than {n:,} place", "more than {n:,} places", MAX_PLACES),
            )
        )
        return (), value
    places: list[Place] = []
    for i, feature in enumerate(features):
        at = f"{where}.features[{i}]"
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            problems.append(Problem(f"{at}.geometry", M("a place is a Point")))
            continue
        if not isinstance(coords, list) or len(coords) < 2:
            problems.append(Problem(f"{at}.geometry.coordinates", M("expected [lon, lat]")))
            continue
        item = {"name": (props or {}).get("name") if isinstance(props, dict) else None,
                "lon": coords[0], "lat": coords[1]}  # fmt: skip
        spec = validate(schema.PlaceSpec, item, at, problems)
        if spec is None:
            continue
        check_name(spec.name, languages, f"{at}.properties.name", problems)
        places.append(Place(float(spec.lon), float(spec.lat), names=resolve(spec.name, languages)))
    return tuple(places), doc


def _clause(item: Any, where: str, problems: list[Problem]) -> ClauseParams | None:
    if not isinstance(item, dict):
        problems.append(Problem(where, M("a clause is a mapping")))
        return None
    rule = item.get("rule")
    module = RULES.get(rule) if isinstance(rule, str) else None
    if module is None:
        problems.append(
            Problem(
                f"{where}.rule",
                M(
                    "unknown rule {rule!r} (known: {known})",
                    rule=rule,
                    known=", ".join(sorted(RULES)),
                ),
            )
        )
        return None
    params: ClauseParams | None = validate(module.Params, item, where, problems)
    return params


class _RefChecker:
    def __init__(
        self, parties: set[str], contingents: set[str], zones: set[str], problems: list[Problem]
    ) -> None:
        self.parties, self.contingents, self.zones, self.problems = (
            parties,
            contingents,
            zones,
            problems,
        )

    def check(self, params: ClauseParams, where: str) -> bool:
        refs = RULES[params.rule].references(params)
        before = len(self.problems)
        for path, ident in refs.zones:
            if ident not in self.zones:
                self.problems.append(
                    Problem(f"{where}.{path}", M("unknown zone {zone!r}", zone=ident))
                )
        for path, ident in refs.parties:
            if ident not in self.parties:
                self.problems.append(
                    Problem(f"{where}.{path}", M("unknown party {party!r}", party=ident))
                )
        for path, ident in refs.subjects:
            if ident not in self.parties and ident not in self.contingents:
                self.problems.append(
                    Problem(
                        f"{where}.{path}", M("unknown party or contingent {actor!r}", actor=ident)
                    )
                )
        return len(self.problems) == before


def _amendment(
    item: Any,
    i: int,
    clause_ids: set[str],
    clause_raw: dict[str, dict[str, Any]],
    versions: dict[str, list[ClauseVersion]],
    refs: _RefChecker,
    problems: list[Problem],
) -> None:
    where = f"amendments[{i}]"
    spec = validate(schema.AmendmentSpec, item, where, problems)
    if spec is None:
        return
    if spec.clause not in clause_ids:
        problems.append(
            Problem(f"{where}.clause", M("unknown clause {clause!r}", clause=spec.clause))
        )
        return
    if spec.clause not in versions:
        return  # the clause itself is invalid and reported already
    for key in ("id", "rule", "effective"):
        if key in spec.set:
            problems.append(Problem(f"{where}.set.{key}", M("cannot be amended")))
            return
    existing = versions[spec.clause]
    if any(v.version == spec.version for v in existing):
        problems.append(
            Problem(
                f"{where}.version",
                M(
                    "clause {clause!r} has version {version} already",
                    clause=spec.clause,
                    version=spec.version,
                ),
            )
        )
        return
    # Each version builds on the one before it in version order.
    base = clause_raw[spec.clause]
    merged = {**base, **spec.set}
    params = validate(RULES[base["rule"]].Params, merged, f"{where}.set", problems)
    if params is None or not refs.check(params, f"{where}.set"):
        return
    clause_raw[spec.clause] = merged
    existing.append(ClauseVersion(spec.clause, spec.version, spec.effective, params))
    ordered = sorted(existing, key=lambda v: v.version)
    for earlier, later in itertools.pairwise(ordered):
        if (
            earlier.effective is not None
            and later.effective is not None
            and later.effective < earlier.effective
        ):
            problems.append(
                Problem(
                    f"{where}.effective",
                    M(
                        "version {later} takes effect before version {earlier}",
                        later=later.version,
                        earlier=earlier.version,
                    ),
                )
            )
            return
