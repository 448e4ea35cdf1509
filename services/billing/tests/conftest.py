import pytest


@pytest.fixture
def session(db_session_factory):
    return db_session_factory("billing")
