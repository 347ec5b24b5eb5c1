"""The error hierarchy: codes are registered, documented in spec/errors.md, and stable."""

from __future__ import annotations

import pickle
import re

import pytest

from protocol.errors import (
    CODES,
    AuthenticationError,
    DecodeError,
    ProtocolError,
    StateError,
    UsageError,
)
from tests.external import REPO

_ROW = re.compile(r"^\| `([a-z0-9_.]+)` \| `(\w+)` \| (.+) \|$")


def _documented() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (REPO / "spec" / "errors.md").read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            code, cls, trigger = match.groups()
            assert code not in rows, f"{code} documented twice"
            rows[code] = (cls, trigger)
    return rows


def test_spec_lists_exactly_the_registered_codes() -> None:
    documented = _documented()
    assert set(documented) == set(CODES)
    for code, (cls, trigger) in CODES.items():
        assert documented[code] == (cls.__name__, trigger), code


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_is_raised_through_its_own_class(code: str) -> None:
    cls = CODES[code][0]
    err = cls(code, "detail")
    assert isinstance(err, ProtocolError)
    assert err.code == code
    assert pickle.loads(pickle.dumps(err)).code == code
    others = [c for c in (DecodeError, AuthenticationError, StateError, UsageError) if c is not cls]
    for other in others:
        with pytest.raises(TypeError):
            other(code)


def test_unregistered_code_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        DecodeError("decode.no_such_code")


def test_authentication_error_has_one_default_code() -> None:
    assert AuthenticationError().code == "auth.failed"
