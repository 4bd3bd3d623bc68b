"""The report's map and charts as self-contained SVG: well-formed, escaped, offline, bounded."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from truceline.services.reports.svg import (
    MAX_POINTS,
    SYMBOLS,
    ZONE_STYLES,
    LegendEntry,
    MapPoint,
    MapZone,
    Series,
    bar_chart_svg,
    hbar_chart_svg,
    map_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
NS = {"s": "http://www.w3.org/2000/svg"}
FORBIDDEN = {"script", "image", "foreignObject", "use", "a", "iframe", "style", "feImage"}
EVIL = "<script>alert('x')</script> \"q\" & 'a'"


def km(value: float) -> str:
    return f"{value:g} km"


def parse(svg: str) -> Any:
    """The SVG parsed (proving it is well-formed), after checking it is self-contained."""
    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    assert root.nsmap == {None: "http://www.w3.org/2000/svg"}
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert etree.QName(el).localname not in FORBIDDEN
        for raw_name, raw_value in el.attrib.items():
            name, value = str(raw_name), str(raw_value)
            assert "http" not in name.lower() and "http" not in value.lower(), (name, value)
            assert not name.endswith("href"), name
            assert not name.startswith("on"), name
            for ref in re.findall(r"url\(([^)]*)\)", value):
                assert ref.startswith("#") and ref[1:] in ids, ref
    labelled = root.get("aria-labelledby")
    assert labelled in ids
    return root


def texts(root: Any) -> str:
    return "".join(root.itertext())


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def drawn_points(root: Any) -> list[Any]:
    return list(root.xpath("//s:g[@class='points']//*[s:title]", namespaces=NS))


def frame_rect(root: Any) -> tuple[float, float, float, float]:
    (rect,) = root.xpath("//s:rect[@class='frame']", namespaces=NS)
    return tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def is_round_km(value: float) -> bool:
    exp = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10.0**exp
    return any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 5))


# --- the map -----------------------------------------------------------------------------------


def test_a_map_with_no_data_is_still_a_valid_svg() -> None:
    root = parse(map_svg([], [], [], title="Day 18 Nov", scale_label=km))
    assert root.get("viewBox") == "0 0 720 480"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert "max-width:100%" in root.get("style")
    assert "DejaVu Sans" in root.get("font-family")
    assert root.find(f"{SVG}title").text == "Day 18 Nov"
    assert "Day 18 Nov" in texts(root)
    assert frame_rect(root)[2] > 0
    assert not drawn_points(root)


def test_a_single_point_gives_a_valid_map_with_a_scale_bar() -> None:
    point = MapPoint(44.5, 40.2, "shot", "Shot, 14:32 +04:00")
    root = parse(map_svg([], [point], [], title="One", scale_label=km))
    assert len(drawn_points(root)) == 1
    (bar,) = root.xpath("//s:g[@class='scale-bar']", namespaces=NS)
    assert is_round_km(float(bar.get("data-km")))


def test_degenerate_bounds_and_a_zone_alone_still_draw() -> None:
    zone = MapZone("z", "Zone", square(44.0, 40.0, 0.1), "watched")
    parse(map_svg([zone], [], [], title="t", scale_label=km))
    parse(map_svg([], [], [], title="t", scale_label=km, bounds=(44.0, 40.0, 44.0, 40.0)))
    parse(map_svg([], [], [], title="t", scale_label=km, bounds=(-180.0, -90.0, 180.0, 90.0)))


def test_a_script_in_any_text_comes_out_as_text_not_as_an_element() -> None:
    zone = MapZone("z", EVIL, square(44.0, 40.0, 0.3), "excluded")
    points = [MapPoint(44.1 + i * 1e-4, 40.1, "explosion", EVIL) for i in range(3)]
    svg = map_svg(
        [zone],
        points,
        [LegendEntry("explosion", EVIL), LegendEntry("zone:excluded", EVIL)],
        title=EVIL,
        scale_label=lambda _km: EVIL,
        sampled_note=EVIL,
    )
    root = parse(svg)
    assert not root.xpath("//*[local-name()='script']")
    assert "<script>alert('x')</script>" in texts(root)
    assert "<script>" not in svg
    for chart in (
        bar_chart_svg([EVIL], [Series(EVIL, [1])], title=EVIL),
        bar_chart_svg([EVIL], [Series(EVIL, [0])], title=EVIL, empty_note=EVIL),
        hbar_chart_svg([EVIL], [2], title=EVIL),
        hbar_chart_svg([], [], title=EVIL, empty_note=EVIL),
    ):
        chart_root = parse(chart)
        assert not chart_root.xpath("//*[local-name()='script']")
        assert "<script>" in texts(chart_root)


def test_characters_xml_cannot_hold_are_dropped() -> None:
    bad = "a\x00b\x01c\x1bd\ud800e\ufffef"
    root = parse(
        map_svg(
            [MapZone("z", bad, square(44.0, 40.0, 0.3), "confined")],
            [MapPoint(44.1, 40.1, "burst", bad)],
            [LegendEntry("burst", bad)],
            title=bad,
            scale_label=lambda _km: bad,
        )
    )
    assert "abcdef" in texts(root)
    parse(bar_chart_svg([bad], [Series(bad, [3])], title=bad))
    parse(hbar_chart_svg([bad], [3], title=bad))


def test_symbols_for_different_kinds_have_different_shapes_and_printable_colours() -> None:
    shapes = {}
    for key, symbol in SYMBOLS.items():
        root = parse(map_svg([], [MapPoint(44.0, 40.0, key, key)], [], title=key, scale_label=km))
        (el,) = drawn_points(root)
        name = etree.QName(el).localname
        # the path relative to the point (the leading absolute move stripped), or the circle
        shape = re.sub(r"^M[-\d.]+ [-\d.]+", "", el.get("d", "")) if name == "path" else "r"
        shapes[key] = (name, shape, el.get("r"))
        assert el.getparent().get("fill") == symbol.color
        assert contrast_with_white(symbol.color) >= 3.0, key
    assert {"explosion", "projectile", "burst", "shot", "muzzle_flash", "restriction"} <= set(
        SYMBOLS
    )
    assert {"finding", "other"} <= set(SYMBOLS)
    assert len(set(shapes.values())) == len(SYMBOLS)
    assert len({s.color for s in SYMBOLS.values()}) == len(SYMBOLS)
    assert len({s.shape for s in SYMBOLS.values()}) == len(SYMBOLS)
    for style in ZONE_STYLES.values():
        assert contrast_with_white(style.color) >= 3.0


def contrast_with_white(color: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


@pytest.mark.parametrize(
    "bounds",
    [
        (44.0, 40.0, 46.0, 41.0),
        (44.0, 40.0, 44.05, 40.02),
        (20.0, 60.0, 24.0, 61.5),
        (-70.5, -10.0, -69.0, -8.0),
        (10.0, 0.0, 12.0, 3.0),
    ],
)
def test_the_scale_bar_is_a_round_length_matching_the_projection(
    bounds: tuple[float, float, float, float],
) -> None:
    w, s, e, n = bounds
    lat0, lon0 = (s + n) / 2, (w + e) / 2
    dlon = (e - w) / 4
    points = [MapPoint(lon0 - dlon, lat0, "shot", "a"), MapPoint(lon0 + dlon, lat0, "shot", "b")]
    root = parse(
        map_svg([], points, [LegendEntry("shot", "Shot")], title="t", scale_label=km, bounds=bounds)
    )
    (bar,) = root.xpath("//s:g[@class='scale-bar']", namespaces=NS)
    length_km = float(bar.get("data-km"))
    assert is_round_km(length_km)
    (line,) = bar.xpath("s:line", namespaces=NS)
    drawn = float(line.get("x2")) - float(line.get("x1"))

    # from the bounds and the frame: the fit of the projected extent into the frame
    _x, _y, fw, fh = frame_rect(root)
    coslat = math.cos(math.radians(lat0))
    scale = min(fw / ((e - w) * coslat), fh / (n - s))
    assert drawn == pytest.approx(length_km * scale / 111.32, rel=0.01)

    # from two points on the centre parallel: their pixel distance over their distance in km
    a, b = drawn_points(root)
    px = abs(float(b.get("cx")) - float(a.get("cx")))
    dist_km = 2 * dlon * coslat * 111.32
    assert drawn == pytest.approx(length_km * px / dist_km, rel=0.01)

    assert fw / 10 <= drawn <= fw * 2 / 5  # about a fifth of the map width
    assert km(length_km) in texts(bar)


def test_the_map_keeps_the_aspect_ratio() -> None:
    # two points a known distance apart east-west and north-south: the same km, the same pixels
    lat0 = 45.0
    d = 0.1
    dlon = d / math.cos(math.radians(lat0))
    points = [
        MapPoint(30.0, lat0, "shot", "o"),
        MapPoint(30.0 + dlon, lat0, "shot", "e"),
        MapPoint(30.0, lat0 + d, "shot", "n"),
    ]
    root = parse(
        map_svg([], points, [], title="t", scale_label=km, bounds=(29.9, 44.9, 30.3, 45.2))
    )
    o, e, n = ((float(p.get("cx")), float(p.get("cy"))) for p in drawn_points(root))
    east = e[0] - o[0]
    north = o[1] - n[1]
    assert east > 0 and north > 0
    assert east == pytest.approx(north, rel=0.01)


def test_fifty_thousand_points_draw_a_bounded_deterministic_sample_with_the_note() -> None:
    kinds = list(SYMBOLS)
    points = [
        MapPoint(44.0 + (i % 250) / 250, 40.0 + (i // 250) / 400, kinds[i % 7], f"#{i}")
        for i in range(50_000)
    ]
    points.append(MapPoint(44.5, 40.2, "other", "the rare one"))
    note = "A sample of 20,000 of 50,001 points"
    svg = map_svg([], points, [], title="t", scale_label=km, sampled_note=note)
    root = parse(svg)
    drawn = drawn_points(root)
    assert 0.9 * MAX_POINTS <= len(drawn) <= MAX_POINTS
    assert note in texts(root)
    assert "the rare one" in texts(root)  # every kind keeps a share of the sample
    assert map_svg([], points, [], title="t", scale_label=km, sampled_note=note) == svg

    few = map_svg([], points[:100], [], title="t", scale_label=km, sampled_note=note)
    assert note not in few
    assert len(drawn_points(parse(few))) == 100


def test_points_outside_the_bounds_are_left_out() -> None:
    points = [MapPoint(44.5, 40.5, "shot", "in"), MapPoint(50.0, 40.5, "shot", "out")]
    root = parse(
        map_svg([], points, [], title="t", scale_label=km, bounds=(44.0, 40.0, 45.0, 41.0))
    )
    assert [p.findtext(f"{SVG}title") for p in drawn_points(root)] == ["in"]


def test_zones_are_drawn_below_points_and_their_labels_above_with_a_halo() -> None:
    zones = [
        MapZone("a", "Alpha", square(44.0, 40.0, 0.2), "excluded"),
        MapZone(
            "b",
            "Bravo",
            {
                "type": "MultiPolygon",
                "coordinates": [
                    square(44.3, 40.0, 0.1)["coordinates"],
                    square(44.5, 40.0, 0.1)["coordinates"],
                ],
            },
            "withdrawal",
        ),
        MapZone("c", "Charlie", square(44.0, 40.3, 0.1), "confined"),
        MapZone("d", "Delta", square(44.3, 40.3, 0.1), "watched"),
    ]
    root = parse(
        map_svg(zones, [MapPoint(44.1, 40.1, "finding", "f")], [], title="t", scale_label=km)
    )
    children = [c.get("class") for c in root if isinstance(c.tag, str)]
    assert children.index("zones") < children.index("points") < children.index("zone-labels")
    zone_paths = root.xpath("//s:g[@class='zones']/s:path", namespaces=NS)
    assert [p.findtext(f"{SVG}title") for p in zone_paths] == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert zone_paths[0].get("fill").startswith("url(#")  # hatched
    assert zone_paths[1].get("d").count("M") == 2  # both parts
    assert zone_paths[2].get("stroke-dasharray")
    texts = root.xpath("//s:g[@class='zone-labels']/s:text", namespaces=NS)
    halos, labels = texts[0::2], texts[1::2]
    assert [t.text for t in labels] == ["Alpha", "Bravo", "Charlie", "Delta"]
    # each label over a white halo of the same words, drawn first (print renderers do not all
    # know paint-order)
    assert [t.text for t in halos] == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert all(t.get("stroke") == "#fff" and t.get("aria-hidden") == "true" for t in halos)
    assert all(t.get("fill") == "#222" and t.get("stroke") is None for t in labels)


def test_two_different_maps_define_different_ids() -> None:
    zone = MapZone("a", "Alpha", square(44.0, 40.0, 0.2), "excluded")
    one = parse(map_svg([zone], [], [], title="one", scale_label=km))
    two = parse(map_svg([zone], [], [], title="two", scale_label=km))
    ids_one = {el.get("id") for el in one.iter() if el.get("id")}
    ids_two = {el.get("id") for el in two.iter() if el.get("id")}
    assert ids_one and not ids_one & ids_two


def test_the_legend_draws_each_symbol_with_its_text() -> None:
    legend = [LegendEntry(k, f"kind {k}") for k in SYMBOLS] + [
        LegendEntry(f"zone:{s}", f"zone {s}") for s in ZONE_STYLES
    ]
    root = parse(map_svg([], [], legend, title="t", scale_label=km))
    entries = root.xpath("//s:g[@class='legend-entry']", namespaces=NS)
    assert len(entries) == len(legend)
    for entry, item in zip(entries, legend, strict=True):
        assert item.text in texts(entry)
        assert entry.xpath("s:g/*|s:rect", namespaces=NS)


def test_unknown_symbols_styles_and_coordinates_are_refused() -> None:
    with pytest.raises(ValueError):
        MapPoint(0.0, 0.0, "tank", "t")
    with pytest.raises(ValueError):
        MapPoint(0.0, 95.0, "shot", "t")
    with pytest.raises(ValueError):
        MapPoint(math.nan, 0.0, "shot", "t")
    with pytest.raises(ValueError):
        MapZone("z", "z", square(0, 0, 1), "forbidden")
    with pytest.raises(ValueError):
        MapZone("z", "z", {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "watched")
    with pytest.raises(ValueError):
        LegendEntry("zone:nope", "x")
    with pytest.raises(ValueError):
        map_svg([], [], [], title="t", scale_label=km, bounds=(1.0, 0.0, 0.0, 1.0))
    with pytest.raises(ValueError):
        bar_chart_svg(["a", "b"], [Series("s", [1])], title="t")
    with pytest.raises(ValueError):
        bar_chart_svg(["a"], [Series("s", [-1])], title="t")
    with pytest.raises(ValueError):
        hbar_chart_svg(["a"], [1, 2], title="t")


lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(-89, 89, allow_nan=False)
anytext = st.text(max_size=30)


@st.composite
def bounds_strategy(draw: st.DrawFn) -> tuple[float, float, float, float] | None:
    if draw(st.booleans()):
        return None
    w, e = sorted((draw(lons), draw(lons)))
    s, n = sorted((draw(lats), draw(lats)))
    return (w, s, e, n)


@st.composite
def zone_strategy(draw: st.DrawFn) -> MapZone:
    lon, lat = draw(st.floats(-170, 170)), draw(st.floats(-80, 80))
    size = draw(st.floats(1e-6, 5))
    k = draw(st.integers(3, 6))
    ring = [
        [lon + draw(st.floats(0, size)), lat + draw(st.floats(0, size))] for _ in range(k)
    ]  # often self-intersecting or degenerate
    return MapZone(
        draw(anytext),
        draw(anytext),
        {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        draw(st.sampled_from(sorted(ZONE_STYLES))),
    )


points_strategy = st.builds(MapPoint, lons, lats, st.sampled_from(sorted(SYMBOLS)), anytext)
legend_strategy = st.builds(
    LegendEntry,
    st.sampled_from(sorted(SYMBOLS) + [f"zone:{s}" for s in ZONE_STYLES]),
    anytext,
)


@settings(max_examples=50, deadline=None)
@given(
    zones=st.lists(zone_strategy(), max_size=3),
    points=st.lists(points_strategy, max_size=20),
    legend=st.lists(legend_strategy, max_size=12),
    bounds=bounds_strategy(),
    title=anytext,
    width=st.integers(200, 1200),
    height=st.integers(150, 900),
)
def test_any_map_is_well_formed_and_self_contained(
    zones: list[MapZone],
    points: list[MapPoint],
    legend: list[LegendEntry],
    bounds: tuple[float, float, float, float] | None,
    title: str,
    width: int,
    height: int,
) -> None:
    root = parse(
        map_svg(
            zones,
            points,
            legend,
            title=title,
            scale_label=km,
            width=width,
            height=height,
            bounds=bounds,
        )
    )
    assert len(drawn_points(root)) <= len(points)
    for bar in root.xpath("//s:g[@class='scale-bar']", namespaces=NS):
        assert is_round_km(float(bar.get("data-km")))


# --- the bar charts ----------------------------------------------------------------------------

DAYS = [f"{d} Nov" for d in range(18, 32)]


def bar_tops(root: Any) -> list[tuple[float, float]]:
    return [
        (float(r.get("y")), float(r.get("height")))
        for r in root.xpath("//s:g[@class='bars']/s:rect", namespaces=NS)
    ]


def y_ticks(root: Any) -> dict[int, float]:
    return {
        int(t.get("data-value")): float(t.get("y1"))
        for t in root.xpath("//s:line[@class='y-tick']", namespaces=NS)
    }


def test_the_tallest_stacked_bar_reaches_at_most_the_top_tick() -> None:
    series = [
        Series("Explosions", [3, 0, 7, 1] * 3 + [0, 2]),
        Series("Shots", [1, 4, 6, 0] * 3 + [0, 0]),
        Series("Other", [0, 1, 0, 2] * 3 + [5, 0]),
    ]
    root = parse(bar_chart_svg(DAYS, series, title="By day"))
    ticks = y_ticks(root)
    top_value = max(ticks)
    assert sorted(ticks)[0] == 0 and top_value >= 13  # 7 + 6: the tallest total
    assert all(isinstance(v, int) for v in ticks)
    tallest = min(y for y, _h in bar_tops(root))
    assert tallest >= ticks[top_value] - 0.1
    assert all(h > 0 for _y, h in bar_tops(root))
    # the stack of day 3 reaches exactly the pixel of 13
    per_unit = (ticks[0] - ticks[top_value]) / top_value
    assert ticks[0] - tallest == pytest.approx(13 * per_unit, abs=0.2)
    titles = [t.text for t in root.xpath("//s:g[@class='bars']/s:rect/s:title", namespaces=NS)]
    assert "20 Nov · Explosions: 7" in titles
    assert all(re.search(r": \d+$", t) for t in titles)
    # textures as well as colours: three different fills, two of them patterns
    fills = {r.get("fill") for r in root.xpath("//s:g[@class='bars']/s:rect", namespaces=NS)}
    assert len(fills) == 3 and sum(f.startswith("url(#") for f in fills) == 2


def test_more_than_eight_categories_rotate_their_labels() -> None:
    many = parse(bar_chart_svg(DAYS, [Series("a", [1] * 14)], title="t"))
    few = parse(bar_chart_svg(DAYS[:7], [Series("a", [1] * 7)], title="t"))
    rotated = many.xpath("//s:g[@class='axis']/s:text[@transform]", namespaces=NS)
    assert len(rotated) == 14 and "rotate(-45" in rotated[0].get("transform")
    assert not few.xpath("//s:g[@class='axis']/s:text[@transform]", namespaces=NS)


def test_a_chart_of_all_zeros_shows_the_empty_note_on_an_axis_of_zero_to_one() -> None:
    note = "No incident recorded"
    for chart in (
        bar_chart_svg(
            DAYS, [Series("a", [0] * 14), Series("b", [0] * 14)], title="t", empty_note=note
        ),
        bar_chart_svg(DAYS, [], title="t", empty_note=note),
        bar_chart_svg([], [], title="t", empty_note=note),
    ):
        root = parse(chart)
        assert note in texts(root)
        assert sorted(y_ticks(root)) == [0, 1]
        assert not bar_tops(root)
    assert note not in bar_chart_svg(["x"], [Series("a", [2])], title="t", empty_note=note)


def test_bars_side_by_side_when_not_stacked() -> None:
    root = parse(
        bar_chart_svg(
            ["a", "b"], [Series("s", [4, 1]), Series("t", [3, 9])], title="t", stacked=False
        )
    )
    ticks = y_ticks(root)
    assert max(ticks) >= 9
    assert len(bar_tops(root)) == 4


@settings(max_examples=50, deadline=None)
@given(
    data=st.data(),
    n_cat=st.integers(0, 20),
    n_ser=st.integers(0, 7),
    stacked=st.booleans(),
    width=st.integers(200, 1200),
    height=st.integers(120, 600),
)
def test_any_bar_chart_is_well_formed_and_fits_its_axis(
    data: st.DataObject, n_cat: int, n_ser: int, stacked: bool, width: int, height: int
) -> None:
    cats = data.draw(st.lists(anytext, min_size=n_cat, max_size=n_cat))
    series = [
        Series(
            data.draw(anytext),
            data.draw(st.lists(st.integers(0, 10**6), min_size=n_cat, max_size=n_cat)),
        )
        for _ in range(n_ser)
    ]
    root = parse(
        bar_chart_svg(
            cats,
            series,
            title=data.draw(anytext),
            width=width,
            height=height,
            stacked=stacked,
            empty_note="none",
        )
    )
    ticks = y_ticks(root)
    totals = (
        [(sum if stacked else max)(s.values[j] for s in series) for j in range(n_cat)]
        if series
        else []
    )
    assert max(totals, default=0) <= max(ticks)
    for y, h in bar_tops(root):
        assert h >= 0 and y >= ticks[max(ticks)] - 0.1


def test_a_horizontal_chart_grows_with_its_labels_and_truncates_long_ones() -> None:
    long = "Clause 4.2: no heavy weapons within fifteen kilometres of the contact line"
    labels = [long, "3.1", "5"]
    root = parse(hbar_chart_svg(labels, [7, 0, 12], title="Findings per clause"))
    more = parse(hbar_chart_svg(labels * 4, [7, 0, 12] * 4, title="Findings per clause"))
    height = float(root.get("viewBox").split()[3])
    taller = float(more.get("viewBox").split()[3])
    assert taller - height == pytest.approx(9 * 24, abs=1)
    rows = root.xpath("//s:g[@class='row']", namespaces=NS)
    shown = [r.xpath("s:text", namespaces=NS)[0].text for r in rows]
    assert shown[0].endswith("…") and len(shown[0]) <= 40 and long.startswith(shown[0][:-1])
    assert rows[0].findtext(f"{SVG}title") == f"{long}: 7"
    values = [r.xpath("s:text", namespaces=NS)[1].text for r in rows]
    assert values == ["7", "0", "12"]
    widths = [float(r.find(f"{SVG}rect").get("width")) for r in rows]
    assert widths[1] == 0 and widths[2] > widths[0] > 0


def test_an_empty_horizontal_chart_shows_the_note() -> None:
    for chart in (
        hbar_chart_svg([], [], title="t", empty_note="No finding"),
        hbar_chart_svg(["1.1", "1.2"], [0, 0], title="t", empty_note="No finding"),
    ):
        root = parse(chart)
        assert "No finding" in texts(root)
        assert not root.xpath("//s:g[@class='row']", namespaces=NS)


@settings(max_examples=50, deadline=None)
@given(
    pairs=st.lists(st.tuples(anytext, st.integers(0, 10**6)), max_size=30),
    title=anytext,
    width=st.integers(200, 1200),
)
def test_any_horizontal_chart_is_well_formed(
    pairs: list[tuple[str, int]], title: str, width: int
) -> None:
    labels = [p[0] for p in pairs]
    values = [p[1] for p in pairs]
    root = parse(hbar_chart_svg(labels, values, title=title, width=width, empty_note="none"))
    assert len(root.xpath("//s:g[@class='row']", namespaces=NS)) in (0, len(pairs))
