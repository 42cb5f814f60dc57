"""The rules the code base keeps, checked on its source: who may import what, and how big things get.

- Wire formats: only the schemas package imports msgpack.
- Redis: only the streams package (its transport core and topic modules) imports redis-py or reaches
  into a Bus for its client.
- Key names: only keys.py builds a name from the deployment's prefix.
- One namespace: our own code is imported as ``moodstream.…`` (or relatively), never as a generic
  top-level name that only resolves inside a checkout.
- No import cycles at module level; functions of at most 60 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    """(dotted name, path, tree) of every module the wheel installs: a module's folder path is its name."""
    for path in sorted((ROOT / "moodstream").rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path, ast.parse(path.read_text(), str(path))


def imported(name: str, path: Path, tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Absolute names imported anywhere in a module (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, node
            for alias in node.names:
                yield f"{base}.{alias.name}", node


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_the_schemas_package_imports_msgpack() -> None:
    offenders = [
        rel(path)
        for name, path, tree in modules()
        if not name.startswith("moodstream.streams.schemas")
        and any(mod == "msgpack" or mod.startswith("msgpack.") for mod, _ in imported(name, path, tree))
    ]
    assert offenders == [], "wire formats belong in moodstream/streams/schemas/"


def test_only_the_streams_package_touches_the_redis_client() -> None:
    offenders = []
    for name, path, tree in modules():
        if name.startswith("moodstream.streams.") and not name.startswith("moodstream.streams.schemas"):
            continue
        if any(mod == "redis" or mod.startswith("redis.") for mod, _ in imported(name, path, tree)):
            offenders.append(f"{rel(path)} imports redis")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "_client":
                offenders.append(f"{rel(path)}:{node.lineno} reaches for a Bus's client")
    assert offenders == []


def test_only_keys_builds_names_from_the_prefix() -> None:
    offenders = []
    for name, path, tree in modules():
        if name == "moodstream.streams.keys":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and any(
                isinstance(v, ast.FormattedValue) and "prefix" in ast.unparse(v.value) for v in node.values
            ):
                offenders.append(f"{rel(path)}:{node.lineno}")
    assert offenders == [], "Redis key names come from moodstream/streams/keys.py"


def test_our_code_is_imported_through_the_moodstream_namespace() -> None:
    generic = {"services", "common"} | {
        p.stem for p in (ROOT / "moodstream").iterdir() if p.name != "__init__.py"
    }
    offenders = [
        f"{rel(path)}:{node.lineno} imports {mod}"
        for name, path, tree in modules()
        for mod, node in imported(name, path, tree)
        if mod.split(".")[0] in generic
    ]
    assert offenders == []


def test_no_import_cycles_at_module_level() -> None:
    graph: dict[str, set[str]] = {}
    known = {name for name, _, _ in modules()}
    for name, path, tree in modules():
        edges = graph.setdefault(name, set())
        for node in tree.body:  # module level only; imports inside functions are deliberate and lazy
            if isinstance(node, ast.Import | ast.ImportFrom):
                for mod, _ in imported(name, path, node):
                    if mod in known and mod != name:
                        edges.add(mod)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_functions_are_short() -> None:
    long = [
        f"{rel(path)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for _, path, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"split these into named phases of at most {MAX_FUNCTION_LINES} lines"


@pytest.mark.usefixtures("assets")
def test_the_classifier_never_imports_the_training_package() -> None:
    """A classifier worker loads its model (custom layers included) without moodstream.training."""
    code = (
        "import sys\n"
        "from moodstream.classifier.worker import load_predictor\n"
        "from moodstream.config import settings_from_dict\n"
        "p = load_predictor(settings_from_dict({'classifier': {'model': sys.argv[1], 'max_batch': 2}}))\n"
        "assert p.predict_crops(__import__('numpy').zeros((1, p.spec.size, p.spec.size), 'uint8')).shape == (1, 7)\n"
        "print(sorted(m for m in sys.modules if m.startswith('moodstream.training')))\n"
    )
    shipped = [str(ROOT / "models" / name) for name in ("fer-mx32", "fer-vgg32")]  # fer-mx32: custom layers
    for model in ("fer-mini-xception", *shipped):
        out = subprocess.run(
            [sys.executable, "-c", code, model], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == "[]"


def _sets_environment(node: ast.AST) -> bool:
    """os.environ[...] = …, os.environ.setdefault/update/pop(…), os.putenv(…)."""
    if isinstance(node, ast.Assign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Subscript) and ast.unparse(t.value) == "os.environ" for t in targets)
    if isinstance(node, ast.Call):
        called = ast.unparse(node.func)
        return called == "os.putenv" or called in {f"os.environ.{m}" for m in ("setdefault", "update", "pop")}
    return False


def test_importing_a_module_sets_no_environment_and_reads_no_test_hook() -> None:
    """Module-level code (outside functions and classes) writes no environment variable, and no shipped
    code reads a test-only variable: tests inject clocks and such through parameters."""
    offenders = []
    for _, path, tree in modules():
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            offenders += [
                f"{rel(path)}:{n.lineno} sets the environment" for n in ast.walk(stmt) if _sets_environment(n)
            ]
        if "MOODSTREAM_TEST" in path.read_text():
            offenders.append(f"{rel(path)} reads a test hook")
    assert offenders == []


MAX_MODULE_LINES = 450  # "about 400": a module past this does two things; split it by what they are


def test_modules_are_small() -> None:
    sizes = {rel(path): len(path.read_text().splitlines()) for _, path, _ in modules()}
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_the_transport_is_split_into_small_modules() -> None:
    """A small core (bus.py) and one module per topic: none grows past ~300 lines."""
    sizes = {
        rel(path): len(path.read_text().splitlines())
        for name, path, _ in modules()
        if name.startswith("moodstream.streams.") and not name.startswith("moodstream.streams.schemas")
    }
    assert {p: n for p, n in sizes.items() if n > 300} == {}
