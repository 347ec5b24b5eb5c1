"""Access to the official third-party vectors in ``$BLINDPOST_EXTERNAL_VECTORS``.

The folder (default ``../shared/vectors-external`` relative to the repository) is never copied
into the project. When it is absent, tests that need it skip with a reason; when the ``CI``
environment variable is set they fail instead, so CI can never pass without running them.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ENV = "BLINDPOST_EXTERNAL_VECTORS"


def external_dir() -> Path:
    """The external vectors folder, from the environment or the default beside the repo."""
    return Path(os.environ.get(ENV, str(REPO / ".." / "shared" / "vectors-external")))


def external_file(*parts: str) -> Path:
    """Path of one external vector file; skip (or fail under CI) when it is missing."""
    path = external_dir().joinpath(*parts)
    if not path.is_file():
        reason = f"official vectors not found: {path} (set {ENV})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    return path


def load_json(*parts: str) -> Any:
    """Parse one external JSON file (``.gz`` files are decompressed)."""
    path = external_file(*parts)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    return json.loads(path.read_text(encoding="utf-8"))


def wycheproof_tests(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(group, test)`` pairs of a Wycheproof v1 file, for parametrisation."""
    doc = load_json("wycheproof", name)
    return [(group, test) for group in doc["testGroups"] for test in group["tests"]]
