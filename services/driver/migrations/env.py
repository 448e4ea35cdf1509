from shared.migrate import run_migrations

from services.driver.models import Base

run_migrations(Base.metadata)
