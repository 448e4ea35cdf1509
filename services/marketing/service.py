from nameko.events import EventDispatcher

from shared.db import dry_run, page
from shared.logging import configure
from shared.messaging import (CONSENT_CHANGED, PERSON_CREATED, PERSON_ERASED, PERSON_UPDATED, ServiceRpc,
                              event_handler, rpc)
from shared.retention import RetentionEntrypoints
from shared.schemas import load
from shared.service_base import Actor, ServiceBase

from services.marketing import handlers, models, retention, schemas
from services.marketing.dependencies import Database

configure("marketing")


class MarketingService(RetentionEntrypoints, ServiceBase):
    name = "marketing"
    db = Database("marketing")
    retention_lease = models.RetentionLease
    identity = ServiceRpc("identity")
    actor = Actor()
    dispatch = EventDispatcher()

    @property
    def retention_rules(self):
        return retention.rules(self.identity.customers_among)

    # consents
    @rpc
    def get_consents(self, person_id):
        return schemas.Consents().dump(handlers.consents_of(self.db, person_id))

    @rpc
    def set_consent(self, person_id, purpose, payload, by_person=False):
        purpose = load(schemas.Purpose(), {"purpose": purpose})["purpose"]
        consent = handlers.set_consent(self.db, person_id, purpose, load(schemas.ConsentChange(), payload),
                                       self.actor, by_person)
        self._broadcast(consent)
        return schemas.Consent().dump(consent)

    def _broadcast(self, consent):
        # every change, repeats included: consumers are idempotent and a repeat re-asserts the state
        self.dispatch(CONSENT_CHANGED, schemas.ConsentChangedEvent().dump(consent))

    # contacts
    @rpc
    def list_contacts(self, filters, limit, cursor=None):
        load(schemas.NoFilter(), filters)
        rows, next_cursor = handlers.list_contacts(self.db, limit, cursor)
        return page(schemas.Contact(many=True).dump(rows), next_cursor)

    @rpc
    def get_contact(self, person_id):
        return schemas.Contact().dump(handlers.get_contact(self.db, person_id))

    @rpc
    def update_profile(self, person_id, payload):
        return schemas.Contact().dump(handlers.update_profile(self.db, person_id,
                                                              load(schemas.ProfileUpdate(), payload)))

    @rpc
    def audience(self, filters, limit, cursor=None):
        channel = load(schemas.AudienceQuery(), filters)["channel"]
        items, next_cursor = handlers.audience(self.db, channel, limit, cursor)
        return page(schemas.AudienceMember(many=True).dump(items), next_cursor)

    @rpc
    def overview(self):
        return handlers.overview(self.db)

    # events
    @rpc
    def create_event(self, payload):
        return schemas.MarketingEvent().dump(handlers.create_event(self.db, load(schemas.EventCreate(), payload)))

    @rpc
    def get_event(self, event_id):
        return schemas.MarketingEvent().dump(handlers.get_event(self.db, event_id))

    @rpc
    def list_events(self, filters, limit, cursor=None):
        load(schemas.NoFilter(), filters)
        rows, next_cursor = handlers.list_events(self.db, limit, cursor)
        return page(schemas.MarketingEvent(many=True).dump(rows), next_cursor)

    @rpc
    def add_attendee(self, event_id, payload):
        return schemas.Attendee().dump(handlers.add_attendee(self.db, event_id,
                                                             load(schemas.AttendeeCreate(), payload)))

    @rpc
    def list_attendees(self, event_id, limit, cursor=None):
        rows, next_cursor = handlers.list_attendees(self.db, event_id, limit, cursor)
        return page(schemas.Attendee(many=True).dump(rows), next_cursor)

    # identity read model
    @event_handler("identity", PERSON_CREATED)
    def on_person_created(self, payload):
        handlers.upsert_contact(self.db, load(schemas.PersonEvent(), payload))

    @event_handler("identity", PERSON_UPDATED)
    def on_person_updated(self, payload):
        handlers.upsert_contact(self.db, load(schemas.PersonEvent(), payload))

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = handlers.export_person(self.db, person_id)
        return {"role": "controller",
                "contact": schemas.Contact().dump(data["contact"]) if data["contact"] else None,
                "consents": schemas.Consent(many=True).dump(data["consents"]),
                "consent_history": schemas.ConsentRecord(many=True).dump(data["history"]),
                "attendance": schemas.Attendee(many=True).dump(data["attendance"])}

    @rpc
    def erase_person(self, person_id):
        report, withdrawn = handlers.erase_person(self.db, person_id)
        for consent in withdrawn:
            self._broadcast(consent)
        return report

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            report, _ = handlers.erase_person(self.db, person_id)
        report.pop("erased_at")
        return report

    @event_handler("identity", PERSON_ERASED)
    def on_person_erased(self, payload):
        self.erase_person(load(schemas.PersonErasedEvent(), payload)["person_id"])
