"""Re-encrypt every stored national id with the newest key of SECTO_DATA_KEYS:

    SECTO_DATA_KEYS=<new>,<old> python -m services.identity.rotate_keys

Afterwards the old key can be dropped from SECTO_DATA_KEYS."""
from sqlalchemy.orm import Session

from shared import config
from shared.crypto import FieldCipher
from shared.db import make_engine

from services.identity.handlers import rotate_national_ids


def main() -> None:
    engine = make_engine(config.database_url("identity"))
    with Session(engine) as session:
        count = rotate_national_ids(session, FieldCipher.from_env())
    engine.dispose()
    print(f"re-encrypted {count} national ids with the newest key")


if __name__ == "__main__":
    main()
