from shared.errors import Conflict, NotFound


class EventNotFound(NotFound):
    code = "marketing_event_not_found"
    default_message = "Marketing event not found"


class ContactNotFound(NotFound):
    code = "contact_not_found"
    default_message = "Marketing contact not found"


class ProhibitionLocked(Conflict):
    code = "prohibition_locked"
    default_message = "The person's own prohibition can be lifted only by that person"


class ProfilingConsentRequired(Conflict):
    code = "profiling_consent_required"
    default_message = "Profiling attributes need a granted profiling consent"


class PersonErased(Conflict):
    code = "person_erased"
    default_message = "The person's data has been erased"
