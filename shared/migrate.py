"""Alembic per service: `python -m shared.migrate upgrade [service ...]` and
`python -m shared.migrate revision <service> -m "message"` (autogenerate from models)."""
import argparse
import sys

from alembic import command
from alembic.config import Config

from shared import config


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(config.ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or config.database_url(service)).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def run_migrations(target_metadata) -> None:
    """Body of every service's migrations/env.py (online mode only)."""
    from alembic import context

    from shared.db import make_engine

    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=url.startswith("sqlite"),
            version_table=f"alembic_version_{cfg.attributes.get('service', 'service')}",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.migrate")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("upgrade")
    up.add_argument("services", nargs="*", default=list(config.SERVICES))
    rev = sub.add_parser("revision")
    rev.add_argument("service")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "upgrade":
        for service in args.services:
            upgrade(service)
    else:
        upgrade(args.service)  # autogenerate diffs the models against a database at head
        command.revision(alembic_config(args.service), message=args.message, autogenerate=True)


if __name__ == "__main__":
    sys.exit(main())
