"""Re-encrypt every KYC national id, document number and document file with the newest key
of SECTO_DATA_KEYS (and recompute KYC's national-id index):

    SECTO_DATA_KEYS=<new>,<old> python -m services.kyc.rotate_keys

Run it with services.identity.rotate_keys; afterwards the old key can be dropped."""
from sqlalchemy.orm import Session

from shared import config
from shared.crypto import FieldCipher
from shared.db import make_engine

from services.kyc.handlers import rotate_keys


def main() -> None:
    engine = make_engine(config.database_url("kyc"))
    with Session(engine) as session:
        counts = rotate_keys(session, FieldCipher.from_env())
    engine.dispose()
    print(f"re-encrypted {counts['rows']} KYC rows and {counts['files']} files with the newest key")


if __name__ == "__main__":
    main()
