from shared.migrate import run_migrations

from services.kyc.models import Base

run_migrations(Base.metadata)
