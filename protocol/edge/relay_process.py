"""A relay on an SQLite file, driven line by line over standard input (spec §10.9's durability,
tested by killing this process).

    python -m protocol.edge.relay_process --db PATH --relay-id HEX [--synchronous FULL]

Each input line is ``OPERATION HEX`` with ``OPERATION`` one of ``owner``, ``bundle``,
``deposit`` and the request's bytes in hex; each output line is ``ok HEX`` (the response) or
``error CODE``, written and flushed only after the operation's transaction has committed — so a
line ``ok`` is the relay's acknowledgement. ``maintain`` (no argument) runs maintenance. The
clock is the system's; randomness the operating system's. The process ends at end of input.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ..errors import ProtocolError
from ..primitives import system_rng
from ..relay import Relay
from .sqlite_store import SYNCHRONOUS_LEVELS, SqliteStore

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay_process", description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="the SQLite file (created when absent)")
    parser.add_argument("--relay-id", required=True, help="the relay's 32-byte id, in hex")
    parser.add_argument("--synchronous", default="FULL", choices=SYNCHRONOUS_LEVELS)
    args = parser.parse_args(argv)
    try:
        relay_id = bytes.fromhex(args.relay_id)
        store = SqliteStore(args.db, synchronous=args.synchronous)
    except (ValueError, OSError, ProtocolError) as error:
        print(f"relay_process: {error}", file=sys.stderr)
        return 2
    with store:
        relay = Relay(store, relay_id)
        relay.maintain(now=int(time.time()), rng=system_rng)
        operations = {"owner": relay.owner, "bundle": relay.bundle, "deposit": relay.deposit}
        for line in sys.stdin:
            name, _, argument = line.strip().partition(" ")
            now = int(time.time())
            try:
                if name == "maintain":
                    relay.maintain(now=now, rng=system_rng)
                    answer = "ok "
                elif name in operations:
                    answer = "ok " + operations[name](bytes.fromhex(argument), now=now).hex()
                else:
                    answer = "error usage.unknown_operation"
            except ProtocolError as error:
                answer = f"error {error.code}"
            except ValueError:
                answer = "error usage.bad_hex"
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the tests
    sys.exit(main())
