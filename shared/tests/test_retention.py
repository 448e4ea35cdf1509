"""shared.retention: period arithmetic, overrides, and the lease that lets only one replica work."""
import datetime as dt
import threading
import uuid

import pytest

from shared import retention as schedule
from shared.config import ConfigError

from services.driver import retention as driver_retention
from services.driver.models import LocationPing, RetentionLease

UTC = dt.timezone.utc
NOW = dt.datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


def test_periods_and_cutoffs():
    assert schedule.minus(dt.date(2024, 2, 29), "1y") == dt.date(2023, 2, 28)
    assert schedule.plus(dt.date(2021, 11, 24), "5y") == dt.date(2026, 11, 24)
    assert schedule.minus(dt.date(2030, 3, 31), "1m") == dt.date(2030, 2, 28)
    rule = schedule.Rule("x", "x", "10y", "x", "x", "deleted", year_end=True)
    assert rule.cutoff("s", NOW) == dt.datetime(2020, 1, 1, tzinfo=UTC)
    assert rule.until("s", dt.date(2019, 6, 1)) == "2029-12-31"
    with pytest.raises(ConfigError):
        schedule.parse_period("5 years")


def test_two_replicas_running_the_timer_remove_each_row_once(db_session_factory):
    first, second = db_session_factory("driver"), db_session_factory("driver")
    first.add_all(LocationPing(person_id=str(uuid.uuid4()), lat=0, lon=0, at=NOW - dt.timedelta(days=31 + i))
                  for i in range(300))
    first.commit()
    results, start = [], threading.Barrier(2)

    def replica(session):
        start.wait()
        results.append(schedule.run(session, "driver", driver_retention.RULES, RetentionLease, now=NOW,
                                    scheduled=True))

    threads = [threading.Thread(target=replica, args=(session,)) for session in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r["ran"] for r in results) == [False, True]  # the other found the lease taken or the day done
    assert sum(r["removed"].get("location_pings", 0) for r in results) == 300
    assert first.query(LocationPing).count() == 0
    # a forced run (run_retention) is not held back by the day's timer run, and finds nothing left
    assert schedule.run(second, "driver", driver_retention.RULES, RetentionLease, now=NOW)["removed"][
        "location_pings"] == 0


def test_a_held_lease_makes_another_replica_skip(db_session_factory):
    session = db_session_factory("driver")
    assert schedule._acquire(session, RetentionLease, "replica-a", scheduled=False)
    assert not schedule._acquire(session, RetentionLease, "replica-b", scheduled=False)
    assert schedule.run(session, "driver", driver_retention.RULES, RetentionLease, now=NOW) == {"ran": False,
                                                                                                "removed": {}}
