"""Issue 12 §8: the stack is supervised as Kubernetes would — `kill -9` of the driver while a
partner publishes: the driver comes back by itself, no other process changes, the gateway
answers 503 naming the driver meanwhile, and every fueling is stored exactly once.

SUPERVISION_EVENTS sets the number of fuelings (default 5 000; the issue's figure is 20 000).
"""
import os
import signal
import time
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deploy.local.stack import SERVICE_CLASSES
from services.driver.models import Fueling
from shared import config
from shared.db import make_engine
from shared.waiting import wait_for
from testing.data import unique_national_id, unique_phone
from testing.stack import start_stack
from tests.test_partner_faults import start_publishing, stored_counts

EVENTS = int(os.environ.get("SUPERVISION_EVENTS", "5000"))


@pytest.fixture
def supervised(monkeypatch):
    # the first restart waits 6 s: longer than the gateway's RPC timeout (5 s), so the gap is a 503
    stack = start_stack(extra_env={"SECTO_RESTART_BACKOFF": "6"}, supervise=True)
    for name in ("DRIVER_DATABASE_URL", "SECTO_VAR_DIR"):
        if name in stack.env:
            monkeypatch.setenv(name, stack.env[name])
    engine = make_engine(config.database_url("driver"))
    yield stack, engine
    stack.stop()
    engine.dispose()


def driver_client(stack):
    admin = stack.admin()
    person = admin.post("/persons", json={"first_name": "Super", "last_name": "Vised",
                                          "national_id": unique_national_id(), "phone": unique_phone()}).json()
    username, password = f"u-{uuid.uuid4().hex[:10]}", "Long-enough-password-1"
    created = admin.post("/users", json={"username": username, "password": password, "role": "driver",
                                         "person_id": person["id"]})
    assert created.status_code == 201, created.text
    return stack.client().login(username, password)


def test_a_killed_driver_is_restarted_alone_and_no_fueling_is_lost_or_doubled(supervised):
    stack, engine = supervised
    driver = driver_client(stack)
    wait_for(lambda: driver.get("/me/fuelings").status_code == 200, timeout=30)

    def counts():
        return stored_counts(engine)

    processes = {process.pid: process.args[-1] for process in stack.stack.processes}
    victim = next(pid for pid, path in processes.items() if path == SERVICE_CLASSES["driver"])
    started = time.monotonic()
    publisher, event_ids, progress = start_publishing(stack.amqp_uri, "supervised", EVENTS)
    try:
        wait_for(lambda: counts()[0] >= EVENTS // 5, timeout=120, interval=0.2)
        os.kill(victim, signal.SIGKILL)
        killed_at = counts()[0]
        seen = []

        def gap():
            response = driver.get("/me/fuelings")
            seen.append((round(time.monotonic() - started, 1), response.status_code))
            return response.status_code == 503 and response.json()
        answer = wait_for(gap, timeout=30)
        assert answer["details"]["service"] == "driver", (answer, seen)

        def back():
            """The pids once the driver answers again, read after the answer: a request sent
            while it was down waits in its queue and is answered by the restarted process."""
            if driver.get("/me/fuelings").status_code != 200:
                return None
            return {p.pid: p.args[-1] for p in stack.stack.processes}
        after = wait_for(back, timeout=90, interval=0.5)
    finally:
        publisher.join(300)
    assert not publisher.is_alive(), "publisher did not finish"
    restarted = {pid for pid, path in after.items() if path == SERVICE_CLASSES["driver"]}
    assert len(restarted) == 1 and victim not in restarted
    assert {pid: path for pid, path in after.items() if pid not in restarted} == \
        {pid: path for pid, path in processes.items() if pid != victim}  # no other process changed
    assert f"driver (pid {victim}) exited with signal SIGKILL" in stack.log_path.read_text(errors="replace")

    wait_for(lambda: counts()[1] >= EVENTS, timeout=180, interval=0.5)
    with Session(engine) as session:
        stored = set(session.scalars(select(Fueling.event_id)))
        rows = session.scalar(select(func.count()).select_from(Fueling))
    lost, doubled = len(set(event_ids) - stored), rows - len(stored)
    print(f"\nsupervision: {EVENTS} fuelings in {time.monotonic() - started:.1f}s, driver killed at {killed_at} "
          f"stored; lost {lost}, doubled {doubled}")
    assert (lost, doubled) == (0, 0)
