"""Exception classes of MemoRable.

Which class an error raises is decided in one place, the Rust module ``src/errors.rs``,
from the core's ``ErrorCode.category()`` (never from message text). Every exception
carries the stable code name (``.code``, e.g. ``"EMPTY_TEXT"``) and number
(``.code_number``), the same in the Rust, Python, Node and C APIs (``docs/errors.md``).
"""

from __future__ import annotations

__all__ = [
    "MemorableError",
    "InvalidInputError",
    "NotFoundError",
    "StorageError",
    "ModelError",
    "RemoteError",
]


class MemorableError(Exception):
    """Any MemoRable error. Raised as is for CLOSED, PANIC and INTERNAL."""

    message: str
    code: str
    code_number: int

    def __init__(self, message: str, code: str = "INTERNAL", code_number: int = 60) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_number = code_number

    def __str__(self) -> str:
        # KeyError would otherwise quote the message.
        return self.message

    def __reduce__(self) -> tuple[type[MemorableError], tuple[str, str, int]]:
        return (type(self), (self.message, self.code, self.code_number))


class InvalidInputError(MemorableError, ValueError):
    """The input was rejected (codes 1-9: EMPTY_TEXT, TEXT_TOO_LONG, MISSING_USER, ...)."""


class NotFoundError(MemorableError, KeyError):
    """No memory with that id (code NOT_FOUND)."""


class StorageError(MemorableError, OSError):
    """SQLite or the file system failed (codes 20-29: STORAGE, LOCKED, NOT_WRITABLE, ...)."""


class ModelError(MemorableError, RuntimeError):
    """The embedding model failed or does not match the store (codes 30-39)."""


class RemoteError(MemorableError, ConnectionError):
    """A remote service (Hume) failed or refused (codes 70-79: HUME_AUTH, HUME_CONNECTION, ...)."""
