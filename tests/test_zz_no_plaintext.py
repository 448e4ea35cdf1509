"""Runs last (file order): no national id handed to the platform during this test session
is stored or logged in plaintext — service databases (incl. WAL files) and the captured
logs of every process are searched byte for byte."""
from tests.conftest import USED_NATIONAL_IDS


def test_no_national_id_in_any_database_or_log(stack):
    assert USED_NATIONAL_IDS, "the suite should have created persons with national ids"
    files = [path for path in stack.var_dir.rglob("*") if path.is_file()]
    assert any(path.suffix == ".db" for path in files) and stack.log_path in files
    hits = [(path.name, national_id) for path in files for national_id in USED_NATIONAL_IDS
            if national_id.encode() in path.read_bytes()]
    assert hits == []
