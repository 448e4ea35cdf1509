from shared.migrate import run_migrations

from services.marketing.models import Base

run_migrations(Base.metadata)
