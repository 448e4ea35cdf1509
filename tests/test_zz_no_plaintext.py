"""Runs last (file order): no national id handed to the platform during this test session
is stored or logged in plaintext — service databases (SQLite files incl. WAL, or a
PostgreSQL dump under `make test-postgres`) and the captured logs of every process are
searched byte for byte."""
import subprocess

from tests.conftest import USED_NATIONAL_IDS


def stored_bytes(stack) -> dict[str, bytes]:
    files = {path.name: path.read_bytes() for path in stack.var_dir.rglob("*") if path.is_file()}
    urls = {name: url for name, url in stack.env.items() if name.endswith("_DATABASE_URL")}
    for name, url in urls.items():
        plain_url = "postgresql://" + url.split("://", 1)[1]
        files[name] = subprocess.run(["pg_dump", "--data-only", plain_url], check=True, capture_output=True).stdout
    assert urls or any(name.endswith(".db") for name in files)
    return files


def test_no_national_id_in_any_database_or_log(stack):
    assert USED_NATIONAL_IDS, "the suite should have created persons with national ids"
    stored = stored_bytes(stack)
    assert stack.log_path.name in stored
    hits = [(name, national_id) for name, content in stored.items() for national_id in USED_NATIONAL_IDS
            if national_id.encode() in content]
    assert hits == []
