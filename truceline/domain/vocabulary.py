"""The fixed vocabulary of observations (spec/formats.md)."""

from __future__ import annotations

FIRE_KINDS: frozenset[str] = frozenset({"explosion", "projectile", "muzzle_flash", "burst", "shot"})
KINDS: frozenset[str] = FIRE_KINDS | {
    "flare",
    "weapon",
    "movement",
    "presence",
    "construction",
    "uav",
    "restriction",
    "count",
    "casualty",
    "other",
}

# Kinds whose reports correlate with each other: the fire family, then each other family alone.
KIND_FAMILY: dict[str, str] = {kind: "fire" for kind in FIRE_KINDS} | {
    "flare": "flare",
    "weapon": "weapon",
    "movement": "movement",
    "presence": "movement",
    "construction": "construction",
    "restriction": "restriction",
    "uav": "uav",
    "casualty": "casualty",
    "count": "count",
    "other": "other",
}

# Kinds whose subtype is a closed list; other kinds take a free word.
SUBTYPES: dict[str, frozenset[str]] = {
    "explosion": frozenset({"impact", "airburst", "outgoing", "undetermined"}),
    "restriction": frozenset({"denied", "delayed", "uav_jammed", "uav_fired_upon"}),
}

SOURCE_KINDS: frozenset[str] = frozenset(
    {"patrol", "observation_post", "camera", "uav", "sensor", "complaint", "media", "other"}
)

UNKNOWN_ACTOR = "unknown"
