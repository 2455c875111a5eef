"""refimpl stays pure: no specgen/jinja2/docutils anywhere, no network or file I/O outside refimpl/transport.

Read with ast, never imported, so a violation is found even in a module nothing imports yet.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REFIMPL = Path(__file__).resolve().parents[2] / "refimpl"

NEVER = frozenset({"specgen", "jinja2", "docutils"})
IO_MODULES = frozenset({"socket", "asyncio", "aiohttp", "http", "urllib", "requests"})
FILE_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})


def violations(source: str, *, transport: bool) -> list[str]:
    """Every forbidden import or file access in ``source``, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
        for name in names:
            root = name.split(".")[0]
            if root in NEVER or (root in IO_MODULES and not transport):
                found.append(f"{node.lineno}: imports {name}")
        if isinstance(node, ast.Call) and not transport:
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append(f"{node.lineno}: calls open()")
            elif isinstance(func, ast.Attribute) and (func.attr in FILE_METHODS or func.attr == "open"):
                found.append(f"{node.lineno}: calls .{func.attr}()")
    return found


@pytest.mark.parametrize(
    "path", sorted(REFIMPL.rglob("*.py")), ids=lambda p: str(p.relative_to(REFIMPL))
)
def test_module_is_pure(path):
    transport = "transport" in path.relative_to(REFIMPL).parts[:-1]
    assert violations(path.read_text(encoding="utf-8"), transport=transport) == []


@pytest.mark.parametrize(
    ("source", "transport", "expected"),
    [
        ("import specgen.cli", True, ["1: imports specgen.cli"]),
        ("from jinja2 import Template", False, ["1: imports jinja2"]),
        ("import docutils.core", True, ["1: imports docutils.core"]),
        ("import socket", False, ["1: imports socket"]),
        ("from urllib.parse import quote", False, ["1: imports urllib.parse"]),
        ("import asyncio, aiohttp", False, ["1: imports asyncio", "1: imports aiohttp"]),
        ("import socket\nimport aiohttp", True, []),
        ("x = open('f')", False, ["1: calls open()"]),
        ("from pathlib import Path\nPath('f').read_text()", False, ["2: calls .read_text()"]),
        ("import io\nio.open('f')", False, ["2: calls .open()"]),
        ("from . import signing\nfrom .errors import BadJson", False, []),
    ],
)
def test_the_checker_catches_violations(source, transport, expected):
    assert violations(source, transport=transport) == expected
