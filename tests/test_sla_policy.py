"""The SLA policy from config.toml ([sla] warn_before, an inbox's calendar), refused with the
key path when wrong; and the pure arithmetic of stored deadlines (core/sla/clocks.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.sla import Calendar
from core.sla.clocks import duration_text, left, moved, pause_seconds, warning_at, worked_seconds
from core.sla.policy import REAL_TIME, WARN_BEFORE
from settings.config import ConfigError, parse_config
from tests.sla_rig import LEVELS, OFFICE, SLA, at

OFFICE_CALENDAR = Calendar.from_config(OFFICE)


def problems(raw: dict[str, Any], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="config.toml", base_dir=tmp_path)
    return caught.value.problems


def test_the_policy_takes_the_levels_calendars_lead_time_and_inbox_calendars(tmp_path: Path):
    raw = {
        **SLA,
        "sla": {"level": LEVELS, "warn_before": "1h"},
        "inbox": [{"name": "web", "channel": "webchat", "calendar": "office"}],
    }
    policy = parse_config(raw, source="x", base_dir=tmp_path).sla_policy
    assert policy.enabled
    assert [level.name for level in policy.levels.levels] == ["VIP", "Default"]
    assert policy.warn_before == timedelta(hours=1)
    assert policy.inbox_calendars == {"web": "office"}
    assert policy.calendar("office") is policy.calendars["office"]
    assert policy.calendar("gone") is REAL_TIME  # a row's calendar no longer configured
    bare = parse_config({}, source="x", base_dir=tmp_path).sla_policy
    assert not bare.enabled
    assert bare.warn_before == WARN_BEFORE == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"sla": {"warn_before": "half an hour"}},
            'sla.warn_before: expected a duration like "90s", "30m", "2h", "1d",'
            ' got "half an hour"',
        ),
        ({"sla": {"warn_before": "0m"}}, "sla.warn_before: expected a duration above zero"),
        ({"sla": {"warn_ahead": "30m"}}, "sla.warn_ahead: unknown key"),
        (
            {
                "calendars": {"office": OFFICE},
                "inbox": [
                    {"name": "web", "channel": "webchat"},
                    {"name": "tg", "channel": "webchat", "calendar": "shop"},
                ],
            },
            'inbox[2].calendar: unknown calendar "shop"; expected one of: office',
        ),
        (
            {"inbox": [{"name": "web", "channel": "webchat", "calendar": "office"}]},
            'inbox[1].calendar: unknown calendar "office"; expected one of: none defined',
        ),
        (
            {
                **SLA,
                "sla": {"level": [{**LEVELS[0], "if": {"within_working_hours": 1}}, LEVELS[1]]},
            },
            "sla.level[1].if.within_working_hours: expected true or false, got 1",
        ),
    ],
)
def test_bad_sla_settings_are_refused_with_the_key_path(
    raw: dict[str, Any], expected: str, tmp_path: Path
):
    [problem] = problems(raw, tmp_path)
    assert problem.startswith(expected), problem


# The arithmetic, on the office calendar (UTC, Mon-Fri 09-13 and 14-18).


def test_the_warning_leaves_the_lead_time_of_working_time_before_the_deadline():
    thirty = timedelta(minutes=30)
    assert warning_at(OFFICE_CALENDAR, at(23, 9), at(23, 11), thirty) == at(23, 10, 30)
    # Over the lunch break and over a night: 30 working minutes before 14:10 is 12:40.
    assert warning_at(OFFICE_CALENDAR, at(23, 9), at(23, 14, 10), thirty) == at(23, 12, 40)
    assert warning_at(OFFICE_CALENDAR, at(23, 9), at(24, 9, 10), thirty) == at(23, 17, 40)
    # A span not longer than the lead time has nothing to warn ahead of.
    assert warning_at(OFFICE_CALENDAR, at(23, 9), at(23, 9, 30), thirty) is None
    assert warning_at(OFFICE_CALENDAR, at(23, 9), at(23, 9, 15), thirty) is None


def test_pauses_move_deadlines_by_whole_seconds_of_working_time():
    # Friday 17:00 to Monday 10:30: 1h on Friday, 1h30m on Monday.
    assert pause_seconds(OFFICE_CALENDAR, at(27, 17), at(30, 10, 30)) == 9000
    assert pause_seconds(OFFICE_CALENDAR, at(27, 18), at(30, 9)) == 0
    assert moved(OFFICE_CALENDAR, at(32, 16), 9000) == at(33, 9, 30)
    assert moved(OFFICE_CALENDAR, at(27, 18), 0) == at(27, 18)
    assert worked_seconds(OFFICE_CALENDAR, at(23, 9), at(24, 11), 8 * 3600) == 7200


def test_time_left_and_its_text():
    assert left(OFFICE_CALENDAR, at(23, 12, 30), at(23, 14, 15)) == timedelta(minutes=45)
    assert left(OFFICE_CALENDAR, at(23, 15), at(23, 14)) == timedelta(0)
    assert duration_text(timedelta(minutes=25, seconds=59)) == "25m"
    assert duration_text(timedelta(hours=1, minutes=30)) == "1h30m"
    assert duration_text(timedelta(hours=72)) == "72h"
    assert duration_text(timedelta(0)) == "0m"
