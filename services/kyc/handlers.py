"""KYC use cases: plain functions over a Session; each commits its own unit of work."""
import datetime as dt
import os
from pathlib import Path

from sqlalchemy import select

from shared import config
from shared.crypto import FieldCipher, blind_index
from shared.db import paginate, utcnow
from shared.validators import mask_national_id

from services.kyc import exceptions as exc
from services.kyc.models import TRANSITIONS, KycCase, KycParty
from services.kyc.schemas import ACCEPTED_FILE_TYPES, MAX_FILE_BYTES

RETENTION_YEARS = 5
AML_BASIS = ("Rahanpesulaki 444/2017 3:3 §: customer due diligence data kept 5 years after the customer "
             "relationship ends")
MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def files_dir() -> Path:
    path = Path(os.environ.get("KYC_FILES_DIR") or config.var_dir() / "kyc-files")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _set_identifying(row, cipher: FieldCipher, data):
    national_id = data.pop("national_id", None)
    if national_id:
        row.national_id_encrypted = cipher.encrypt(national_id)
        row.national_id_index = blind_index(national_id)
        row.national_id_masked = mask_national_id(national_id)
    number = data.pop("document_number", None)
    if number:
        row.document_number_encrypted = cipher.encrypt(number)
        row.document_number_masked = "*" * max(0, len(number) - 3) + number[-3:]
    for field, value in data.items():
        setattr(row, field, value)


def create_case(session, cipher, data) -> KycCase:
    case = KycCase()
    _set_identifying(case, cipher, data)
    session.add(case)
    session.commit()
    return case


def get_case(session, case_id) -> KycCase:
    case = session.get(KycCase, case_id)
    if case is None:
        raise exc.CaseNotFound()
    return case


def update_case(session, cipher, case_id, data, actor_id=None, today=None) -> KycCase:
    case = get_case(session, case_id)
    status = data.pop("status", None)
    _set_identifying(case, cipher, data)
    if status is not None and status != case.status:
        if status not in TRANSITIONS[case.status]:
            session.rollback()
            raise exc.IllegalTransition(details={"from": case.status, "to": status,
                                                 "allowed": sorted(TRANSITIONS[case.status])})
        if status == "verified":
            _check_verifiable(session, case, today or dt.date.today())
            case.verified_by, case.verified_at = actor_id, utcnow()
        case.status = status
    session.commit()
    return case


def _check_verifiable(session, case, today):
    missing = [field for field in ("document_type", "document_number_encrypted", "document_country",
                                   "document_expires_on") if getattr(case, field) is None]
    if missing or case.document_expires_on < today:
        session.rollback()
        raise exc.NotVerifiable(details={"missing": [m.replace("_encrypted", "") for m in missing],
                                         "expired": bool(not missing and case.document_expires_on < today)})


def expire_cases(session, today=None) -> int:
    """Verified cases whose document has expired become `expired`."""
    today = today or dt.date.today()
    cases = session.scalars(select(KycCase).where(KycCase.status == "verified",
                                                  KycCase.document_expires_on < today)).all()
    for case in cases:
        case.status = "expired"
    session.commit()
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
    session.commit()
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
    session.commit()
    return case


def read_file(session, cipher, case_id) -> tuple[str, bytes]:
    case = get_case(session, case_id)
    path = files_dir() / case.file_name if case.file_name else None
    if path is None or not path.exists():
        raise exc.FileNotFound()
    return case.file_content_type, cipher.decrypt_bytes(path.read_bytes())


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
    if case.relationship_ended_on is None:
        return None  # 5 years from the end of a relationship that has not ended
    ended = case.relationship_ended_on
    try:
        return ended.replace(year=ended.year + RETENTION_YEARS).isoformat()
    except ValueError:  # 29 February
        return (ended.replace(day=28, year=ended.year + RETENTION_YEARS)).isoformat()
