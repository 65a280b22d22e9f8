"""MemoRable: an embeddable long-term memory engine for AI agents.

>>> from memorable import Memorable
>>> with Memorable.in_memory() as mem:
...     mid = mem.remember("I adopted a puppy named Biscuit", user="alice")
...     mem.recall("what is my puppy called?", user="alice", limit=1)[0].memory.id == mid
True
"""

from memorable._errors import (
    InvalidInputError,
    MemorableError,
    ModelError,
    NotFoundError,
    RemoteError,
    StorageError,
)
from memorable._memorable import (
    ERROR_CODES,
    Memorable,
    Memory,
    MemoryVersion,
    Recalled,
    ScoreBreakdown,
    __version__,
    models_gc,
    models_list,
    models_rollback,
    models_update,
    rekey,
    restore,
    user_context,
    verify,
)

__all__ = [
    "Memorable",
    "Memory",
    "MemoryVersion",
    "Recalled",
    "ScoreBreakdown",
    "MemorableError",
    "InvalidInputError",
    "NotFoundError",
    "StorageError",
    "ModelError",
    "RemoteError",
    "verify",
    "restore",
    "rekey",
    "user_context",
    "models_list",
    "models_update",
    "models_rollback",
    "models_gc",
    "ERROR_CODES",
    "__version__",
]
