import secrets
import sys

from nameko.extensions import DependencyProvider

from shared import config
from shared.db import Database, make_engine
from shared.logging import get_logger
from shared.service_base import Cipher
from sqlalchemy.orm import Session

from services.identity.handlers import accounts

__all__ = ["Database", "Cipher", "BootstrapAdmin"]


class BootstrapAdmin(DependencyProvider):
    """On start, create the staff account SECTO_ADMIN_USERNAME unless it exists (SPEC §0).
    In setup: every setup ends before any entrypoint starts, so no login comes before it
    (hashing yields to other greenthreads)."""

    def setup(self):
        username = config.env("SECTO_ADMIN_USERNAME", "admin")
        password = config.env("SECTO_ADMIN_PASSWORD")
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(18)
        engine = make_engine(config.database_url("identity"))
        with Session(engine) as session:
            created = accounts.ensure_admin(session, username, password)
            session.commit()
        engine.dispose()
        if created:
            get_logger(__name__).info("identity.admin_created", username=username)
            if generated:
                # shown once, on the console only, never through the log pipeline
                print(f"\n*** staff account '{username}' created with password: {password} ***\n",
                      file=sys.stderr, flush=True)
