"""The README's library example runs as written and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re

from tests.external import REPO


def _example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- readme-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, "README.md has no marked example"
    return match.group(1)


def test_readme_example_runs_and_prints_what_it_says() -> None:
    source = _example()
    assert len(source.splitlines()) <= 40
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "README.md example", "exec"), {"__name__": "readme_example"})
    assert printed.getvalue().splitlines() == ["['+442079460958']", "b'Hi Bob'"]
