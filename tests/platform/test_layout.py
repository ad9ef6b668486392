"""The layout rule (docs/architecture.md), checked on the source: a pure core beneath one
package per area, no import cycles, short views and modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "survey_app"
CORE = {"models", "questionnaires", "scoring", "privacy", "charts", "audit", "files"}
PLATFORM = {"__init__", "config", "db", "extensions", "security", "errors", "templating", "cli", "routing",
            "health", "memory", "sessions"}
MAX_VIEW_LINES = 30
MAX_MODULE_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()
AREAS = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - CORE


def _imports(name: str, path: Path) -> set[str]:
    """Every survey_app module `path` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_there_is_no_services_bag():
    assert not (PACKAGE / "services").exists()
    assert not (PACKAGE / "utils").exists()


def test_no_import_cycles_between_modules():
    """Including imports inside functions; a package importing its own modules is fine."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in sorted(GRAPH[name]):
            if name.startswith(target + "."):
                continue  # a module importing its own package's __init__ (the package itself)
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(GRAPH):
        if name not in state:
            cycle = visit(name)
            assert cycle is None, " -> ".join(cycle)


def test_the_core_imports_no_flask_no_area_and_no_web_platform():
    problems = []
    for name, path in MODULES.items():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in CORE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                named = [node.module or ""]
            else:
                continue
            problems += [f"{name} imports {m}" for m in named
                         if m.split(".")[0] in ("flask", "werkzeug", "flask_login", "flask_wtf", "flask_sqlalchemy")]
        for target in GRAPH[name]:
            top = target.split(".")[1] if target.count(".") else ""
            if top in AREAS or top in PLATFORM:
                problems.append(f"{name} imports {target}")
    assert problems == []


def test_views_are_short():
    long_views = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                    and getattr(d.func.value, "id", "") == "bp" for d in node.decorator_list):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_VIEW_LINES:
                    long_views.append(f"{name}.{node.name}: {length} lines")
    assert long_views == []


def test_modules_are_short():
    long_modules = [f"{name}: {n} lines" for name, path in MODULES.items()
                    if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES]
    assert long_modules == []


def test_every_area_is_a_package_with_its_own_parts():
    """Routes in routes.py (with the blueprint), commands in commands.py; nothing else at the top
    of survey_app but the web platform's modules."""
    for area in AREAS:
        files = {p.stem for p in (PACKAGE / area).glob("*.py")}
        assert files & {"routes", "commands"}, area
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert loose <= PLATFORM, loose - PLATFORM


def test_the_architecture_note_names_files_that_exist():
    import re

    text = (ROOT / "docs" / "architecture.md").read_text()
    paths = set(re.findall(r"`(survey_app/[\w/]+\.(?:py|html))`", text))
    assert len(paths) >= 10
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == []


def test_areas_import_each_other_one_way_only():
    """Between areas the imports form no cycle either (an area calls areas below it)."""
    between: dict[str, set[str]] = {area: set() for area in AREAS}
    for name, targets in GRAPH.items():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in AREAS:
            continue
        for target in targets:
            other = target.split(".")[1] if target.count(".") else ""
            if other in AREAS and other != parts[1]:
                between[parts[1]].add(other)
    done: set[str] = set()

    def below(area: str, path: tuple[str, ...]) -> None:
        assert area not in path, " -> ".join((*path, area))
        if area in done:
            return
        for other in sorted(between[area]):
            below(other, (*path, area))
        done.add(area)

    for area in sorted(AREAS):
        below(area, ())
