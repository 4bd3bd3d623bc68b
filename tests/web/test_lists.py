"""The work lists: incidents, findings and cases filtered by day, zone, clause, kind, verdict
and state, searched, paged, exported; a refused filter is named in the page, never a 500."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from tests.web.test_pages import logged_in
from truceline.services.ingest import ingest_observations


def _rows(page: str, table: str) -> list[list[str]]:
    tree = html.fromstring(page)
    rows = tree.xpath(f'//table[@id="{table}"]//tr[td]')
    return [[" ".join(td.text_content().split()) for td in row.xpath("td")] for row in rows]


def _add_explosions(centre: dict[str, Any], tmp_path: Path, n: int, day: str, lat: float) -> None:
    lines = ["id,observed_at,lat,lon,kind,count,source_kind,source,reporter"]
    for k in range(n):  # an hour apart (each its own incident), in one place
        lines.append(f"x{day}-{k},{day}T{k % 24:02d}:{k // 24:02d}:00+04:00,{lat},46.75,"
                     f"explosion,1,observation_post,OP-1,blue")  # fmt: skip
    path = tmp_path / f"more-{day}.csv"
    path.write_text("\n".join(lines) + "\n")
    from truceline.services.assess import assess

    ingest_observations(centre["engine"], path, keyring=centre["keyring"], acting="blue")
    assess(centre["engine"], keyring=centre["keyring"], acting="blue")


def test_the_incident_list_filters_by_day_and_kind_and_pages_fifty_at_a_time(
    site: dict[str, Any],
    tmp_path: Path,
) -> None:
    _add_explosions(site, tmp_path, 60, "2020-11-23", 40.27)
    officer = logged_in(site, "officer")
    day = officer.get("/incidents?from=2020-11-23&to=2020-11-23&kind=explosion")
    assert day.status_code == 200
    first = _rows(day.text, "incidents")
    assert len(first) == 50 and all("Nov 23, 2020" in r[1] for r in first)
    assert 'rel="next"' in day.text
    following = re.search(r'href="([^"]*page=2[^"]*)" rel="next"', day.text)
    assert following is not None
    second = officer.get(following.group(1).replace("&amp;", "&"))
    rest = _rows(second.text, "incidents")
    assert len(rest) == 10 and not {r[0] for r in rest} & {r[0] for r in first}
    other_day = officer.get("/incidents?from=2020-11-22&to=2020-11-22")
    assert _rows(other_day.text, "incidents")[0][0].startswith("No incident")
    flares = officer.get("/incidents?kind=flare")
    assert _rows(flares.text, "incidents")[0][0].startswith("No incident")  # (none recorded)


def test_a_refused_filter_is_named_in_the_page_and_not_echoed_into_its_links(
    site: dict[str, Any],
) -> None:
    officer = logged_in(site, "officer")
    reply = officer.get('/incidents?zone="><script>x()</script>&from=2020-13-45&kind=explosion')
    assert reply.status_code == 200
    assert "<script>x()" not in reply.text
    assert "These filters were not applied" in reply.text and "not a day" in reply.text
    links = re.findall(r'href="(/incidents/export[^"]*)"', reply.text)  # the list's own
    assert links and all("zone" not in link and "from" not in link for link in links)
    assert all("kind=explosion" in link for link in links)
    assert all("<script" not in link for link in re.findall(r'href="([^"]*)"', reply.text))


def test_the_search_finds_an_incident_by_the_words_of_its_kind_in_the_pages_language(
    site: dict[str, Any],
) -> None:
    officer = logged_in(site, "officer")
    everything = _rows(officer.get("/incidents").text, "incidents")
    found = _rows(officer.get("/incidents?q=explosion").text, "incidents")
    assert found and len(found) <= len(everything)
    assert all("Explosion" in r[2] for r in found)
    nothing = _rows(officer.get("/incidents?q=no-such-word-anywhere").text, "incidents")
    assert nothing[0][0].startswith("No incident")


def test_the_export_of_a_list_holds_what_is_listed_on_every_page(
    site: dict[str, Any],
    tmp_path: Path,
) -> None:
    _add_explosions(site, tmp_path, 60, "2020-11-23", 40.27)
    officer = logged_in(site, "officer")
    reply = officer.get("/incidents/export?format=geojson&from=2020-11-23&to=2020-11-23")
    assert reply.status_code == 200 and "attachment" in reply.headers["content-disposition"]
    features = json.loads(reply.content)["features"]
    assert len(features) == 60


def test_the_findings_and_cases_lists_link_each_finding_to_its_case(
    site: dict[str, Any],
) -> None:
    officer = logged_in(site, "officer")
    findings = officer.get("/findings")
    assert findings.status_code == 200 and 'href="/cases/1"' in findings.text
    pending = _rows(officer.get("/findings?verdict=pending").text, "findings")
    assert pending and "awaiting verification" in pending[0][-1]
    confirmed = _rows(officer.get("/findings?verdict=confirmed").text, "findings")
    assert confirmed[0][0].startswith("No finding")
    cases = officer.get("/cases?state=open")
    rows = _rows(cases.text, "cases")
    assert rows and rows[0][0] == "case 1" and "your filing" in rows[0][4]
    assert _rows(officer.get("/cases?state=decided").text, "cases")[0][0].startswith("No case")


@pytest.mark.parametrize("lang", ["ru", "tr"])
def test_a_work_list_speaks_the_pages_language(site: dict[str, Any], lang: str) -> None:
    officer = logged_in(site, "officer")
    page = officer.get(f"/incidents?lang={lang}")
    assert f'<html lang="{lang}">' in page.text
    assert "These filters" not in page.text and ">Incidents<" not in page.text


def test_a_page_far_beyond_the_last_asks_the_store_for_a_bounded_number_of_rows(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from truceline.store import compliance

    asked: list[int] = []
    real = compliance.list_incidents

    def counting(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["limit"])
        return real(*args, **kwargs)

    monkeypatch.setattr(compliance, "list_incidents", counting)
    reply = logged_in(site, "officer").get("/incidents?page=99999999")
    assert reply.status_code == 200 and asked and max(asked) <= 20_001
