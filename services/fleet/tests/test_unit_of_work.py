"""Issue 13 §2: fleet's use cases neither commit nor send; the entrypoint's unit of work does."""
import ast
from pathlib import Path

import services.fleet

FLEET = Path(services.fleet.__file__).parent
UNIT_OF_WORK_ONLY = {"commit", "rollback", "dispatch"}


def calls_of(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in UNIT_OF_WORK_ONLY:
            yield f"{path.relative_to(FLEET)}:{node.lineno} .{node.func.attr}()"


def test_no_handler_or_dependency_commits_rolls_back_or_dispatches():
    files = [*sorted((FLEET / "handlers").glob("*.py")), FLEET / "dependencies.py", FLEET / "service.py"]
    assert [call for path in files for call in calls_of(path)] == []
    assert "EventDispatcher" not in (FLEET / "service.py").read_text()
