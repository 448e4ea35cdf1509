"""Re-encrypt every encrypted field and file with the newest key of SECTO_DATA_KEYS:
identity's national ids, KYC's national ids, document numbers and document files (and
KYC's national-id index with its own key).

    SECTO_DATA_KEYS=<new>,<old> python -m deploy.rotate_keys

Afterwards the old key can be dropped from SECTO_DATA_KEYS."""
from sqlalchemy.orm import Session

from shared import config
from shared.crypto import FieldCipher
from shared.db import make_engine

from services.identity.handlers.persons import rotate_national_ids
from services.kyc.handlers import rotate_keys as rotate_kyc

ROTATIONS = {"identity": lambda session, cipher: {"national ids": rotate_national_ids(session, cipher)},
             "kyc": rotate_kyc}


def main() -> None:
    cipher = FieldCipher.from_env()
    for service, rotate in ROTATIONS.items():
        engine = make_engine(config.database_url(service))
        with Session(engine) as session:
            rotated = rotate(session, cipher)
            session.commit()  # one transaction per service: all re-encrypted, or nothing
            print(f"{service}: re-encrypted {rotated} with the newest key")
        engine.dispose()


if __name__ == "__main__":
    main()
