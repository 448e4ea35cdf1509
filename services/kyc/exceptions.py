from shared.errors import Conflict, NotFound, UnsupportedMediaType

from services.kyc.schemas import FileTooLarge  # noqa: F401  (in the contract: the gateway raises it too)


class CaseNotFound(NotFound):
    code = "kyc_case_not_found"
    default_message = "KYC case not found"


class FileNotFound(NotFound):
    code = "kyc_file_not_found"
    default_message = "The case has no document file"


class IllegalTransition(Conflict):
    code = "illegal_status_transition"
    default_message = "The case cannot move to that status"


class NotVerifiable(Conflict):
    code = "kyc_not_verifiable"
    default_message = "A case is verified only with a valid identity document"


class FileTypeNotAllowed(UnsupportedMediaType):
    code = "file_type_not_allowed"
    default_message = "Only PDF, JPEG and PNG documents are accepted"
