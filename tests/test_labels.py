"""Spec §1.3: every label is in the spec's table, ASCII without NUL, and none prefixes another."""

from __future__ import annotations

import re

from protocol import labels
from tests.external import REPO

_ROW = re.compile(r'^\| `(LABEL_[A-Z0-9_]+)` \| `"([^"]+)"` \| (.+) \|$')


def _module_labels() -> dict[str, bytes]:
    return {
        name: value
        for name, value in vars(labels).items()
        if name.startswith("LABEL_") and isinstance(value, bytes)
    }


def test_spec_table_lists_exactly_the_module_labels() -> None:
    text = (REPO / "spec" / "protocol.md").read_text(encoding="utf-8")
    table = {m.group(1): m.group(2).encode() for m in map(_ROW.match, text.splitlines()) if m}
    assert table == _module_labels()


def test_labels_are_distinct_prefix_free_ascii() -> None:
    values = list(_module_labels().values())
    assert len(set(values)) == len(values)
    for value in values:
        assert value.startswith(labels.PREFIX)
        assert value.isascii() and b"\x00" not in value
        assert not any(other != value and other.startswith(value) for other in values)


def test_kdf_labels_are_registered_labels() -> None:
    assert set(labels.KDF_LABELS) <= set(_module_labels().values())
    assert set(labels.EXPAND_LABELS) <= set(_module_labels().values())
    assert not set(labels.KDF_LABELS) & set(labels.EXPAND_LABELS)  # spec §3.2: one of the two
