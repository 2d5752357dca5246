"""DESIGN.md's layers: aiogram only under bot/telegram/, vk_api only under bot/vk/, SQL only in storage/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "dialogs", "storage", "locales")
# Which top-level packages each layer may import (imports point one way only).
ALLOWED = {
    "bot": {"bot", "handlers", "dialogs", "storage", "locales"},
    "handlers": {"handlers", "dialogs", "storage"},
    "dialogs": {"dialogs", "storage"},
    "storage": {"storage"},
    "locales": {"locales", "dialogs"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources() -> list[Path]:
    return [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layer_rules(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    layer = relative.split("/")[0]
    for module in imports(path):
        top = module.split(".")[0]
        if top == "aiogram":
            assert relative.startswith("bot/telegram/"), f"{relative} imports aiogram"
        if top in {"vk_api", "requests"}:
            assert relative.startswith("bot/vk/"), f"{relative} imports {top}"
        if top in {"sqlalchemy", "alembic", "aiosqlite", "asyncpg"}:
            assert layer in {"storage", "bot"}, f"{relative} imports {top}: SQL lives in storage/"
        if top in PACKAGES:
            assert top in ALLOWED[layer], f"{relative} ({layer}) must not import {module}"


def test_each_platform_library_is_used_in_its_own_transport() -> None:
    """The rule above is not vacuous: each transport does import its library."""
    for folder, library in (("bot/telegram", "aiogram"), ("bot/vk", "vk_api")):
        users = [p for p in (ROOT / folder).rglob("*.py") if library in {m.split(".")[0] for m in imports(p)}]
        assert users, f"nothing under {folder} imports {library}"


def test_dialogs_do_no_io() -> None:
    """The engine's modules import nothing that talks to the outside (the loader is called from bot/)."""
    banned = {"asyncio", "aiohttp", "requests", "socket", "sqlalchemy", "subprocess"}
    for path in (ROOT / "dialogs").rglob("*.py"):
        assert not {m.split(".")[0] for m in imports(path)} & banned, path


def test_the_bot_config_is_not_built_at_import_time() -> None:
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                name = ast.unparse(node.value.func)
                assert name not in {
                    "Settings",
                    "Bot",
                    "Dispatcher",
                    "create_engine",
                    "AsyncIOScheduler",
                    "VkApi",
                    "create_vk",
                }, f"{path}: {name}() at import time"


def module_graph() -> dict[str, set[str]]:
    """Every import between the project's own modules, at module level or inside a function alike."""
    names = {}
    for path in sources():
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if "migrations" not in parts:
            names[name] = path

    def resolve(target: str) -> str | None:
        while target and target not in names:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                found = resolve(target)
                if found is not None and found != name:
                    graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    """DESIGN.md: imports point one way. A lazy import inside a function still counts."""
    assert cycles(module_graph()) == []


def test_the_cycle_check_finds_a_lazy_cycle() -> None:
    graph = module_graph()
    assert "dialogs.engine" in graph and "dialogs.flow" in graph["dialogs.family"], "the graph is read"
    graph["dialogs.engine"] = {*graph["dialogs.engine"], "dialogs.family"}  # as a lazy import would add
    assert any("dialogs.engine" in c and "dialogs.family" in c for c in cycles(graph))


def test_only_the_sandbox_command_reaches_the_sandbox() -> None:
    """The local servers ship with the bot, but the real bot never depends on them."""
    for path in sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("bot/sandbox/") or relative == "bot/__main__.py":
            continue
        used = {m for m in imports(path) if m == "bot.sandbox" or m.startswith("bot.sandbox.")}
        assert not used, f"{relative} imports {used}"
