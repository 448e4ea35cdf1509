import base64


from shared.db import dry_run, page
from shared.logging import configure
from shared.messaging import CUSTOMER_RELATIONSHIP_CHANGED, PERSON_ERASED, event_handler, rpc, timer
from shared.retention import RetentionEntrypoints
from shared.schemas import PersonErasedEvent, load
from shared.service_base import Actor, ServiceBase

from services.kyc import handlers, models, retention, schemas
from services.kyc.dependencies import Cipher, Database

configure("kyc")
HOUR = 3600


class KycService(RetentionEntrypoints, ServiceBase):
    name = "kyc"
    db = Database("kyc")
    retention_rules = retention.RULES
    retention_lease = models.RetentionLease
    cipher = Cipher()
    actor = Actor()

    @rpc
    def create_case(self, payload):
        return schemas.Case().dump(handlers.create_case(self.db, self.cipher, load(schemas.CaseCreate(), payload)))

    @rpc
    def get_case(self, case_id):
        return schemas.Case().dump(handlers.get_case(self.db, case_id))

    @rpc
    def update_case(self, case_id, payload):
        case = handlers.update_case(self.db, self.cipher, case_id, load(schemas.CaseUpdate(), payload, partial=True),
                                    self.actor["account_id"])
        return schemas.Case().dump(case)

    @rpc
    def list_cases(self, filters, limit, cursor=None):
        rows, next_cursor = handlers.list_cases(self.db, load(schemas.CaseFilter(), filters), limit, cursor)
        return page(schemas.Case(many=True).dump(rows), next_cursor)

    @rpc
    def add_party(self, case_id, payload):
        party = handlers.add_party(self.db, self.cipher, case_id, load(schemas.PartyCreate(), payload))
        return schemas.Party().dump(party)

    @rpc
    def store_file(self, case_id, content_b64):
        case = handlers.store_file(self.db, self.cipher, case_id, base64.b64decode(content_b64))
        return schemas.Case().dump(case)

    @rpc
    def read_file(self, case_id):
        content_type, content = handlers.read_file(self.db, self.cipher, case_id)
        return {"content_type": content_type, "content": base64.b64encode(content).decode()}

    @timer(interval=HOUR)
    def expire_documents(self):
        handlers.expire_cases(self.db)

    # personal-data lifecycle
    @rpc
    def export_person(self, person_id):
        data = handlers.export_person(self.db, person_id)
        return {"role": "controller", "cases": schemas.Case(many=True).dump(data["cases"]),
                "linked_as_owner_or_pep": schemas.Party(many=True).dump(data["parties"])}

    @rpc
    def erase_person(self, person_id):
        return handlers.erase_person(self.db, person_id)

    @rpc
    def erase_preview(self, person_id):
        with dry_run(self.db):
            return handlers.erase_person(self.db, person_id)

    @event_handler("identity", PERSON_ERASED)
    def on_person_erased(self, payload):
        handlers.erase_person(self.db, load(PersonErasedEvent(), payload)["person_id"])

    @event_handler("identity", CUSTOMER_RELATIONSHIP_CHANGED)
    def on_customer_relationship_changed(self, payload):
        retention.apply_relationship(self.db, load(retention.RelationshipChangedEvent(), payload))
