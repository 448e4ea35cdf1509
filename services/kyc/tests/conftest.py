import pytest


@pytest.fixture
def session(db_session_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("KYC_FILES_DIR", str(tmp_path / "files"))
    return db_session_factory("kyc")
