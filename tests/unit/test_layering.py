"""The layering of the packages: `localaws/` is the emulator alone.

`localaws/` models AWS (moto plus the project's extensions); `harness/` drives the product
on it (the demo, the event routers), and `reconciler/` and `handlers/` are the product. So
no module of `localaws/` may import `reconciler`, `handlers` or `harness`, at any level:
at the top of a module, inside a function, through a relative import that leaves the
package, or through `importlib.import_module` / `__import__` with a literal name.
Each file is parsed with `ast`, not imported, so a lazy import inside a function counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = "localaws"
FORBIDDEN = ("reconciler", "handlers", "harness")


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _module_of(path: Path) -> list[str]:
    """The dotted package a file's relative imports start from, as a list of parts."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1]  # a module's package; __init__.py is its package's own module


def _literal_prefix(node: ast.expr) -> str | None:
    """The name a call like import_module("x.y") or import_module(f"x.{name}") starts with."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def imported_names(source: str, package: list[str]) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, wherever it sits."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module or ""))
                continue
            up = node.level - 1  # `from . import` is the package itself
            base = package[: len(package) - up] if up <= len(package) else []
            if node.module:
                found.append((node.lineno, ".".join([*base, node.module])))
            elif base:
                found.append((node.lineno, ".".join(base)))
            else:  # `from .. import x` at the top level: x is a top-level package
                found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                prefix = _literal_prefix(node.args[0])
                if prefix:
                    found.append((node.lineno, prefix))
    return found


def forbidden_imports(path: Path) -> list[str]:
    package = _module_of(path)
    return [
        f"{path.relative_to(ROOT)}:{line}: imports {name}"
        for line, name in imported_names(path.read_text(encoding="utf-8"), package)
        if _top(name) in FORBIDDEN
    ]


def emulator_files() -> list[Path]:
    return sorted((ROOT / EMULATOR).rglob("*.py"))


def test_the_emulator_is_every_module_of_localaws():
    """GIVEN the checkout WHEN localaws/'s modules are listed THEN the check below sees the
    server and the extensions (it cannot pass by finding no file)."""
    names = {p.relative_to(ROOT).as_posix() for p in emulator_files()}
    assert {"localaws/__init__.py", "localaws/server.py", "localaws/extensions.py"} <= names


def test_localaws_imports_neither_the_product_nor_the_harness():
    """GIVEN every .py file under localaws/ WHEN its imports are read with ast, at any level
    THEN none names reconciler, handlers or harness: the emulator stands alone."""
    offending = [line for path in emulator_files() for line in forbidden_imports(path)]
    assert offending == []


@pytest.mark.parametrize(
    "source",
    [
        "import reconciler",
        "import handlers.push as push",
        "from reconciler.errors import ReconcilerError",
        "from harness import demo",
        "def f():\n    from handlers import idempotency, runtime\n",
        "class C:\n    def m(self):\n        import harness.router\n",
        "import importlib\nimportlib.import_module('handlers.push')\n",
        "from importlib import import_module\nimport_module(f'handlers.{name}')\n",
        "__import__('reconciler.cli')",
        "from .. import harness",
        "from ..reconciler import cli",
        "try:\n    import reconciler\nexcept ImportError:\n    pass\n",
    ],
)
def test_the_check_finds_an_import_wherever_it_sits(source: str):
    """GIVEN a module of localaws/ importing the product or the harness, at module level,
    in a function or method, relatively, or by name WHEN it is checked THEN it is found."""
    names = [name for _, name in imported_names(source, ["localaws"])]
    assert any(_top(name) in FORBIDDEN for name in names), names


@pytest.mark.parametrize(
    "source",
    [
        "import boto3",
        "from localaws.server import LocalAws",
        "from . import cfn_models",
        "from .drift import DriftEvents",
        "import reconciler_like_name",
        "from moto.handlers import x",
    ],
)
def test_the_check_lets_the_emulator_import_what_it_may(source: str):
    """GIVEN imports of moto, boto3 and localaws itself WHEN checked THEN none is refused."""
    names = [name for _, name in imported_names(source, ["localaws"])]
    assert not any(_top(name) in FORBIDDEN for name in names), names
