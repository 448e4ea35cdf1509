"""Persons: the register's people, their national id (encrypted + blind index) and search."""
from sqlalchemy import and_, or_, select, union

from shared import validators
from shared.crypto import FieldCipher, blind_index
from shared.db import is_staff, paginate, publish
from shared.messaging import PERSON_CREATED, PERSON_UPDATED
from shared.validators import mask_national_id

from services.identity import exceptions as exc, schemas
from services.identity.handlers.common import contains, flush_or, parties_with_status
from services.identity.models import Account, Person, PersonRole


def create_person(session, cipher: FieldCipher, data) -> Person:
    national_id = data.pop("national_id", None)
    person = Person(**data)
    set_national_id(person, cipher, national_id)
    session.add(person)
    flush_or(session, exc.DuplicateNationalId)
    publish(session, PERSON_CREATED, schemas.PersonCreatedEvent().dump(person))
    return person


def persons_linked_to(organisation_ids):
    """Ids of persons with a role in, or an account of, one of these organisations."""
    return union(
        select(PersonRole.person_id).where(PersonRole.organisation_id.in_(organisation_ids)),
        select(Account.person_id).where(Account.organisation_id.in_(organisation_ids), Account.person_id.is_not(None)),
    )


def get_person(session, person_id, organisation_ids) -> Person:
    """organisation_ids: the caller's scope; a person is in it when linked to one of them."""
    person = session.get(Person, person_id)
    if person is None:
        raise exc.PersonNotFound()
    if not is_staff(organisation_ids) and not session.scalars(
            select(Person.id).where(Person.id == person_id, Person.id.in_(persons_linked_to(organisation_ids)))
    ).first():
        raise exc.PersonNotFound()
    return person


def list_persons(session, filters, limit, cursor, organisation_ids):
    stmt = select(Person)
    for field in ("email", "phone", "last_name"):
        if filters.get(field):
            stmt = stmt.where(getattr(Person, field) == filters[field])
    if filters.get("q"):
        stmt = stmt.where(_person_matches(filters["q"]))
    if filters.get("organisation_id"):
        stmt = stmt.where(Person.id.in_(select(PersonRole.person_id).where(
            PersonRole.organisation_id == filters["organisation_id"])))
    if filters.get("customer_status"):
        stmt = stmt.where(Person.id.in_(parties_with_status("person", filters["customer_status"])))
    if not is_staff(organisation_ids):
        stmt = stmt.where(Person.id.in_(persons_linked_to(organisation_ids)))
    return paginate(session, stmt, (Person.created_at, Person.id), limit, cursor)


def find_by_national_id(session, national_id) -> list[Person]:
    """Staff only (the gateway's role check): exact match through the blind index."""
    return session.scalars(select(Person).where(Person.national_id_index == blind_index(national_id))).all()


def _person_matches(q):
    """Every word in a name, the email or the phone; or the whole text as a phone number."""
    words = and_(*(or_(contains(Person.first_name, word), contains(Person.last_name, word),
                       contains(Person.email, word), contains(Person.phone, word)) for word in q.split()))
    try:
        return or_(words, Person.phone == validators.phone(q))
    except ValueError:
        return words


def update_person(session, cipher, person_id, data, organisation_ids) -> Person:
    person = get_person(session, person_id, organisation_ids)
    if "national_id" in data:
        set_national_id(person, cipher, data.pop("national_id"))
    for field, value in data.items():
        setattr(person, field, value)
    flush_or(session, exc.DuplicateNationalId)
    publish(session, PERSON_UPDATED, schemas.PersonCreatedEvent().dump(person))
    return person


def set_national_id(person, cipher, national_id):
    person.national_id_encrypted = cipher.encrypt(national_id) if national_id else None
    person.national_id_index = blind_index(national_id) if national_id else None
    person.national_id_masked = mask_national_id(national_id) if national_id else None


def rotate_national_ids(session, cipher, batch=500) -> int:
    """Re-encrypt every stored national id with the newest key (in the caller's transaction,
    written batch by batch); returns how many."""
    count, last_id = 0, ""
    while True:
        persons = session.scalars(select(Person).where(Person.id > last_id, Person.national_id_encrypted.is_not(None))
                                  .order_by(Person.id).limit(batch)).all()
        if not persons:
            return count
        for person in persons:
            person.national_id_encrypted = cipher.rotate(person.national_id_encrypted)
        session.flush()
        count += len(persons)
        last_id = persons[-1].id
