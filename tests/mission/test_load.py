"""Loading the mission file: the agreement as code, with every problem named by its path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from truceline.errors import MissionError
from truceline.mission import parse_mission, parse_mission_document

BAKU = timezone(timedelta(hours=4))


def problems_of(doc: Any) -> dict[str, str]:
    with pytest.raises(MissionError) as caught:
        parse_mission_document(doc)
    return {p.where: p.message for p in caught.value.problems}


def test_the_demo_mission_loads_with_its_zones_clauses_and_amendment(mission_doc: dict) -> None:
    mission = parse_mission_document(mission_doc)
    assert set(mission.zones) >= {"contact-line", "corridor", "peacekeeping-area", "centre"}
    assert [v.version for v in mission.clauses["3"].versions] == [1, 2]
    assert mission.report_cutoff.strftime("%H:%M") == "19:30"
    assert mission.timezone.key == "Asia/Baku"


def test_a_misspelt_zone_reference_is_named_by_its_path(mission_doc: dict) -> None:
    mission_doc["clauses"][1]["zone"] = "district-agdam"
    assert problems_of(mission_doc) == {"clauses[1].zone": "unknown zone 'district-agdam'"}


def test_a_time_without_an_offset_is_an_error(mission_doc: dict) -> None:
    mission_doc["clauses"][1]["deadline"] = "2020-11-20T00:00:00"
    found = problems_of(mission_doc)
    assert list(found) == ["clauses[1].deadline"]
    assert "offset" in found["clauses[1].deadline"]


def test_an_unknown_key_is_an_error_so_a_typo_cannot_disable_a_rule(mission_doc: dict) -> None:
    mission_doc["clauses"][0]["zone"] = "contact-line"  # no_fire takes `zones`
    assert problems_of(mission_doc) == {"clauses[0].zone": "unknown key"}


def test_every_problem_of_a_file_is_reported_not_only_the_first(mission_doc: dict) -> None:
    mission_doc["clauses"][1]["zone"] = "nowhere"
    mission_doc["clauses"][2]["deadline"] = "2020-11-15"
    mission_doc["mission"]["timezon"] = "Asia/Baku"
    mission_doc["colour"] = "blue"
    found = problems_of(mission_doc)
    assert set(found) == {"clauses[1].zone", "clauses[2].deadline", "mission.timezon", "colour"}


def test_unknown_rule_party_subject_and_amended_clause_are_named(mission_doc: dict) -> None:
    mission_doc["clauses"][0]["rule"] = "no_fires"
    mission_doc["clauses"][1]["party"] = "north"
    mission_doc["clauses"][5]["subject"] = "red"
    mission_doc["amendments"][0]["clause"] = "33"
    found = problems_of(mission_doc)
    assert found["clauses[0].rule"].startswith("unknown rule 'no_fires'")
    assert found["clauses[1].party"] == "unknown party 'north'"
    assert found["clauses[5].subject"] == "unknown party or contingent 'red'"
    assert found["amendments[0].clause"] == "unknown clause '33'"


def test_an_amendment_that_names_an_unknown_zone_is_named_under_set(mission_doc: dict) -> None:
    mission_doc["amendments"][0]["set"] = {"zone": "elsewhere"}
    assert problems_of(mission_doc) == {"amendments[0].set.zone": "unknown zone 'elsewhere'"}


def test_an_amendment_cannot_change_a_clause_rule_or_reuse_a_version(mission_doc: dict) -> None:
    mission_doc["amendments"].append(
        {"clause": "3", "version": 2, "effective": "2020-11-16T00:00:00+04:00", "set": {}}
    )
    mission_doc["amendments"].append(
        {
            "clause": "2",
            "version": 2,
            "effective": "2020-11-16T00:00:00+04:00",
            "set": {"rule": "no_fire"},
        }
    )
    found = problems_of(mission_doc)
    assert found["amendments[1].version"] == "clause '3' has version 2 already"
    assert found["amendments[2].set.rule"] == "cannot be amended"


def test_duplicate_ids_and_too_few_contingents_are_errors(mission_doc: dict) -> None:
    mission_doc["zones"].append(dict(mission_doc["zones"][0]))
    mission_doc["contingents"] = mission_doc["contingents"][:1]
    mission_doc["units"] = [u for u in mission_doc["units"] if u.get("contingent") != "green"]
    mission_doc["clauses"] = [c for c in mission_doc["clauses"] if c.get("subject") != "green"]
    found = problems_of(mission_doc)
    assert found[f"zones[{len(mission_doc['zones']) - 1}].id"] == "duplicate id 'contact-line'"
    assert found["contingents"] == "a joint centre needs at least two contingents"


def test_a_boolean_is_not_a_number_in_a_mission_file(mission_doc: dict) -> None:
    mission_doc["clauses"][7]["limit"] = True
    mission_doc["zones"][0]["buffer_m"] = False
    found = problems_of(mission_doc)
    assert "clauses[7].limit" in found
    assert any(key.startswith("zones[0].buffer_m") for key in found)


def test_a_bad_public_key_and_time_zone_are_errors(mission_doc: dict) -> None:
    mission_doc["contingents"][0]["public_key"] = "ed25519:short"
    mission_doc["mission"]["timezone"] = "Asia/Bakuu"
    found = problems_of(mission_doc)
    assert "32 bytes" in found["contingents[0].public_key"]
    assert "Asia/Bakuu" in found["mission.timezone"]


@pytest.mark.parametrize(
    ("geometry", "where", "words"),
    [
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "zones[0].geometry",
            "Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "zones[0].geometry.coordinates[0]",
            "not closed",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]},
            "zones[0].geometry.coordinates[0][1]",
            "outside -180..180",
        ),
        (
            {"type": "Point", "coordinates": [0, 91]},
            "zones[0].geometry.coordinates",
            "outside -90..90",
        ),
        (
            {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            "zones[0].geometry",
            "needs `buffer_m` or `width_m`",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [True, 0], [1, 1], [0, 0]]]},
            "zones[0].geometry.coordinates[0][1]",
            "numbers",
        ),
    ],
)
def test_invalid_zone_geometry_is_named_with_the_reason(
    mission_doc: dict, geometry: dict, where: str, words: str
) -> None:
    mission_doc["zones"][0] = {"id": "contact-line", "geometry": geometry}
    found = problems_of(mission_doc)
    assert where in found, found
    assert words in found[where]


def test_yaml_one_point_one_surprises_are_not_accepted() -> None:
    text = "format: truceline/mission@1\nmission: {id: m, name: M, report_cutoff: 19:30}\n"
    with pytest.raises(MissionError) as caught:
        parse_mission(text, source="m.yaml")
    # 19:30 stays a string (YAML 1.1 would read 1170), so the cutoff itself is accepted.
    assert "mission.report_cutoff" not in {p.where for p in caught.value.problems}


def test_a_duplicate_key_is_an_error_with_its_line() -> None:
    text = "format: truceline/mission@1\nparties: []\nparties: []\n"
    with pytest.raises(MissionError) as caught:
        parse_mission(text, source="m.yaml")
    assert "duplicate key 'parties'" in caught.value.render()
    assert "line 3" in caught.value.render()


def test_a_geometry_file_is_read_relative_to_the_mission_and_inlined(mission_doc: dict) -> None:
    zone = mission_doc["zones"][2]
    geometry = zone.pop("geometry")
    zone["geometry_file"] = "zones/pk.geojson"
    collection = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": geometry}],
    }
    files = {"zones/pk.geojson": json.dumps(collection)}
    mission = parse_mission_document(mission_doc, read_file=files.__getitem__)
    assert mission.document["zones"][2]["geometry"] == geometry
    assert "geometry_file" not in mission.document["zones"][2]


def test_a_missing_geometry_file_is_named(mission_doc: dict) -> None:
    mission_doc["zones"][2].pop("geometry")
    mission_doc["zones"][2]["geometry_file"] = "zones/none.geojson"

    def missing(name: str) -> str:
        raise FileNotFoundError(2, "No such file or directory", name)

    with pytest.raises(MissionError) as caught:
        parse_mission_document(mission_doc, read_file=missing)
    assert caught.value.problems[0].where == "zones[2].geometry_file"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2020, 11, 13, 23, 59, 59, tzinfo=BAKU), 1),
        (datetime(2020, 11, 14, 0, 0, 0, tzinfo=BAKU), 2),  # exactly at `effective`
        (datetime(2020, 11, 13, 20, 0, 0, tzinfo=UTC), 2),  # the same instant in UTC
        (datetime(2020, 12, 1, tzinfo=BAKU), 2),
    ],
)
def test_the_version_in_force_is_the_latest_whose_effective_is_not_later(
    mission_doc: dict, moment: datetime, expected: int
) -> None:
    clause = parse_mission_document(mission_doc).clauses["3"]
    version = clause.version_at(moment)
    assert version is not None and version.version == expected


def test_a_clause_does_not_apply_before_it_takes_effect(mission_doc: dict) -> None:
    mission = parse_mission_document(mission_doc)
    assert (
        mission.clauses["1"].version_at(
            datetime(2020, 11, 9, 23, 0, tzinfo=timezone(timedelta(hours=3)))
        )
        is None
    )


def test_the_mission_hash_changes_with_any_change_of_the_agreement(mission_doc: dict) -> None:
    before = parse_mission_document(mission_doc).sha256
    mission_doc["clauses"][7]["limit"] = 61
    assert parse_mission_document(mission_doc).sha256 != before


def test_names_in_every_language_fall_back_to_the_first_and_a_wrong_map_is_named(
    mission_doc: dict,
) -> None:
    mission_doc["parties"][0]["name"] = {"en": "East Forces", "ru": "Восточные силы"}
    mission = parse_mission_document(mission_doc)
    assert mission.parties["east"].names == {"en": "East Forces", "ru": "Восточные силы",
                                             "tr": "East Forces"}  # fmt: skip
    assert mission.parties["east"].name == "East Forces"
    mission_doc["parties"][0]["name"] = {"ru": "Восточные силы", "de": "Ostkräfte"}
    mission_doc["clauses"][0]["title"] = {"fr": "Cessez-le-feu"}
    found = problems_of(mission_doc)
    assert found["parties[0].name.de"].startswith("not a language of the mission (en, ru, tr)")
    assert "first language 'en'" in found["parties[0].name"]
    assert "clauses[0].title.fr" in found and "clauses[0].title" in found


def test_a_post_and_the_places_are_checked_and_named_where_they_are_wrong(
    mission_doc: dict,
) -> None:
    mission = parse_mission_document(mission_doc)
    assert mission.posts["OP-3"].hours is not None and len(mission.places) == 8
    assert mission.document["places"]["type"] == "FeatureCollection"  # inlined: in the sha256
    mission_doc["posts"] = [
        {"id": "OP-1", "contingent": "red", "point": [46.9, 40.0]},
        {"id": "OP-2", "contingent": "blue", "point": [46.9, 40.0], "hours": "25:00-08:00"},
        {"id": "OP-3", "contingent": "blue", "point": [46.9, 40.0], "hours": "08:00-08:00"},
        {"id": "OP-4", "contingent": "blue", "point": [200, 40.0]},
    ]
    mission_doc["places"] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "A"},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Point", "coordinates": [46.9, 40.0]}},
        {"type": "Feature", "properties": {"name": {"xx": "B"}},
         "geometry": {"type": "Point", "coordinates": [46.9, 40.0]}},
    ]}  # fmt: skip
    found = problems_of(mission_doc)
    assert found["posts[0].contingent"] == "unknown contingent 'red'"
    assert "posts[1].hours" in found and "same time" in found["posts[2].hours"]
    assert any(k.startswith("posts[3].point") for k in found)
    assert found["places.features[0].geometry"] == "a place is a Point"
    assert found["places.features[1].name"] == "expected a string, or a map of language to string"
    assert "places.features[2].properties.name.xx" in found
    mission_doc["places"] = "nowhere.geojson"
    assert "places" in problems_of(mission_doc)  # (no file can be read here)
