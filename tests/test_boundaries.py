"""The seams of issue 13 §1, as an import graph check.

- gateway/ and web/ import of a service only its contract, `services.<name>.schemas`
  (never its models, handlers, dependencies, service or exceptions);
- a service imports nothing of another service, not even its contract (they meet over RPC
  and events); only a service's own tests may start another service (`services.<other>.service`)
  to test the pair through the broker;
- the kernel (shared/) imports no service;
- at run time, importing a contract loads no ORM, no nameko and nothing else of its service,
  and the gateway and the web app load no service internals and no SQLAlchemy.
"""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import SERVICES

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = re.compile(r"^services\.[a-z_]+\.schemas(\..+)?$")
SERVICE_MODULE = re.compile(r"^services\.([a-z_]+)")


def python_files(folder):
    return sorted(path for path in (ROOT / folder).rglob("*.py") if ".venv" not in path.parts)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _literal_prefix(node):
    """The text of a string argument, with `x` for each f-string placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "x" for part in node.values)
    return None


def imported_modules(path: Path) -> list[tuple[int, str]]:
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in `source` (a module of `package`): `from a.b import c`
    is a.b.c, relative imports resolved, importlib calls with a literal (or f-string) name included."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, base if alias.name == "*" else f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            text = _literal_prefix(node.args[0])
            if name in ("import_module", "__import__") and text:
                found.append((node.lineno, text))
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def service_imports(path: Path):
    """(line, module) of every import of something under services/ (the package itself included)."""
    return [(line, module) for line, module in imported_modules(path) if within(module, "services")]


def contract_violations(folder):
    bad = []
    for path in python_files(folder):
        for line, module in service_imports(path):
            if not CONTRACT.match(module):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_the_check_sees_relative_and_dynamic_imports():
    source = ("import importlib\nfrom . import models\nfrom .schemas import Vehicle\n"
              "importlib.import_module(f'services.{name}.exceptions')\n")
    assert imports_in(source, "services.fleet") == [(1, "importlib"), (2, "services.fleet.models"),
                                                    (3, "services.fleet.schemas.Vehicle"),
                                                    (4, "services.x.exceptions")]


@pytest.mark.parametrize("folder", ["gateway", "web"])
def test_gateway_and_web_import_only_the_services_contracts(folder):
    assert contract_violations(folder) == []


def test_no_service_imports_another_service():
    bad = []
    for service in SERVICES:
        for path in python_files(f"services/{service}"):
            in_tests = "tests" in path.relative_to(ROOT / "services" / service).parts
            for line, module in service_imports(path):
                owner = SERVICE_MODULE.match(module)
                if owner is None or owner.group(1) == service:
                    continue
                if in_tests and within(module, f"services.{owner.group(1)}.service"):
                    continue  # a broker test of the pair starts the other service
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert bad == []


def test_the_kernel_imports_no_service():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in python_files("shared") if "tests" not in path.relative_to(ROOT).parts
           for line, module in service_imports(path)]
    assert bad == []


def loaded_modules(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after `statement`."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("service", SERVICES)
def test_a_contract_loads_no_orm_no_nameko_and_nothing_else_of_its_service(service):
    loaded = loaded_modules(f"import services.{service}.schemas")
    assert sorted({m.split(".")[0] for m in loaded} & {"sqlalchemy", "nameko", "kombu", "eventlet"}) == []
    assert sorted(m for m in loaded if within(m, "services")) == ["services", f"services.{service}",
                                                                   f"services.{service}.schemas"]


@pytest.mark.parametrize("app", ["import gateway.service", "import web; web.create_app()"])
def test_the_gateway_and_the_web_app_load_contracts_only_and_no_sqlalchemy(app):
    loaded = loaded_modules(app)
    packages = ["services"] + [f"services.{service}" for service in SERVICES]  # empty __init__.py files
    assert sorted(m for m in loaded if within(m, "services") and not CONTRACT.match(m) and m not in packages) == []
    assert sorted(m for m in loaded if within(m, "sqlalchemy")) == []
