from shared.migrate import run_migrations

from services.fleet.models import Base

run_migrations(Base.metadata)
