"""A report's content said in one language: names from the signed content's own name maps,
the vocabulary through the gettext catalogs, dates, times and numbers per locale and always in
the mission's time zone with its offset, and places in words ("2 km south-east of Aghdam").
Every renderer says things through one `Words`, so the text, HTML and PDF say the same."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from truceline.domain import places as gazetteer
from truceline.i18n import locale, translator


class Words:
    def __init__(self, content: Mapping[str, Any], lang: str) -> None:
        self.content = content
        self.lang = lang
        self.tr = translator(lang)
        self.locale = locale(lang)
        self.tz = ZoneInfo(str(content["timezone"]))
        self.names: Mapping[str, Any] = content.get("names", {})
        places = self.names.get("places", [])
        self._place_lon = [float(p["lon"]) for p in places]
        self._place_lat = [float(p["lat"]) for p in places]
        self._place_names = [p["name"] for p in places]
        self._dates: dict[date, str] = {}
        self._kinds: dict[tuple[str, str | None], str] = {}

    # --- names from the mission -------------------------------------------------------------

    def _pick(self, names: Any, default: str) -> str:
        if isinstance(names, str):
            return names
        if isinstance(names, Mapping) and names:
            if self.lang in names:
                return str(names[self.lang])
            base = self.lang.split("-")[0]
            if base in names:
                return str(names[base])
            return str(next(iter(names.values())))
        return default

    def mission(self) -> str:
        return self._pick(self.names.get("mission"), str(self.content.get("mission", "")))

    def contingent(self, ident: str) -> str:
        return self._pick(self.names.get("contingents", {}).get(ident), ident)

    def actor(self, ident: str | None) -> str:
        """A party or contingent by its name; "unknown" and "undetermined" in words."""
        _ = self.tr.gettext
        if ident in (None, "", "unknown"):
            return _("unknown")
        if ident == "undetermined":
            return _("undetermined")
        assert ident is not None
        for section in ("parties", "contingents"):
            held = self.names.get(section, {}).get(ident)
            if held is not None:
                return self._pick(held, ident)
        return ident

    def zone(self, ident: str | None) -> str:
        if ident is None:
            return self.tr.gettext("outside every zone")
        return self._pick(self.names.get("zones", {}).get(ident), ident)

    def clause(self, ident: str) -> str:
        """ "Clause 1 (Ceasefire)"."""
        held = self.names.get("clauses", {}).get(ident, {})
        title = self._pick(held.get("title"), "")
        text = self.tr.gettext("Clause {id}").format(id=ident)
        return f"{text} ({title})" if title else text

    def clause_title(self, ident: str) -> str:
        held = self.names.get("clauses", {}).get(ident, {})
        return self._pick(held.get("title"), "")

    def clause_text(self, ident: str) -> str:
        held = self.names.get("clauses", {}).get(ident, {})
        return self._pick(held.get("text"), "")

    # --- vocabulary ---------------------------------------------------------------------------

    def kind(self, kind: str, subtype: str | None = None) -> str:
        key = (kind, subtype)
        said = self._kinds.get(key)
        if said is None:
            said = self._kinds[key] = self._kind(kind, subtype)
        return said

    def _kind(self, kind: str, subtype: str | None) -> str:
        _ = self.tr.gettext
        kinds = {
            "explosion": _("Explosion"), "projectile": _("Projectile"),
            "muzzle_flash": _("Muzzle flash"), "burst": _("Burst of fire"),
            "shot": _("Shot"), "flare": _("Flare"), "weapon": _("Weapon"),
            "movement": _("Movement"), "presence": _("Presence"),
            "construction": _("Construction"), "uav": _("UAV"),
            "restriction": _("Restriction of movement"), "count": _("Count"),
            "casualty": _("Casualty"), "other": _("Other"),
        }  # fmt: skip
        word = kinds.get(kind, kind)
        if subtype:
            return f"{word} ({self.subtype(subtype)})"
        return word

    def family(self, family: str) -> str:
        """A family of kinds, as a map's legend names it."""
        _ = self.tr.gettext
        families = {
            "fire": _("Fire (explosions, projectiles, bursts, shots, muzzle flashes)"),
            "movement": _("Movement or presence"),
        }
        return families.get(family) or self.kind(family)

    def subtype(self, subtype: str) -> str:
        _ = self.tr.gettext
        known = {
            "impact": _("impact"), "airburst": _("airburst"), "outgoing": _("outgoing"),
            "undetermined": _("undetermined"), "denied": _("denied"), "delayed": _("delayed"),
            "uav_jammed": _("UAV jammed"), "uav_fired_upon": _("UAV fired upon"),
        }  # fmt: skip
        return known.get(subtype, subtype)

    def rule(self, rule: str) -> str:
        _ = self.tr.gettext
        rules = {
            "no_fire": _("no fire"), "withdrawn_by": _("withdrawal by a deadline"),
            "free_passage": _("free passage"), "confined_to": _("confined to a zone"),
            "excluded_from": _("excluded from a zone"), "max_count": _("a ceiling on numbers"),
            "monitor_access": _("freedom of movement of the monitors"),
        }  # fmt: skip
        return rules.get(rule, rule)

    def verdict(self, verdict: str | None) -> str:
        _ = self.tr.gettext
        verdicts = {
            None: _("pending"), "pending": _("pending"), "confirmed": _("confirmed"),
            "rejected": _("not confirmed"), "not_confirmed": _("not confirmed"),
            "inconclusive": _("inconclusive"), "disputed": _("disputed: the positions differ"),
        }  # fmt: skip
        return verdicts.get(verdict, str(verdict))

    def case_state(self, state: str) -> str:
        _ = self.tr.gettext
        states = {
            "open": _("open: awaiting the contingents' assessments"),
            "decided": _("decided"),
            "reconsidering": _("under reconsideration: the previous verdict stands"),
        }
        return states.get(state, state)

    def complaint_status(self, status: str) -> str:
        _ = self.tr.gettext
        statuses = {
            "answered": _("answered"), "answered late": _("answered late"),
            "overdue": _("overdue"), "awaiting a joint verdict": _("awaiting a joint verdict"),
        }  # fmt: skip
        return statuses.get(status, status)

    def statement(self, line: Mapping[str, Any]) -> str:
        """A clause's statement, qualified by coverage: recorded, clear, or not observed."""
        _, n_ = self.tr.gettext, self.tr.ngettext
        status = line["status"]
        if status == "recorded":
            count = int(line["findings"])
            return n_(
                "{n} possible violation was recorded (not yet jointly verified).",
                "{n} possible violations were recorded (not yet jointly verified).",
                count,
            ).format(n=self.number(count))
        if status == "no_violation_recorded":
            return _("No violation was recorded ({hours} of coverage).").format(
                hours=self.hours(int(line["coverage"]["joint_s"]))
            )
        return _("Not observed: nobody watched its zones this day.")

    def counting_rule(self) -> str:
        return self.tr.gettext(
            "Counting rule: an incident is one event reported by one or more sources (reports "
            "within {seconds} s and {metres} m of each other); each incident counts once in "
            "every zone it lies in, under its kind and first subtype; its events are the most "
            "that any one of its sources reported."
        ).format(seconds=300, metres=500)

    # --- time and numbers -----------------------------------------------------------------

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self.locale)

    def hours(self, seconds: int) -> str:
        value = round(seconds / 3600, 1)
        return self.tr.gettext("{n} h").format(n=format_decimal(value, locale=self.locale))

    def day(self, iso_day: str) -> str:
        return format_date(date.fromisoformat(iso_day), format="long", locale=self.locale)

    def day_short(self, iso_day: str) -> str:
        """ "18 Nov": a day on a chart's axis."""
        return format_date(date.fromisoformat(iso_day), format="d MMM", locale=self.locale)

    def offset(self, moment: datetime) -> str:
        text = moment.strftime("%z")
        return f"UTC{text[:3]}:{text[3:]}" if text else "UTC"

    def _local(self, iso_time: str) -> datetime:
        return datetime.fromisoformat(str(iso_time)).astimezone(self.tz)

    def _date_medium(self, day: date) -> str:
        said = self._dates.get(day)
        if said is None:
            said = self._dates[day] = format_date(day, format="medium", locale=self.locale)
        return said

    def moment(self, iso_time: str | None) -> str:
        """A time in the mission's time zone with its offset, to the second."""
        if not iso_time:
            return ""
        local = self._local(iso_time)
        return f"{self._date_medium(local.date())} {local:%H:%M:%S} {self.offset(local)}"

    def clock(self, iso_time: str | None) -> str:
        """The time of day (with the offset), for a list within one day."""
        if not iso_time:
            return ""
        local = self._local(iso_time)
        return f"{local:%H:%M:%S} {self.offset(local)}"

    def stamp(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        said = format_datetime(local, "medium", tzinfo=self.tz, locale=self.locale)
        return f"{said} {self.offset(local)}"

    def km(self, value: float) -> str:
        return self.tr.gettext("{n} km").format(n=format_decimal(value, locale=self.locale))

    # --- where, in words ----------------------------------------------------------------------

    def where_many(self, lon: Sequence[Any], lat: Sequence[Any]) -> list[str]:
        """Each point said from the nearest named place ("2 km south-east of Aghdam"); as
        coordinates where the mission names no place."""
        points = [(float(x), float(y)) if x is not None and y is not None else (float("nan"),) * 2
                  for x, y in zip(lon, lat, strict=True)]  # fmt: skip
        found = gazetteer.where(
            [p[0] for p in points], [p[1] for p in points], self._place_lon, self._place_lat
        )
        said = []
        for (x, y), spot in zip(points, found, strict=True):
            if spot is None:
                said.append("" if x != x else f"{y:.4f}, {x:.4f}")
            else:
                said.append(self._said(spot))
        return said

    def _said(self, spot: gazetteer.Where) -> str:
        _ = self.tr.gettext
        name = self._pick(self._place_names[spot.place], "")
        if spot.compass is None:
            return _("near {place}").format(place=name)
        compass = {
            "N": _("{km} north of {place}"), "NE": _("{km} north-east of {place}"),
            "E": _("{km} east of {place}"), "SE": _("{km} south-east of {place}"),
            "S": _("{km} south of {place}"), "SW": _("{km} south-west of {place}"),
            "W": _("{km} west of {place}"), "NW": _("{km} north-west of {place}"),
        }  # fmt: skip
        return compass[spot.compass].format(km=self.km(spot.km), place=name)
