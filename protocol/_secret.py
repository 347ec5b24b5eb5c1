"""Spec §1.5: the behaviour every secret-holding object shares.

Immutable after construction (``_set`` is the constructor's only way in), no pickling or
copying, and no ``==`` (objects compare by identity, so no comparison can leak timing about key
bytes). Subclasses give a redacted ``__repr__`` and an explicit export method.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Secret"]


class Secret:
    """Base of private keys and other secret holders (spec §1.5, §4.7)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled; export it explicitly")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled; export it explicitly")

    def __copy__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be copied")

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
