from services.marketing import schemas

from shared.errors import NotFound

from gateway.auth import DRIVER, STAFF
from gateway.http import created, json_body, page_args, route

TAG = "marketing"


class MarketingRoutes:
    # consents
    @route("GET", "/consents/<string:person_id>", summary="A person's consents and their append-only history",
           tag=TAG, roles=STAFF, response=schemas.Consents)
    def get_consents(self, request, principal, person_id):
        self.rpc.identity.get_person(person_id, principal.visible_organisations())
        return self.rpc.marketing.get_consents(person_id)

    @route("PUT", "/consents/<string:person_id>/<string:purpose>", summary="Record a consent, withdrawal or "
           "prohibition with its proof (lifting the person's own prohibition is 409)", tag=TAG, roles=STAFF,
           body=schemas.ConsentChange, response=schemas.Consent)
    def set_consent(self, request, principal, person_id, purpose):
        body = json_body(request)
        self.rpc.identity.get_person(person_id, principal.visible_organisations())
        return self.rpc.marketing.set_consent(person_id, purpose, body)

    @route("GET", "/me/consents", summary="The caller's consents and their history", tag=TAG, roles=DRIVER,
           response=schemas.Consents)
    def my_consents(self, request, principal):
        return self.rpc.marketing.get_consents(_own_person(principal))

    @route("PUT", "/me/consents/<string:purpose>", summary="Grant, withdraw or prohibit a purpose for oneself",
           tag=TAG, roles=DRIVER, body=schemas.ConsentChange, response=schemas.Consent)
    def set_my_consent(self, request, principal, purpose):
        return self.rpc.marketing.set_consent(_own_person(principal), purpose, json_body(request), by_person=True)

    # contacts and audiences
    @route("GET", "/marketing/contacts", summary="Marketing contacts", tag=TAG, roles=STAFF,
           response=schemas.Contact, paginated=True)
    def list_contacts(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.marketing.list_contacts(filters, limit, cursor)

    @route("GET", "/marketing/contacts/<string:person_id>", summary="A marketing contact with profiling "
           "attributes", tag=TAG, roles=STAFF, response=schemas.Contact)
    def get_contact(self, request, principal, person_id):
        return self.rpc.marketing.get_contact(person_id)

    @route("PATCH", "/marketing/contacts/<string:person_id>", summary="Set profiling attributes (needs a granted "
           "profiling consent, else 409)", tag=TAG, roles=STAFF, body=schemas.ProfileUpdate,
           response=schemas.Contact)
    def update_contact(self, request, principal, person_id):
        return self.rpc.marketing.update_profile(person_id, json_body(request))

    @route("GET", "/marketing/audience", summary="Who may be contacted on a channel: granted consent, no "
           "prohibition, not erased", tag=TAG, roles=STAFF, query=schemas.AudienceQuery,
           response=schemas.AudienceMember, paginated=True)
    def audience(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.marketing.audience(filters, limit, cursor)

    @route("GET", "/marketing/overview", summary="Consents counted per purpose and status, and the audience "
           "size per channel", tag=TAG, roles=STAFF, response=schemas.Overview)
    def marketing_overview(self, request, principal):
        return self.rpc.marketing.overview()

    # events
    @route("POST", "/marketing/events", summary="Create a marketing event", tag=TAG, roles=STAFF,
           body=schemas.EventCreate, response=schemas.MarketingEvent, status=201)
    def create_marketing_event(self, request, principal):
        return created(self.rpc.marketing.create_event(json_body(request)))

    @route("GET", "/marketing/events", summary="Marketing events", tag=TAG, roles=STAFF,
           response=schemas.MarketingEvent, paginated=True)
    def list_marketing_events(self, request, principal):
        filters, limit, cursor = page_args(request)
        return self.rpc.marketing.list_events(filters, limit, cursor)

    @route("GET", "/marketing/events/<string:event_id>", summary="A marketing event", tag=TAG, roles=STAFF,
           response=schemas.MarketingEvent)
    def get_marketing_event(self, request, principal, event_id):
        return self.rpc.marketing.get_event(event_id)

    @route("POST", "/marketing/events/<string:event_id>/attendees", summary="Register or mark attendance",
           tag=TAG, roles=STAFF, body=schemas.AttendeeCreate, response=schemas.Attendee, status=201)
    def add_attendee(self, request, principal, event_id):
        body = json_body(request)
        if "person_id" in body and isinstance(body["person_id"], str):
            self.rpc.identity.get_person(body["person_id"], principal.visible_organisations())
        return created(self.rpc.marketing.add_attendee(event_id, body))

    @route("GET", "/marketing/events/<string:event_id>/attendees", summary="Attendance of an event", tag=TAG,
           roles=STAFF, response=schemas.Attendee, paginated=True)
    def list_attendees(self, request, principal, event_id):
        _, limit, cursor = page_args(request)
        return self.rpc.marketing.list_attendees(event_id, limit, cursor)


def _own_person(principal) -> str:
    if principal.person_id is None:
        raise NotFound("This account is not linked to a person")
    return principal.person_id
