"""shared.db.savepoint: a step that may lose a unique-constraint race is undone alone, and
nothing is committed before the unit of work commits (on SQLite the driver would otherwise
commit at the RELEASE of an outermost SAVEPOINT)."""
import pytest
from sqlalchemy import String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import make_engine, new_metadata, savepoint


class Base(DeclarativeBase):
    metadata = new_metadata()


class Plate(Base):
    __tablename__ = "plates"
    number: Mapped[str] = mapped_column(String(10), primary_key=True)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'savepoint.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _stored(engine):
    with Session(engine) as other:
        return other.scalar(select(func.count()).select_from(Plate))


def test_a_savepoint_commits_nothing_before_the_unit_of_work(engine):
    session = Session(engine)
    with savepoint(session):  # the first statement of the unit of work
        session.add(Plate(number="ABC-1"))
    assert _stored(engine) == 0
    session.rollback()
    assert _stored(engine) == 0


def test_a_lost_race_undoes_its_step_only(engine):
    with Session(engine) as first:
        first.add(Plate(number="ABC-1"))
        first.commit()
    session = Session(engine)
    session.add(Plate(number="XYZ-9"))
    with pytest.raises(IntegrityError):
        with savepoint(session):
            session.add(Plate(number="ABC-1"))
    session.commit()
    assert _stored(engine) == 2
