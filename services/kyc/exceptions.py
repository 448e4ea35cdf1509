from shared.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMediaType


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


class FileTooLarge(PayloadTooLarge):
    code = "file_too_large"
    default_message = "The document file is larger than 10 MB"


class FileTypeNotAllowed(UnsupportedMediaType):
    code = "file_type_not_allowed"
    default_message = "Only PDF, JPEG and PNG documents are accepted"
