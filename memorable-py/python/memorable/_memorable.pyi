# Hand-kept type stubs of the Rust extension module `memorable._memorable`
# (src/lib.rs, src/types.rs). Keep in step with the `#[pyo3(signature = ...)]` lines.

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from os import PathLike
from types import TracebackType
from typing import Any, Literal, TypedDict, final

from typing_extensions import Unpack

_RecallMode = Literal["hybrid", "semantic", "keyword"]

class _HnswConfig(TypedDict, total=False):
    m: int
    ef_construction: int
    ef_search: int

class _Config(TypedDict, total=False):
    """The core `Config` as keyword arguments of `open` / `in_memory` (all optional)."""

    max_text_chars: int
    hashing_dim: int
    hnsw: _HnswConfig
    max_loaded_indexes: int
    tombstone_rebuild_ratio: float
    exact_search_threshold: int
    read_connections: int
    durability: Literal["normal", "full"]
    rrf_k: float
    candidate_multiplier: int
    embedder: str
    """"auto" (default: the best cached model that fits; for an existing store, the model
    of its vectors), "hashing", or a catalog name such as "minilm" (used or refused)."""
    model_dir: str | PathLike[str] | None
    """Model cache (default $MEMORABLE_MODEL_DIR, $MEMORABLE_HOME/models, ~/.cache/memorable/models)."""
    profile: Literal["local", "server"] | None
    """Deployment profile for model selection and limits (default $MEMORABLE_PROFILE, else local)."""

class _Classified(TypedDict):
    """One text's emotion reading (`Memorable.classify`)."""

    text: str
    scores: dict[str, float]
    """Probability of every label (the 28 GoEmotions labels for the shipped classifier)."""
    labels: list[str]
    """Labels at or above their thresholds, most probable first."""

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
    (e.g. `max_text_chars=2000`, `hnsw={"m": 32}`, `durability="full"`,
    `embedder="hashing"`, `model_dir=Path(...)`, `profile="server"`).
    """

    @staticmethod
    def open(path: str | PathLike[str], **config: Unpack[_Config]) -> Memorable: ...
    @staticmethod
    def in_memory(**config: Unpack[_Config]) -> Memorable: ...
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
        mode: _RecallMode = "hybrid",
    ) -> list[Recalled]:
        """`mode`: "hybrid" (semantic + keyword, fused), "semantic" or "keyword" only."""
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
        """The core `Stats`: memories, users, versions, embedder (model_id, dim, fallback,
        fallback_reason), schema_version, path, store_bytes, loaded_indexes, selection,
        reembed, classifier (available, loaded, model_id, reason)."""
    def selection_report(self) -> dict[str, Any]:
        """How the embedding model was chosen (the core `SelectionReport`): role, requested,
        chosen, model_id, device, fallback, fallback_reason, limits, environment, model_dir,
        decisions ({model, outcome, reason}), notes, load_ms, warm_up_ms."""
    def reembed(
        self,
        model: str,
        progress: Callable[[dict[str, Any]], bool | None] | None = None,
    ) -> dict[str, Any]:
        """Migrate the store's vectors to catalog model `model`, in resumable batches.

        `progress` gets {target_model_id, done, total} after each batch; returning False
        pauses (call again to resume). An exception it raises pauses too and is re-raised.
        Returns {previous_model_id, model_id, reembedded, completed}.
        """
    def classify(self, texts: Sequence[str]) -> list[_Classified]:
        """Emotion readings of `texts` from the engine's emotion classifier (the shipped
        GoEmotions classifier when the store embeds with MiniLM). Raises ModelError
        CLASSIFIER_UNAVAILABLE (35) saying why when there is none; `stats()["classifier"]`
        tells ahead of time."""
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
