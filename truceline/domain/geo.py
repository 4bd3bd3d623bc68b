"""Small geodesy: the SMM-style observer/bearing/distance-band location estimate."""

from __future__ import annotations

import math

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
# Bearings reported by eye or with a compass: we take ±5° as the bearing's uncertainty.
BEARING_UNCERTAINTY_DEG = 5.0


def estimate_from_bearing(
    observer_lat: float,
    observer_lon: float,
    bearing_deg: float,
    distance_min_m: float,
    distance_max_m: float,
) -> tuple[float, float, float]:
    """(lat, lon, uncertainty_m) of an event seen from an observer on a bearing within a band.

    The estimate is the point on the bearing at the middle of the band; the uncertainty is the
    radius of the circle around it that covers the band's sector of ±5° of bearing.
    """
    middle = (distance_min_m + distance_max_m) / 2
    lon, lat, _ = GEOD.fwd(observer_lon, observer_lat, bearing_deg, middle)
    spread = math.radians(BEARING_UNCERTAINTY_DEG)
    radius = max(
        math.hypot(d * math.cos(spread) - middle, d * math.sin(spread))
        for d in (distance_min_m, distance_max_m)
    )
    return float(lat), float(lon), float(radius)
