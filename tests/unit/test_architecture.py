"""The package's shape: no import cycles, no Typer or rich below `cli/`, no command module importing another."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "smoothtask_trainer"
COMMANDS = {"collect", "export", "pipeline", "simulate", "train", "validate"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, *, module_level: bool = True) -> set[str]:
    """The package's modules that `name` imports (at module level only, or anywhere), outside TYPE_CHECKING."""
    tree = ast.parse(MODULES[name].read_text())
    is_pkg = MODULES[name].name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in MODULES else base)
            if not module_level or isinstance(node, ast.If | ast.Try | ast.With):
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])
                    if isinstance(node, ast.Try):
                        for handler in node.handlers:
                            visit(handler.body)

    visit(tree.body)
    return {m for m in found if m in MODULES and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_the_walker_sees_imports() -> None:
    assert "smoothtask_trainer.cli.state" in imports("smoothtask_trainer.cli.train")
    assert "smoothtask_trainer.cli.collect" in imports("smoothtask_trainer.cli.app")
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_at_module_level() -> None:
    graph = {name: imports(name) for name in MODULES}
    assert find_cycle(graph) is None


def test_no_command_module_imports_another() -> None:
    for cmd in COMMANDS:
        name = f"smoothtask_trainer.cli.{cmd}"
        others = {f"smoothtask_trainer.cli.{o}" for o in COMMANDS - {cmd}} | {"smoothtask_trainer.cli.app"}
        assert not imports(name, module_level=False) & others, name


def test_no_typer_or_rich_outside_cli() -> None:
    for name, path in MODULES.items():
        if name.startswith("smoothtask_trainer.cli"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] in ("typer", "rich", "click") for n in names), f"{name} imports {names}"


def test_every_module_is_importable_on_its_own() -> None:
    for name in MODULES:
        assert importlib.util.find_spec(name) is not None, name
