"""The layout the architecture page promises: no service imports another, and in a service with a
``repository.py`` no other module builds SQL."""
from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
SQL = {"select", "insert", "update", "delete", "func", "or_", "and_", "text"}


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import in the file (name "" for a plain ``import module``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.module, a.name) for a in node.names]
    return out


def test_no_service_imports_another():
    offences = []
    for service in sorted(p for p in SERVICES.iterdir() if (p / "__init__.py").exists()):
        for f in service.rglob("*.py"):
            for module, _ in _imports(f):
                parts = module.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] != service.name:
                    offences.append(f"{f.relative_to(SERVICES)} imports {module}")
    assert offences == []


def test_only_the_repository_speaks_sql():
    offences = []
    for repo in sorted(SERVICES.glob("*/repository.py")):
        for f in sorted(repo.parent.rglob("*.py")):
            if f == repo or "migrations" in f.parts or "message_log" in f.parts:
                continue
            for module, name in _imports(f):
                if module.split(".")[0] == "sqlalchemy" and name in SQL:
                    offences.append(f"{f.relative_to(SERVICES)}: {name} from {module}")
    assert offences == []
