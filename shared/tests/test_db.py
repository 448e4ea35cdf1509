import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import IdColumn, UTCDateTime, make_engine, new_id, new_metadata, paginate, utcnow
from shared.errors import ValidationFailed


class Base(DeclarativeBase):
    metadata = new_metadata()


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(20))
    created_at = mapped_column(UTCDateTime(), default=utcnow)


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Thing(name=f"t{i:03d}") for i in range(25))
        session.commit()
        yield session


def test_keyset_pages_cover_every_row_once_in_order(session):
    seen, cursor = [], None
    while True:
        rows, cursor = paginate(session, select(Thing), (Thing.name, Thing.id), 10, cursor)
        seen += [row.name for row in rows]
        if cursor is None:
            break
    assert seen == [f"t{i:03d}" for i in range(25)]


def test_datetime_keys_round_trip_through_the_cursor(session):
    first, cursor = paginate(session, select(Thing), (Thing.created_at, Thing.id), 20, None)
    rest, end = paginate(session, select(Thing), (Thing.created_at, Thing.id), 20, cursor)
    assert len(first) == 20 and len(rest) == 5 and end is None
    assert first[0].created_at.tzinfo is not None


@pytest.mark.parametrize("cursor", ["garbage", "e30", "WzFd"])
def test_rejects_a_forged_cursor(session, cursor):
    with pytest.raises(ValidationFailed) as err:
        paginate(session, select(Thing), (Thing.name, Thing.id), 10, cursor)
    assert "cursor" in err.value.details


def test_sqlite_files_and_dev_secrets_are_private_from_the_start(tmp_path):
    import stat

    from sqlalchemy import text as sql

    from deploy.local.stack import dev_secrets
    from shared.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(sql("CREATE TABLE t (a INTEGER)"))
        connection.execute(sql("INSERT INTO t VALUES (1)"))
        files = sorted(path.name for path in tmp_path.iterdir())
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    engine.dispose()
    assert "x.db-wal" in files and set(modes.values()) == {0o600}, modes
    (tmp_path / "secrets.env").write_text("OLD=1\n")
    (tmp_path / "secrets.env").chmod(0o644)
    dev_secrets(tmp_path)
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
