"""The agreement as code: the mission file's schema, loading with exact error paths, zones."""

from truceline.mission.load import parse_mission, parse_mission_document
from truceline.mission.model import Clause, ClauseVersion, Mission, Zone

__all__ = ["Clause", "ClauseVersion", "Mission", "Zone", "parse_mission", "parse_mission_document"]
