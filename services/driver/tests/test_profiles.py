import uuid

import pytest
from nameko.standalone.rpc import ServiceRpcClient
from nameko.testing.services import worker_factory

from shared.messaging import declare_topology
from shared.waiting import wait_for
from testing.stack import TEST_SECRETS

from services.driver.handlers import drivers
from services.driver.exceptions import ProfileNotFound
from services.driver.models import DriverProfile
from services.driver.service import DriverService
from services.identity.service import IdentityService


def person_event(**overrides):
    return {"id": str(uuid.uuid4()), "first_name": "Liisa", "last_name": "Virtanen", "email": "l@example.fi",
            "phone": "+358401234567", **overrides}


def test_person_event_is_applied_idempotently(session):
    event = person_event()
    service = worker_factory(DriverService, db=session)
    service.on_person_created(event)
    service.on_person_created(event)
    assert session.query(DriverProfile).count() == 1
    assert service.get_profile(event["id"])["first_name"] == "Liisa"


def test_unknown_profile_is_not_found(session):
    with pytest.raises(ProfileNotFound):
        drivers.get_profile(session, str(uuid.uuid4()))


def test_person_created_in_identity_reaches_driver_through_the_broker(
        db_session_factory, vhost_uri, container_factory, monkeypatch, tmp_path):
    identity_db, driver_db = db_session_factory("identity"), db_session_factory("driver")
    monkeypatch.setenv("IDENTITY_DATABASE_URL", str(identity_db.get_bind().url))
    monkeypatch.setenv("DRIVER_DATABASE_URL", str(driver_db.get_bind().url))
    config = {"AMQP_URI": vhost_uri, **TEST_SECRETS}
    monkeypatch.setenv("SECTO_ADMIN_PASSWORD", "not-used-here-123")
    declare_topology(vhost_uri)
    for service_cls in (IdentityService, DriverService):
        container_factory(service_cls, config).start()

    with ServiceRpcClient("identity", uri=vhost_uri) as identity:
        person = identity.create_person({"first_name": "Pekka", "last_name": "Puup", "phone": "0401234567"})

    def profile():
        driver_db.expire_all()
        return driver_db.get(DriverProfile, person["id"])

    stored = wait_for(profile, timeout=10)
    assert (stored.first_name, stored.phone) == ("Pekka", "+358401234567")
