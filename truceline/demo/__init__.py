"""The illustrative demo centre: its mission file, zones and a seeded data generator."""

from pathlib import Path

MISSION_FILE = Path(__file__).with_name("mission.yaml")
