"""A published day that changes (a reconsideration, a retraction) gets a new version that
the chiefs sign again; readers see "version 2, correcting version 1" and what changed, and
every version stays published and verifiable."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from truceline.domain.cases import Position
from truceline.services.demo import build_demo
from truceline.services.ledger import KeyRing
from truceline.services.missions import read_mission
from truceline.services.reports import renderer_for
from truceline.services.reports.json_renderer import signed_json
from truceline.services.reports.verify import verify_document
from truceline.services.signing import published_document, report_document, sign_report
from truceline.services.verification import file_assessment, open_case, reconsider
from truceline.store.db import make_engine
from truceline.store.missions import load_mission

DAY = date(2020, 11, 21)


def test_a_reconsideration_after_publication_yields_version_2_and_both_verify(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    build_demo(engine, days=3, seed=5, data_dir=tmp_path / "data", force=False)
    keyring = KeyRing(tmp_path / "data" / "keys")
    finding = report_document(engine, DAY).content["findings"][0]["id"]
    case = open_case(engine, finding=finding, keyring=keyring, acting="blue")
    for contingent in ("blue", "green"):
        file_assessment(
            engine, case["id"], contingent=contingent, actor=contingent, keyring=keyring,
            position=Position("confirmed", "west", "seen from the post"),
        )  # fmt: skip

    def publish() -> None:
        sha = report_document(engine, DAY).sha256
        for contingent in ("blue", "green"):
            sign_report(engine, DAY, sha256=sha, contingent=contingent, actor="chief",
                        keyring=keyring)  # fmt: skip

    publish()
    first = report_document(engine, DAY)
    assert first.published is not None and first.published["version"] == 1
    reconsider(engine, case["id"], contingent="green", reason="new footage", actor="green",
               keyring=keyring)  # fmt: skip
    assert report_document(engine, DAY).draft  # the published version is out of date
    publish()
    with engine.connect() as conn:
        mission = load_mission(conn)
        latest = published_document(conn, mission, DAY)
        earlier = published_document(conn, mission, DAY, version=1)
    assert latest is not None and earlier is not None
    assert latest.published is not None and latest.published["version"] == 2
    corrects = latest.content["corrects"]  # signed: a reader can check the correction
    assert corrects["version"] == 1 and corrects["sha256"] == first.sha256
    moved = {"what": "verification", "finding": finding,
             "before": {"verdict": "confirmed", "state": "decided"},
             "after": {"verdict": "confirmed", "state": "reconsidering"}}  # fmt: skip
    assert moved in corrects["changes"]
    text = renderer_for("text").report(latest, "en").decode()
    assert "Version 2, correcting version 1" in text and "under reconsideration" in text
    assert "Version 1." in renderer_for("text").report(earlier, "en").decode()
    mission_file, _ = read_mission(tmp_path / "data" / "mission.yaml")
    keys = {c.id: str(c.public_key) for c in mission_file.contingents.values()}
    for document in (earlier, latest):
        assert verify_document(signed_json(document).encode(), keys).ok
        assert verify_document(renderer_for("html").report(document, "tr"), keys).ok
    engine.dispose()


def test_a_contingent_signing_an_older_version_late_brings_nothing_back(tmp_path: Path) -> None:
    import pytest

    from truceline.errors import Conflict

    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    build_demo(engine, days=3, seed=5, data_dir=tmp_path / "data", force=False)
    keyring = KeyRing(tmp_path / "data" / "keys")
    first = report_document(engine, DAY).sha256
    sign_report(engine, DAY, sha256=first, contingent="blue", actor="chief", keyring=keyring)
    finding = report_document(engine, DAY).content["findings"][0]["id"]
    open_case(engine, finding=finding, keyring=keyring, acting="blue")  # the content moves on
    second = report_document(engine, DAY).sha256
    assert second != first
    for contingent in ("blue", "green"):
        sign_report(engine, DAY, sha256=second, contingent=contingent, actor="chief",
                    keyring=keyring)  # fmt: skip
    # green now signs the version blue signed first and left: refused, nothing published
    with pytest.raises(Conflict, match="changed since it was read"):
        sign_report(engine, DAY, sha256=first, contingent="green", actor="chief",
                    keyring=keyring)  # fmt: skip
    with engine.connect() as conn:
        latest = published_document(conn, load_mission(conn), DAY)
    assert latest is not None and latest.sha256 == second and latest.version == 1
    engine.dispose()
