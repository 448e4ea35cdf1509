from nameko.testing.services import worker_factory

from shared.crypto import FieldCipher
from shared.db import collected_events
from shared.errors import ValidationFailed
from shared.messaging import PERSON_CREATED

from services.identity.service import IdentityService


def test_create_person_publishes_event_without_national_id(session):
    service = worker_factory(IdentityService, db=session, cipher=FieldCipher.from_env())
    person = service.create_person({"first_name": "Liisa", "last_name": "Virtanen", "national_id": "010101Y123N"})
    assert person["national_id"] == "010101Y****"
    assert collected_events(session) == [(PERSON_CREATED, {"id": person["id"], "first_name": "Liisa", "last_name": "Virtanen",
                                        "email": None, "phone": None})]


def test_invalid_input_names_each_field(session):
    service = worker_factory(IdentityService, db=session, cipher=FieldCipher.from_env())
    try:
        service.create_person({"first_name": "", "national_id": "010101Y123M", "extra": 1})
    except ValidationFailed as err:
        assert set(err.details) == {"first_name", "last_name", "national_id", "extra"}
        assert "010101Y123M" not in str(err.details)
    else:
        raise AssertionError("expected ValidationFailed")
