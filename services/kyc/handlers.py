"""KYC use cases: plain functions over the entrypoint's Session (shared.db: the unit of work
commits once when the entrypoint returned)."""
import datetime as dt
import os
from pathlib import Path

from sqlalchemy import select

from shared import config
from shared.crypto import FieldCipher, blind_index
from shared.db import paginate
from shared.validators import mask_national_id

from services.kyc import exceptions as exc
from services.kyc.models import KycCase, KycParty
from services.kyc.schemas import ACCEPTED_FILE_TYPES, MAX_FILE_BYTES

RETENTION_YEARS = 5
AML_BASIS = ("Rahanpesulaki 444/2017 3:3 §: customer due diligence data kept 5 years after the customer "
             "relationship ends")
MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def files_dir() -> Path:
    path = Path(os.environ.get("KYC_FILES_DIR") or config.var_dir() / "kyc-files")
    path.mkdir(parents=True, exist_ok=True)
    return path


IDENTIFYING = ("national_id", "document_type", "document_number", "document_country", "document_expires_on")
SHOWN_DIGITS_FROM = 8  # a shorter document number is masked entirely: its last 3 would be most of it


def national_id_index(national_id: str) -> str:
    """KYC's own blind-index key: its index cannot be joined with identity's."""
    return blind_index(national_id, config.index_key("kyc"))


def mask_document_number(number: str) -> str:
    if len(number) < SHOWN_DIGITS_FROM:
        return "*" * len(number)
    return "*" * (len(number) - 3) + number[-3:]


def _set_identifying(row, cipher: FieldCipher, data):
    national_id = data.pop("national_id", None)
    if national_id:
        row.national_id_encrypted = cipher.encrypt(national_id)
        row.national_id_index = national_id_index(national_id)
        row.national_id_masked = mask_national_id(national_id)
    number = data.pop("document_number", None)
    if number:
        row.document_number_encrypted = cipher.encrypt(number)
        row.document_number_masked = mask_document_number(number)
    for field, value in data.items():
        setattr(row, field, value)


def create_case(session, cipher, data) -> KycCase:
    case = KycCase()
    _set_identifying(case, cipher, data)
    session.add(case)
    session.flush()
    return case


def get_case(session, case_id) -> KycCase:
    case = session.get(KycCase, case_id)
    if case is None:
        raise exc.CaseNotFound()
    return case


def update_case(session, cipher, case_id, data, actor_id=None, today=None) -> KycCase:
    case = get_case(session, case_id)
    status = data.pop("status", None)
    if case.status == "verified" and set(data) & set(IDENTIFYING):
        case.back_to_pending()
    _set_identifying(case, cipher, data)
    if status is not None and status != case.status:
        today = today or dt.date.today()
        if status not in case.next_statuses:  # the unit of work is rolled back with the error
            raise exc.IllegalTransition(details={"from": case.status, "to": status, "allowed": case.next_statuses})
        if status == "verified" and (problems := case.verification_problems(today)):
            raise exc.NotVerifiable(details=problems)
        case.move_to(status, actor_id, today)
    session.flush()
    return case


def expire_cases(session, today=None) -> int:
    """Verified cases whose document has expired become `expired`."""
    today = today or dt.date.today()
    cases = session.scalars(select(KycCase).where(KycCase.status == "verified",
                                                  KycCase.document_expires_on < today)).all()
    for case in cases:
        case.move_to("expired")
    return len(cases)


def list_cases(session, filters, limit, cursor):
    stmt = select(KycCase)
    for field in ("customer_id", "status"):
        if field in filters:
            stmt = stmt.where(getattr(KycCase, field) == filters[field])
    return paginate(session, stmt, (KycCase.created_at, KycCase.id), limit, cursor)


def add_party(session, cipher, case_id, data) -> KycParty:
    get_case(session, case_id)
    party = KycParty(case_id=case_id)
    _set_identifying(party, cipher, data)
    session.add(party)
    session.flush()
    return party


# --- document file ------------------------------------------------------------------

def sniff(content: bytes) -> str:
    for magic, content_type in MAGIC.items():
        if content.startswith(magic):
            return content_type
    raise exc.FileTypeNotAllowed(details={"accepted": list(ACCEPTED_FILE_TYPES)})


def store_file(session, cipher, case_id, content: bytes) -> KycCase:
    """Checked by size and by its first bytes (not the declared type), stored encrypted."""
    case = get_case(session, case_id)
    if len(content) > MAX_FILE_BYTES:
        raise exc.FileTooLarge(details={"max_bytes": MAX_FILE_BYTES})
    content_type = sniff(content)
    name, directory = f"{case.id}.bin", files_dir()
    temporary = directory / f"{name}.tmp"
    temporary.write_bytes(cipher.encrypt_bytes(content))
    temporary.replace(directory / name)
    case.file_name, case.file_content_type, case.file_size = name, content_type, len(content)
    if case.status == "verified":
        case.back_to_pending()
    session.flush()
    return case


def read_file(session, cipher, case_id) -> tuple[str, bytes]:
    case = get_case(session, case_id)
    path = files_dir() / case.file_name if case.file_name else None
    if path is None or not path.exists():
        raise exc.FileNotFound()
    return case.file_content_type, cipher.decrypt_bytes(path.read_bytes())


# --- key rotation -------------------------------------------------------------------

def rotate_keys(session, cipher, batch=500) -> dict:
    """Re-encrypt every national id, document number and document file with the newest key
    of SECTO_DATA_KEYS, and recompute the national-id index with KYC's index key (in the
    caller's transaction, written batch by batch)."""
    counts = {"rows": 0, "files": 0}
    for model in (KycCase, KycParty):
        last_id = ""
        while rows := session.scalars(select(model).where(model.id > last_id).order_by(model.id).limit(batch)).all():
            for row in rows:
                if row.national_id_encrypted:
                    row.national_id_index = national_id_index(cipher.decrypt(row.national_id_encrypted))
                    row.national_id_encrypted = cipher.rotate(row.national_id_encrypted)
                if row.document_number_encrypted:
                    row.document_number_encrypted = cipher.rotate(row.document_number_encrypted)
                if getattr(row, "file_name", None):
                    counts["files"] += _rotate_file(cipher, files_dir() / row.file_name)
            session.flush()
            counts["rows"] += len(rows)
            last_id = rows[-1].id
    return counts


def _rotate_file(cipher, path: Path) -> int:
    if not path.exists():
        return 0
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(cipher.rotate_bytes(path.read_bytes()))
    temporary.replace(path)
    return 1


# --- personal-data lifecycle --------------------------------------------------------

def _parties_of(session, person_id):
    return session.scalars(select(KycParty).where(KycParty.person_id == person_id)
                           .order_by(KycParty.created_at)).all()


def export_person(session, person_id) -> dict:
    cases = session.scalars(select(KycCase).where(KycCase.customer_id == person_id)
                            .order_by(KycCase.created_at)).all()
    return {"cases": cases, "parties": _parties_of(session, person_id)}


def erase_person(session, person_id) -> dict:
    """Everything here is customer due diligence the AML act requires to be kept; nothing is
    anonymised before the retention period ends. Reported with the date when it is known."""
    cases = session.scalars(select(KycCase).where(KycCase.customer_id == person_id)).all()
    parties = _parties_of(session, person_id)
    retained = []
    for case in cases:
        retained.append({"data": f"KYC case {case.id} ({case.status}; identity document"
                                 f"{' and its file' if case.file_name else ''})",
                         "legal_basis": AML_BASIS, "until": _until(case), "held_for": None})
    for party in parties:
        retained.append({"data": f"{party.kind.replace('_', ' ')} entry in KYC case {party.case_id}",
                         "legal_basis": AML_BASIS, "until": _until(session.get(KycCase, party.case_id)),
                         "held_for": None})
    return {"anonymised": [], "retained": retained}


def _until(case):
    from services.kyc.retention import case_until  # the schedule imports these handlers
    return case_until(case)
