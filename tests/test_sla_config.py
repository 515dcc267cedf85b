"""[calendars.<name>] and [[sla.level]] in config.toml: read, and refused with the key path."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from settings.config import ConfigError, load_config, parse_config

EXAMPLE = """
[calendars.office]
timezone = "Europe/Moscow"
mon = ["09:00-13:00", "14:00-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-17:00"]
holidays = ["2027-01-01", 2027-01-07]
[calendars.office.workdays]
"2027-11-06" = ["09:00-17:00"]

[calendars.nights]
timezone = "UTC"
sat = ["18:00-24:00"]
sun = ["00:00-24:00"]
country = "DE"

[[sla.level]]
name = "VIP"
calendar = "office"
reaction = "30m"
resolution = "4h"
if = { any = [
  { field = "ticket.tags", contains = "vip" },
  { field = "ticket.priority", eq = "urgent" },
] }

[[sla.level]]
name = "Default"
calendar = "office"
reaction = "2h"
resolution = "3d"
"""
CALENDAR = {"timezone": "Europe/Moscow", "mon": ["09:00-18:00"]}
DEFAULT = {"name": "Default", "calendar": "office", "reaction": "1h", "resolution": "1d"}


def problems(raw: dict[str, Any], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="config.toml", base_dir=tmp_path)
    return caught.value.problems


def test_calendars_and_levels_are_read_from_the_file(tmp_path: Path):
    file = tmp_path / "config.toml"
    file.write_text(EXAMPLE, encoding="utf-8")
    config = load_config(file)
    office = config.calendars["office"]
    wednesday = datetime(2027, 1, 6, 17, tzinfo=ZoneInfo("Europe/Moscow"))
    # 1 h on Wednesday, 7 January off, Friday's short day (09:00-17:00) ends at its close.
    nine = office.add_working_time(wednesday, timedelta(hours=9))
    assert nine == wednesday.replace(day=8, hour=17)
    ten = office.add_working_time(wednesday, timedelta(hours=10))
    assert ten == wednesday.replace(day=11, hour=10)
    levels = config.support_levels
    assert [level.name for level in levels.levels] == ["VIP", "Default"]
    assert levels.for_ticket({"ticket": {"priority": "urgent", "tags": []}}).name == "VIP"
    assert levels.for_ticket({"ticket": {"priority": "low", "tags": []}}).resolution == timedelta(
        days=3
    )
    assert config.calendars["nights"].timezone == ZoneInfo("UTC")


def test_without_calendars_or_levels_there_is_no_sla(tmp_path: Path):
    config = load_config(Path(__file__).parent.parent / "config.toml")
    assert config.calendars == {} and config.support_levels.levels == ()
    assert parse_config({}, source="x", base_dir=tmp_path).sla.level == ()


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        (
            {**CALENDAR, "timezone": "Europe/Atlantis"},
            "calendars.office.timezone: expected an IANA",
        ),
        ({"mon": ["09:00-18:00"]}, "calendars.office.timezone: required"),
        ({**CALENDAR, "tue": ["18:00-09:00"]}, "calendars.office.tue[1]: reversed or empty"),
        ({**CALENDAR, "tue": ["09:00-09:00"]}, "calendars.office.tue[1]: reversed or empty"),
        (
            {**CALENDAR, "wed": ["09:00-13:00", "14:00-18:00", "12:00-15:00"]},
            'calendars.office.wed[3]: "12:00-15:00" overlaps "09:00-13:00"',
        ),
        (
            {**CALENDAR, "thu": ["9:00-18:00"]},
            'calendars.office.thu[1]: expected an interval "HH:MM',
        ),
        (
            {**CALENDAR, "thu": ["09:00-25:00"]},
            "calendars.office.thu[1]: expected times from 00:00",
        ),
        (
            {**CALENDAR, "thu": ["24:00-24:00"]},
            "calendars.office.thu[1]: expected times from 00:00",
        ),
        (
            {**CALENDAR, "thu": ["09:60-18:00"]},
            "calendars.office.thu[1]: expected times from 00:00",
        ),
        ({**CALENDAR, "fri": "09:00-18:00"}, "calendars.office.fri: expected a list of intervals"),
        ({**CALENDAR, "monday": ["09:00-18:00"]}, "calendars.office.monday: unknown key"),
        ({"timezone": "UTC", "sat": []}, "calendars.office: expected working hours on at least"),
        ({**CALENDAR, "holidays": ["2027-02-30"]}, "calendars.office.holidays[1]: expected a date"),
        ({**CALENDAR, "holidays": ["1/1/2027"]}, "calendars.office.holidays[1]: expected a date"),
        ({**CALENDAR, "holidays": "2027-01-01"}, "calendars.office.holidays: expected a list"),
        (
            {**CALENDAR, "holidays": [datetime(2027, 1, 1)]},
            "calendars.office.holidays[1]: expected",
        ),
        (
            {**CALENDAR, "workdays": {"2027-11-31": ["09:00-17:00"]}},
            "calendars.office.workdays.2027-11-31: expected a date",
        ),
        (
            {**CALENDAR, "workdays": {"2027-11-06": ["17:00-09:00"]}},
            "calendars.office.workdays.2027-11-06[1]: reversed or empty",
        ),
        (
            {**CALENDAR, "holidays": ["2027-11-06"], "workdays": {"2027-11-06": ["09:00-17:00"]}},
            "calendars.office.workdays.2027-11-06: 2027-11-06 is listed as a holiday too",
        ),
        ({**CALENDAR, "country": "Narnia"}, 'calendars.office.country: unknown country "Narnia"'),
        ({**CALENDAR, "transferred_like": "mon"}, "calendars.office.transferred_like: only with"),
        (
            {**CALENDAR, "country": "RU", "transferred_like": "sat"},
            "calendars.office.transferred_like: sat has no working hours",
        ),
        (
            {**CALENDAR, "country": "RU", "transferred_like": "monday"},
            "calendars.office.transferred_like: expected one of mon",
        ),
        ("Europe/Moscow", "calendars.office: expected a table"),
    ],
)
def test_a_bad_calendar_is_named_with_its_key_path(calendar: Any, expected: str, tmp_path: Path):
    found = problems({"calendars": {"office": calendar}}, tmp_path)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([], None),
        ([{**DEFAULT, "calendar": "shop"}], 'sla.level[1].calendar: unknown calendar "shop"'),
        (
            [{**DEFAULT, "name": "VIP", "if": {"field": "ticket.tags", "contains": "vip"}}],
            'sla.level: expected a level named "Default"',
        ),
        (
            [{**DEFAULT, "if": {"field": "ticket.tags", "contains": "vip"}}],
            'sla.level[1].if: "Default" applies when no other level does',
        ),
        (
            [DEFAULT, {**DEFAULT, "name": "Second"}],
            'sla.level[2].if: required: only "Default" may go without conditions',
        ),
        ([DEFAULT, DEFAULT], 'sla.level[2].name: "Default" is used twice'),
        ([{**DEFAULT, "reaction": "2 hours"}], "sla.level[1].reaction: expected a duration"),
        ([{**DEFAULT, "resolution": "0s"}], "sla.level[1].resolution: expected a duration above"),
        ([{"name": "Default", "calendar": "office"}], "sla.level[1].reaction: required"),
        (
            [DEFAULT, {**DEFAULT, "name": "X", "if": {"field": "ticket.prio", "eq": "high"}}],
            'sla.level[2].if.field: unknown field "ticket.prio"',
        ),
        (
            [DEFAULT, {**DEFAULT, "name": "X", "if": {"all": [{"field": "inbox.channel"}]}}],
            "sla.level[2].if.all[1]: expected an operator",
        ),
        (
            [DEFAULT, {**DEFAULT, "name": "X", "if": {"field": "message.text", "eq": "hi"}}],
            'sla.level[2].if.field: "message.text" is not a field of ticket.created',
        ),
        ([{**DEFAULT, "colour": "red"}], "sla.level[1].colour: unknown key"),
    ],
)
def test_bad_levels_are_named_with_their_key_path(levels: list, expected: str | None, tmp_path):
    raw = {"calendars": {"office": CALENDAR}, "sla": {"level": levels}}
    if expected is None:
        assert parse_config(raw, source="x", base_dir=tmp_path).support_levels.levels == ()
    else:
        found = problems(raw, tmp_path)
        assert any(p.startswith(expected) for p in found), found


def test_levels_naming_a_calendar_that_failed_report_only_the_calendar(tmp_path: Path):
    raw = {"calendars": {"office": {"timezone": "Nowhere"}}, "sla": {"level": [DEFAULT]}}
    assert problems(raw, tmp_path) == [
        'calendars.office.timezone: expected an IANA time zone such as "Europe/Moscow", got'
        ' "Nowhere"'
    ]
