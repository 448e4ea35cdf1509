"""Issue 13 §2: driver's use cases neither commit nor send; the entrypoint's unit of work does.
Not yet the partner batch (fuelings.store_fuelings, run outside any entrypoint by the
consumer in dependencies.py) nor the late-matched fueling_recorded events (service._recorded):
that path is being rewritten on its own (issue 14 §2)."""
import ast
from pathlib import Path

import services.driver

DRIVER = Path(services.driver.__file__).parent
UNIT_OF_WORK_ONLY = {"commit", "rollback", "dispatch"}
PARTNER_PATH = {("handlers/fuelings.py", "store_fuelings"), ("service.py", "_recorded")}


def calls_of(path):
    relative = str(path.relative_to(DRIVER))
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, ast.FunctionDef) or (relative, function.name) in PARTNER_PATH:
            continue
        for node in ast.walk(function):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in UNIT_OF_WORK_ONLY):
                yield f"{relative}:{node.lineno} {function.name}: .{node.func.attr}()"


def test_no_handler_commits_rolls_back_or_dispatches():
    files = [*sorted((DRIVER / "handlers").glob("*.py")), DRIVER / "service.py"]
    assert [call for path in files for call in calls_of(path)] == []
