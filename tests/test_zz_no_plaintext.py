"""Runs last (file order): no national id handed to the platform during this test session
is stored or logged in plaintext. Searched byte for byte: every directory a stack or a
private broker of the session wrote (shared.testing.SESSION_VAR_DIRS: SQLite files incl.
WAL, captured logs of every process, the private brokers' message stores, PostgreSQL dumps
of stopped stacks under `make test-postgres`) and a dump of the running stack's PostgreSQL
databases."""
import subprocess
from pathlib import Path

from shared.testing import SESSION_VAR_DIRS
from tests.conftest import USED_NATIONAL_IDS


def live_postgres_dumps(stack) -> dict[str, bytes]:
    urls = {name: url for name, url in stack.env.items() if name.endswith("_DATABASE_URL")}
    return {name: subprocess.run(["pg_dump", "--data-only", "postgresql://" + url.split("://", 1)[1]],
                                 check=True, capture_output=True).stdout for name, url in urls.items()}


def written_files() -> list[Path]:
    return [path for var_dir in dict.fromkeys(SESSION_VAR_DIRS) for path in var_dir.rglob("*") if path.is_file()]


def test_no_national_id_in_any_database_log_or_message_store(stack):
    assert USED_NATIONAL_IDS, "the suite should have created persons with national ids"
    assert stack.var_dir in SESSION_VAR_DIRS
    files = written_files()
    assert stack.log_path in files
    assert stack.env.get("IDENTITY_DATABASE_URL") or stack.var_dir / "identity.db" in files
    needles = [national_id.encode() for national_id in USED_NATIONAL_IDS]
    contents = {**{str(path): path.read_bytes() for path in files}, **live_postgres_dumps(stack)}
    hits = [(name, needle.decode()) for name, content in contents.items() for needle in needles if needle in content]
    assert hits == []
