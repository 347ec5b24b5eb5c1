"""Spec §1.3: every domain-separation label of the protocol, in one place.

Each label is an ASCII byte string that starts with ``"Blindpost-v1 "``; a label is used for one
purpose only (one KDF info, one signature context, one hash prefix). The spec's table of labels
lists exactly these constants; a test keeps the two equal.
"""

from __future__ import annotations

from typing import Final

#: The common prefix of every label (spec §1.3).
PREFIX: Final = b"Blindpost-v1 "


def _label(name: str) -> bytes:
    return PREFIX + name.encode("ascii")
