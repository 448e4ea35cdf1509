"""Driver use cases: plain functions over a Session."""
from services.driver.exceptions import ProfileNotFound
from services.driver.models import DriverProfile


def upsert_profile_from_person(session, person) -> DriverProfile:
    """Idempotent: replaying the same event leaves the same row."""
    profile = session.get(DriverProfile, person["id"]) or DriverProfile(person_id=person["id"])
    for field in ("first_name", "last_name", "email", "phone"):
        setattr(profile, field, person[field])
    session.add(profile)
    session.commit()
    return profile


def get_profile(session, person_id) -> DriverProfile:
    profile = session.get(DriverProfile, person_id)
    if profile is None:
        raise ProfileNotFound()
    return profile
