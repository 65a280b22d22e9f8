# Hand-kept type stubs of the Rust extension module `memorable._memorable`
# (src/lib.rs, src/types.rs). Keep in step with the `#[pyo3(signature = ...)]` lines.

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from os import PathLike
from types import TracebackType
from typing import Any, final

__all__ = ["Memorable", "Memory", "MemoryVersion", "Recalled", "ScoreBreakdown", "__version__"]

__version__: str

@final
class Memory:
    """A stored memory (read-only). Datetimes are timezone-aware (UTC)."""

    @property
    def id(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def session(self) -> str | None: ...
    @property
    def speaker(self) -> str | None: ...
    @property
    def topics(self) -> list[str]: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def place(self) -> str | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def importance(self) -> float: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class MemoryVersion:
    """One version of a memory, from `Memorable.history`."""

    @property
    def version(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def speaker(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def importance(self) -> float: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_to(self) -> datetime | None:
        """When the next version replaced it; None for the current version."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class ScoreBreakdown:
    """How a recall hit's score came about (ranks are 1-based)."""

    @property
    def semantic(self) -> float | None: ...
    @property
    def semantic_rank(self) -> int | None: ...
    @property
    def keyword(self) -> float | None: ...
    @property
    def keyword_rank(self) -> int | None: ...
    @property
    def fused(self) -> float: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Recalled:
    """One recall hit."""

    @property
    def memory(self) -> Memory: ...
    @property
    def score(self) -> float: ...
    @property
    def breakdown(self) -> ScoreBreakdown: ...

@final
class Memorable:
    """A MemoRable store. Safe to share between threads; long calls release the GIL.

    `config` keyword arguments are the fields of the core `Config`
    (e.g. `max_text_chars=2000`, `hnsw={"m": 32}`, `durability="full"`).
    """

    @staticmethod
    def open(path: str | PathLike[str], **config: Any) -> Memorable: ...
    @staticmethod
    def in_memory(**config: Any) -> Memorable: ...
    def remember(
        self,
        text: str,
        *,
        user: str,
        session: str | None = None,
        speaker: str | None = None,
        occurred_at: datetime | None = None,
        place: str | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        importance: float | None = None,
        kind: str | None = None,
        topics: Sequence[str] = (),
        lat: float | None = None,
        lon: float | None = None,
        embedding: Sequence[float] | None = None,
    ) -> int: ...
    def remember_batch(self, memories: Iterable[Mapping[str, Any]]) -> list[int]:
        """Each dict has "text", "user" and any keyword argument of `remember`."""
    def recall(
        self,
        query: str,
        *,
        user: str,
        limit: int = 10,
        session: str | None = None,
        speaker: str | None = None,
        tags: Sequence[str] = (),
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Recalled]: ...
    def recent(
        self,
        *,
        user: str,
        limit: int = 10,
        session: str | None = None,
        speaker: str | None = None,
        tags: Sequence[str] = (),
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Memory]: ...
    def get(self, id: int) -> Memory: ...
    def update(
        self,
        id: int,
        *,
        text: str | None = None,
        kind: str | None = None,
        speaker: str | None = None,
        topics: Sequence[str] | None = None,
        place: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        importance: float | None = None,
    ) -> Memory: ...
    def history(self, id: int) -> list[MemoryVersion]: ...
    def forget(self, id: int) -> None: ...
    def forget_user(self, user: str) -> int: ...
    def stats(self) -> dict[str, Any]:
        """The core `Stats`: memories, users, versions, embedder, schema_version, path,
        store_bytes, loaded_indexes."""
    def checkpoint(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Memorable: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool: ...
