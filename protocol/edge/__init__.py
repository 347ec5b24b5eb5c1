"""The I/O edge of Blindpost: everything that touches the clock, the system RNG, files, databases,
sockets or the terminal.

Every other module of :mod:`protocol` is sans-I/O (spec/protocol.md §1.3): it takes ``rng`` and
``now`` as parameters and returns bytes. Modules here wire those layers to the outside world —
the ``blindpost`` command (:mod:`protocol.edge.cli`) and its demo (:mod:`protocol.edge.demo`).
"""
