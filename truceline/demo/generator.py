"""A seeded generator of synthetic activity for the illustrative demo mission.

Pure: it returns records; `truceline.services.demo` writes them to files and imports them with
the ordinary importers. Every clause kind gets a few violations, the same explosion is seen by
several sources (with different counts), some reports are SMM-style bearing/distance
estimates, and the monitors meet restrictions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
BAKU = timezone(timedelta(hours=4))
# The synthetic activity starts at the close of the reporting day of 19 November 2020, so that
# the handover deadline of 20 November falls inside the first days.
START = datetime(2020, 11, 19, 19, 30, tzinfo=BAKU)

CONTACT_LINE = [(46.40, 40.28), (46.75, 40.27), (46.96, 40.06), (47.02, 39.85), (46.92, 39.64)]
CORRIDOR = [(46.752, 39.815), (46.70, 39.74), (46.62, 39.68), (46.55, 39.64), (46.44, 39.55)]
STEPANAKERT = (46.752, 39.815)
OPS_CENTRE = (47.25, 40.15)
CENTRE = (47.30, 40.05)
AGHDAM_INSIDE = (47.10, 40.10)
AGHDAM_OUTSIDE = (46.90, 40.45)
KALBAJAR_INSIDE = (46.05, 40.12)
KALBAJAR_OUTSIDE = (45.90, 40.50)
LACHIN_INSIDE = (46.22, 39.70)
# Observation posts: (id, contingent, lon, lat)
POSTS = [
    ("OP-1", "blue", 46.80, 40.18),
    ("OP-2", "blue", 46.88, 39.92),
    ("OP-3", "green", 47.05, 40.12),
    ("OP-4", "green", 47.08, 39.90),
]


@dataclass
class DemoData:
    observations: list[dict[str, Any]] = field(default_factory=list)  # CSV rows
    uav_features: list[dict[str, Any]] = field(default_factory=list)  # GeoJSON features
    positions: list[dict[str, Any]] = field(default_factory=list)  # CSV rows


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _move(lon: float, lat: float, azimuth: float, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return float(lon2), float(lat2)


def _along(line: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """A point at `fraction` (0..1) of the way along a polyline (by vertex index, enough here)."""
    position = fraction * (len(line) - 1)
    i = min(int(position), len(line) - 2)
    f = position - i
    (x1, y1), (x2, y2) = line[i], line[i + 1]
    return x1 + (x2 - x1) * f, y1 + (y2 - y1) * f


def generate(days: int = 7, seed: int = 1) -> DemoData:
    rng = random.Random(seed)
    data = DemoData()
    serial = 0

    def observation(**fields: Any) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        fields.setdefault("id", f"demo-{serial:06d}")
        return fields

    def fix(
        unit: str, moment: datetime, lon: float, lat: float, speed: float | None = None
    ) -> None:
        row = {"unit": unit, "time": _iso(moment), "lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}
        if speed is not None:
            row["speed_mps"] = f"{speed:.1f}"
        data.positions.append(row)

    for day in range(days):
        day_start = START + timedelta(days=day)
        morning = day_start.replace(hour=8, minute=0) + timedelta(days=1)

        # UAV loops: blue over the peacekeeping area, green over its area of operations.
        for unit, centre, radius in (
            ("blue-uav-1", STEPANAKERT, 9000.0),
            ("green-uav-1", OPS_CENTRE, 12000.0),
        ):
            for step in range(4 * 120):  # four hours, a fix every 30 s
                moment = morning + timedelta(seconds=30 * step)
                lon, lat = _move(*centre, (step * 3.0) % 360, radius)
                fix(unit, moment, lon, lat, 35.0)
        if day == 1:  # green's UAV strays west into the peacekeeping area for three fixes
            stray = morning + timedelta(hours=5)
            for k in range(3):
                lon, lat = _move(46.85, 40.05, 270, 1500.0 * k)
                fix("green-uav-1", stray + timedelta(seconds=30 * k), lon, lat, 35.0)

        # Blue's patrol drives the corridor and back; green's patrols around the centre.
        for step in range(4 * 60):
            moment = morning + timedelta(hours=2, minutes=step)
            fraction = step / 120 if step < 120 else (240 - step) / 120
            lon, lat = _along(CORRIDOR, min(fraction, 1.0))
            fix("blue-patrol-1", moment, lon, lat, 12.0)
            lon, lat = _move(*CENTRE, step * 6.0, 3000.0)
            fix("green-patrol-1", moment, lon, lat, 10.0)

        # West columns: the Aghdam column leaves a day after its deadline (a breach); the
        # Kalbajar column leaves before the amended deadline (a breach only under version 1).
        for step in range(0, 24 * 60, 5):  # a fix every five minutes
            moment = day_start + timedelta(minutes=step)
            deadline_aghdam = datetime(2020, 11, 21, 6, 0, tzinfo=BAKU)
            spot = AGHDAM_INSIDE if moment < deadline_aghdam else AGHDAM_OUTSIDE
            fix("west-col-1", moment, *_move(*spot, rng.uniform(0, 360), rng.uniform(0, 300)))
            leave_kalbajar = datetime(2020, 11, 23, 12, 0, tzinfo=BAKU)
            spot = KALBAJAR_INSIDE if moment < leave_kalbajar else KALBAJAR_OUTSIDE
            fix("west-col-2", moment, *_move(*spot, rng.uniform(0, 360), rng.uniform(0, 300)))

        # Fire along the line of contact, each event seen by one to three sources.
        for _ in range(rng.randint(2, 5)):
            lon, lat = _along(CONTACT_LINE, rng.random())
            moment = day_start + timedelta(minutes=rng.randint(60, 23 * 60))
            shooter = rng.choice(["east", "west", "unknown", "unknown"])
            shots = rng.randint(2, 15)
            sources = rng.sample(POSTS, rng.randint(1, 3))
            for post, contingent, post_lon, post_lat in sources:
                seen = moment + timedelta(seconds=rng.randint(-90, 90))
                count = max(1, shots - rng.randint(0, 3))
                ev_lon, ev_lat = _move(lon, lat, rng.uniform(0, 360), rng.uniform(0, 200))
                if rng.random() < 0.35:  # an SMM-style report: bearing and distance band
                    azimuth, _, distance = GEOD.inv(post_lon, post_lat, ev_lon, ev_lat)
                    band = max(500.0, distance * 0.15)
                    data.observations.append(observation(
                        observed_at=_iso(seen), observer_lat=f"{post_lat:.6f}",
                        observer_lon=f"{post_lon:.6f}", bearing_deg=f"{azimuth % 360:.0f}",
                        distance_min_m=f"{max(0.0, distance - band):.0f}",
                        distance_max_m=f"{distance + band:.0f}", kind="explosion",
                        subtype="impact", count=count, actor=shooter,
                        source_kind="observation_post", source=post, reporter=contingent,
                        description=f"{count} explosions heard and seen",
                    ))  # fmt: skip
                else:
                    data.observations.append(observation(
                        observed_at=_iso(seen), lat=f"{ev_lat:.6f}", lon=f"{ev_lon:.6f}",
                        uncertainty_m=str(rng.choice([100, 200, 300])), kind="explosion",
                        subtype=rng.choice(["impact", "undetermined"]), count=count,
                        actor=shooter, source_kind="observation_post", source=post,
                        reporter=contingent, description=f"{count} explosions",
                    ))  # fmt: skip
            if rng.random() < 0.5:  # the UAV on station films it too
                uav, contingent = rng.choice([("UAV-B1", "blue"), ("UAV-G1", "green")])
                data.uav_features.append(_feature(observation(
                    observed_at=_iso(moment + timedelta(seconds=rng.randint(0, 60))),
                    kind="explosion", subtype="impact", count=shots, actor=shooter,
                    source_kind="uav", source=uav, reporter=contingent, uncertainty_m="50",
                    description="impacts filmed from the UAV",
                ), lon, lat))  # fmt: skip

        # A flare at night (not fire under the default clause), heavy weapons, works.
        lon, lat = _along(CONTACT_LINE, rng.random())
        data.observations.append(observation(
            observed_at=_iso(day_start + timedelta(hours=3)), lat=f"{lat:.6f}", lon=f"{lon:.6f}",
            kind="flare", actor="unknown", source_kind="observation_post", source="OP-2",
            reporter="blue", description="illumination flare",
        ))  # fmt: skip
        if day % 2 == 0:
            data.observations.append(observation(
                observed_at=_iso(day_start + timedelta(hours=15)), lat=f"{LACHIN_INSIDE[1]:.6f}",
                lon=f"{LACHIN_INSIDE[0]:.6f}", kind="construction", subtype="trench",
                actor="west", source_kind="patrol", source="P-B7", reporter="blue",
                description="fortification works before the handover",
            ))  # fmt: skip

        # Personnel at the centre, reported daily by each contingent.
        for contingent in ("blue", "green"):
            strength = rng.randint(52, 60)
            if contingent == "green" and day == 4:
                strength = 64  # above the cap of 60
            data.observations.append(observation(
                observed_at=_iso(day_start + timedelta(hours=13)), lat=f"{CENTRE[1]:.6f}",
                lon=f"{CENTRE[0]:.6f}", kind="count", subtype="personnel", count=strength,
                actor=contingent, source_kind="other", source=f"roster-{contingent}",
                reporter=contingent, description="personnel at the joint centre",
            ))  # fmt: skip

        # Restrictions on the monitors.
        if day == 1:
            lon, lat = _along(CORRIDOR, 0.5)
            data.observations.append(observation(
                observed_at=_iso(morning + timedelta(hours=3)), lat=f"{lat:.6f}",
                lon=f"{lon:.6f}", kind="restriction", subtype="denied", actor="west",
                source_kind="patrol", source="P-B7", reporter="blue",
                description="patrol stopped at a checkpoint and turned back",
            ))  # fmt: skip
        if day == 3:
            lon, lat = _move(*OPS_CENTRE, 90, 5000)
            data.uav_features.append(_feature(observation(
                observed_at=_iso(morning + timedelta(hours=1)), kind="restriction",
                subtype="uav_jammed", actor="unknown", source_kind="uav", source="UAV-G1",
                reporter="green", description="GNSS jamming, UAV returned to base",
            ), lon, lat))  # fmt: skip

        # Presence of west forces in Aghdam after its deadline, and a party's complaint.
        if day == 1:
            data.observations.append(observation(
                observed_at=_iso(morning + timedelta(hours=2)),
                lat=f"{AGHDAM_INSIDE[1]:.6f}", lon=f"{AGHDAM_INSIDE[0]:.6f}",
                uncertainty_m="500", kind="presence", subtype="infantry", count=1, actor="west",
                source_kind="patrol", source="P-G2", reporter="green",
                description="armed personnel still at the position after the deadline",
            ))  # fmt: skip
            lon, lat = _along(CONTACT_LINE, 0.6)
            data.observations.append(observation(
                observed_at=_iso(day_start + timedelta(hours=22)), lat=f"{lat:.6f}",
                lon=f"{lon:.6f}", uncertainty_m="2000", kind="explosion",
                subtype="undetermined", count=4, actor="west", source_kind="complaint",
                source="liaison-east", reporter="green",
                description="East Forces' liaison alleges shelling of its positions",
            ))  # fmt: skip
    return data


def _feature(properties: dict[str, Any], lon: float, lat: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": properties,
    }
