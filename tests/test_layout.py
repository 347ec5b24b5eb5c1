"""The package's boundaries (spec/protocol.md §1.2, README "What is here"), checked on the source.

* The protocol is sans-I/O: outside ``protocol/edge/`` no module imports what reads a clock,
  a file, a socket, a database, the terminal or a global random source. The one exception is
  :func:`protocol.primitives.system_rng`, the RNG the edge hands in (``os.urandom``), which no
  protocol operation calls.
* Nothing outside ``protocol/edge/`` imports the edge.
* ``protocol/primitives.py`` is the only module that imports a cryptographic library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "protocol"

#: Standard-library and third-party modules that perform I/O or read ambient state.
IO_MODULES = frozenset(
    {
        "asyncio", "datetime", "http", "io", "logging", "os", "pathlib", "psycopg",
        "psycopg_pool", "random", "secrets", "select", "selectors", "shutil", "signal",
        "socket", "sqlite3", "starlette", "subprocess", "sys", "tempfile", "threading",
        "time", "urllib", "uvicorn", "httpx",
    }
)  # fmt: skip
CRYPTO_MODULES = frozenset({"cryptography", "nacl", "rbcl", "hashlib", "hmac"})
#: Modules allowed the standard library's hash functions besides primitives: HPKE's and the
#: relay's proof-of-work hashing, and the vector generators' independent ML-KEM reference.
HASHLIB_USERS = frozenset({"hpke.py", "relay/_auth.py", "kat/__init__.py", "kat/_mlkem.py"})


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "edge" not in p.relative_to(PACKAGE).parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Top-level module names imported by ``path`` (absolute imports), with their line, and
    ``protocol.edge`` for a relative import that reaches the edge."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0:
                edge = module.startswith("protocol.edge")
                found.append(("protocol.edge" if edge else module.split(".")[0], node.lineno))
            elif module.split(".")[0] == "edge" or any(a.name == "edge" for a in node.names):
                found.append(("protocol.edge", node.lineno))
    return found


def test_the_scan_sees_the_package() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in _modules()}
    assert {"codec.py", "primitives.py", "relay/_core.py", "envelope.py"} <= names
    assert not any(name.startswith("edge/") for name in names)
    assert (PACKAGE / "edge" / "cli.py").is_file()


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_io_outside_the_edge(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    for name, line in _imports(path):
        assert name != "protocol.edge", f"{rel}:{line} imports the I/O edge"
        if rel == "primitives.py" and name == "os":
            continue  # system_rng, checked below
        assert name not in IO_MODULES, f"{rel}:{line} imports {name}, which does I/O"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_only_primitives_imports_cryptography(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    if rel == "primitives.py":
        return
    for name, line in _imports(path):
        if name in {"hashlib", "hmac"} and rel in HASHLIB_USERS:
            continue
        assert name not in CRYPTO_MODULES, f"{rel}:{line} imports {name}"


def test_primitives_uses_os_only_for_the_system_rng() -> None:
    tree = ast.parse((PACKAGE / "primitives.py").read_text(encoding="utf-8"))
    uses = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    }
    assert uses == {"urandom"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_protocol_operation_calls_the_system_rng(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            assert name != "system_rng", f"{rel}:{node.lineno} calls system_rng"
