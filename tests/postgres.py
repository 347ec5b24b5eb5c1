"""Reaching PostgreSQL in tests: ``BLINDPOST_POSTGRES_DSN`` (default the CI machine's server),
a fresh schema per use, dropped afterwards. When no server answers, a test skips with the reason
— or fails, when ``CI`` is set (CI's machine has the server, so a skip there would hide a
failure)."""

from __future__ import annotations

import os
import secrets

import pytest

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_dsn() -> str:
    """The DSN of a reachable server, or skip (fail under CI) with the reason."""
    dsn = os.environ.get("BLINDPOST_POSTGRES_DSN", DEFAULT_DSN)
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # ImportError or any connection failure: the reason is shown
        reason = f"PostgreSQL not reachable at BLINDPOST_POSTGRES_DSN ({dsn}): {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return dsn


def fresh_schema() -> str:
    return "bp_test_" + secrets.token_hex(6)


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
