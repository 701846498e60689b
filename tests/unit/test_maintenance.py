"""Job schedules from settings: every job has one, overrides are checked."""

from __future__ import annotations

import pytest

from memory_service.maintenance import DEFAULT_SCHEDULES, parse_schedule, schedules_from
from retention.errors import InvalidSchedule


def test_schedules_parse_interval_and_cron() -> None:
    assert parse_schedule("every 60s").interval_seconds == 60
    assert parse_schedule("cron 30 3 * * *").cron == "30 3 * * *"
    for bad in ["every", "every 60", "every -5s", "hourly", "cron * * *", "every 0s"]:
        with pytest.raises(InvalidSchedule):
            parse_schedule(bad)


def test_overrides_replace_defaults_and_unknown_jobs_are_refused() -> None:
    schedules = schedules_from({"compact": "every 10s"})
    assert set(schedules) == set(DEFAULT_SCHEDULES)
    assert schedules["compact"].interval_seconds == 10
    assert schedules["purge_expired"].interval_seconds == 300
    with pytest.raises(InvalidSchedule, match="purge_everything"):
        schedules_from({"purge_everything": "every 1s"})
