# Hand-kept type stubs of the Rust extension module `memorable._memorable`
# (src/lib.rs, src/types.rs, src/emotion.rs). Keep in step with the `#[pyo3(signature = ...)]`
# lines.

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from os import PathLike
from types import TracebackType
from typing import Any, Literal, TypedDict, final

from typing_extensions import NotRequired, Unpack

_RecallMode = Literal["hybrid", "semantic", "keyword"]
_Fusion = Literal["zscore", "rrf"]
TimeWindow = Literal["short", "medium", "long"] | int | str
"""A named window ("short" 20 min, "medium" 1 h, "long" 24 h by default) or seconds."""

class RankWeights(TypedDict, total=False):
    """Weights of the ranking signals (0 turns a signal off); missing keys keep defaults."""

    semantic: float
    keyword: float
    context: float
    context_turns: int
    recency: float
    recency_half_life_hours: float
    importance: float
    arousal: float
    access: float
    mood: float
    who: float
    date: float

class Mood(TypedDict, total=False):
    """An emotional state to rank by: expression scores in [0, 1], valence/arousal in [-1, 1]."""

    scores: Mapping[str, float]
    valence: float
    arousal: float

class _WindowConfig(TypedDict, total=False):
    short_secs: int
    medium_secs: int
    long_secs: int

class _AttentionConfig(TypedDict, total=False):
    people: Sequence[str]
    places: Sequence[str]

class Mention(TypedDict):
    name: str
    count: int

class FrameWhen(TypedDict):
    first: str | None
    """RFC 3339 time of the earliest memory."""
    last: str | None
    short: int
    medium: int
    long: int

ContextFrame = TypedDict(
    "ContextFrame",
    {
        "user": str,
        "window": str | dict[str, int] | None,
        "at": str,
        "memories": int,
        "who": list[Mention],
        "what": list[Mention],
        "when": FrameWhen,
        "where": list[Mention],
        "emotion": str | None,
    },
)

class _HnswConfig(TypedDict, total=False):
    m: int
    ef_construction: int
    ef_search: int
    sparse_search: bool

class _Config(TypedDict, total=False):
    """The core `Config` as keyword arguments of `open` / `in_memory` (all optional)."""

    max_text_chars: int
    hashing_dim: int
    hnsw: _HnswConfig
    max_loaded_indexes: int
    max_index_memory_mb: int | None
    """Upper bound (MiB) on the estimated memory of the loaded indexes; None: count only."""
    tombstone_rebuild_ratio: float
    exact_search_threshold: int
    read_connections: int
    sync_interval_ms: int
    durability: Literal["normal", "full"]
    rrf_k: float
    candidate_multiplier: int
    windows: _WindowConfig
    attention: _AttentionConfig
    embedder: str
    """"auto" (default: the best cached model that fits; for an existing store, the model
    of its vectors), "hashing", or a catalog name such as "minilm" (used or refused)."""
    model_dir: str | PathLike[str] | None
    """Model cache (default $MEMORABLE_MODEL_DIR, $MEMORABLE_HOME/models, ~/.cache/memorable/models)."""
    profile: Literal["local", "server"] | None
    """Deployment profile for model selection and limits (default $MEMORABLE_PROFILE, else local)."""
    log_content: bool
    """Let log records carry memory text, queries and user ids (default False)."""
    metrics: bool
    """Record metrics (default True)."""
    health: Mapping[str, Any]
    """Health thresholds (docs/operations.md), e.g. {"disk_free_degraded_mb": 2048}."""
    alerts: Mapping[str, Any]
    """Alert rules and interval, e.g. {"interval_ms": 5000, "rules": [{"name": ..., "metric": ..., "above": ..., "for_ms": ...}]}."""
    backup: Mapping[str, Any]
    """{"before_migration": bool, "schedule": {"dir": ..., "every_secs": ..., "keep_last": ..., "max_age_secs": ...}}."""
    emotion: _EmotionConfig
    """The emotional layer: fusion half-life and weights, history bound, snapshots on remember."""
    generator: str
    """"auto" (default), "none", "smollm2", "gguf:<file in the model cache>", "ollama:<model>"
    or "openai:<model>": the model of `generate` and `consolidate` (docs/models.md)."""
    model_server: _ModelServerConfig
    """Where Ollama / OpenAI-compatible servers are, and how hard to try them."""
    models: _ModelsConfig
    """Model lifecycle: auto_update, update_source, cache_limit_mb."""
    limits: _LimitsConfig
    """Quotas and input limits: max_batch, max_metadata_bytes, max_memories_per_user,
    max_bytes_per_user, max_store_bytes (docs/configuration.md)."""
    encryption_key: str
    """Encrypt the store at rest with this key (default $MEMORABLE_KEY, else plain): SQLCipher
    for the database, sealed exports; opening needs it (StorageError WRONG_KEY). docs/security.md."""
    classifiers: _ClassifiersConfig
    """Custom classifiers: emotion (the classifier of the emotional layer, default "goemotions"),
    personalize_min_corrections (20), run_jobs (True: queued training jobs run in the background)."""

class _ClassifiersConfig(TypedDict, total=False):
    emotion: str
    personalize_min_corrections: int
    run_jobs: bool

class _ClassifierInfo(TypedDict):
    name: str
    labels: list[str]
    mapping: dict[str, str]
    """Label → catalog expression id."""
    unmapped: list[str]
    """Labels without a catalog expression (kept as their own dimensions)."""
    builtin: bool
    deployed: str | None
    examples: int

class _Example(TypedDict):
    id: int
    text: str
    labels: list[str]
    source: str
    user: str | None
    memory_id: int | None
    created_at: str

class _ExampleImport(TypedDict):
    classifier: str
    added: int
    duplicates: int
    created: bool

class _ExampleStats(TypedDict):
    classifier: str
    total: int
    application: int
    user: int
    corrections: int
    users: int
    per_label: dict[str, int]
    unlabelled: int

class _TrainOptions(TypedDict, total=False):
    preset: Literal["quick", "full"]
    epochs: int | None
    threads: int
    seed: int
    eval_fraction: float
    holdout_fraction: float
    deploy: Literal["auto", "never", "always"]
    margin: float
    include_user_examples: bool
    checkpoint_every: int

class _LimitsConfig(TypedDict, total=False):
    """Per-user quotas, the store's size limit and input limits; over one, a write raises
    StorageError USER_QUOTA_EXCEEDED / STORE_FULL or InvalidInputError BATCH_TOO_LARGE /
    METADATA_TOO_LARGE, and nothing is written."""

    max_batch: int
    max_metadata_bytes: int
    max_memories_per_user: int | None
    max_bytes_per_user: int | None
    max_store_bytes: int | None

class _ModelsConfig(TypedDict, total=False):
    """The model registry: automatic updates at open (in the background), an update source (a
    folder holding index.json, or an index file) and the cache size limit in MB."""

    auto_update: bool
    update_source: str | None
    cache_limit_mb: int | None

class _ModelServerConfig(TypedDict, total=False):
    ollama_url: str
    openai_url: str
    api_key_env: str
    """Name of the environment variable holding the API key (never the key itself)."""
    generator: str | None
    timeout_ms: int
    connect_timeout_ms: int
    retries: int
    backoff_ms: int
    breaker_failures: int
    breaker_cooldown_ms: int

class _SourceWeights(TypedDict, total=False):
    evi: float
    face: float
    voice: float
    text: float
    custom: float
    custom_sources: Mapping[str, float]

class _EmotionConfig(TypedDict, total=False):
    enabled: bool
    half_life_secs: float
    weights: _SourceWeights
    history_limit: int
    top_k: int
    max_future_secs: float
    max_cached_contexts: int
    per_user_sessions: bool
    """A memory's session feeds the user's own context (`user_context(user, session)`), which
    `forget_user` erases with the user; default False (the session id names a shared context)."""

_Vocabulary = Literal["hume", "hume_language", "goemotions"]

class _SparseSemantics(TypedDict, total=False):
    kind: Literal["sparse", "dense"]
    missing: float
    vocabulary: _Vocabulary | None

_Semantics = Literal["dense", "sparse"] | _SparseSemantics
"""Dense intensities (default: a name missing from a reading was not measured) or sparse
thresholded probabilities (a missing name was below the cutoff; see docs/emotion.md)."""

_Scores = Mapping[str, float] | Iterable[tuple[str, float]]

class _EmotionSnapshot(TypedDict):
    """The emotional snapshot stored with a memory."""

    scores: dict[str, float]
    dominant: str | None
    valence: float
    arousal: float
    confidence: float

class _ExpressionScore(TypedDict):
    id: str
    score: float

class _SourceBreakdown(TypedDict):
    source: str
    weight: float
    confidence: float
    share: float
    readings: int
    updated_at: str
    scores: dict[str, float]
    extras: dict[str, float]
    dominant: str | None
    valence: float
    arousal: float

class _EmotionalState(TypedDict):
    """A context's fused state (times are RFC 3339 strings)."""

    context: str
    at: str
    updated_at: str
    scores: dict[str, float]
    """Every catalog id → fused score in [0, 1]."""
    extras: dict[str, float]
    """Names outside the catalog, kept."""
    dominant: str | None
    top: list[_ExpressionScore]
    valence: float
    arousal: float
    confidence: float
    sources: list[_SourceBreakdown]
    """Per-source breakdown (empty in `emotional_history` states)."""
    readings: int
    source: NotRequired[str]
    """In `emotional_history` states: the source of the reading that produced the state."""

class _TimelineOptions(TypedDict, total=False):
    since: datetime | str
    until: datetime | str
    expressions: Sequence[str]
    top: int
    width: int
    height: int
    theme: Literal["light", "dark"]
    title: str

class _UserMemories(TypedDict):
    user: str
    memories: int

class _ContextInfo(TypedDict):
    context: str
    created_at: str
    updated_at: str
    readings: int
    sources: list[str]
    open: bool
    closed_at: str | None

class _Expression(TypedDict):
    id: str
    name: str
    color: str
    valence: float
    arousal: float
    vocabularies: list[_Vocabulary]
    aliases: list[str]

class _HumeNotice(TypedDict):
    """A warning or error a Hume message carried (legacy W0xxx / E0xxx, v1 / EVI errors)."""

    severity: Literal["warning", "error"]
    code: str | None
    message: str
    model: str | None
    retryable: bool | None

class _HumeIngestReport(TypedDict):
    """What `ingest_hume` did."""

    context: str
    messages: int
    readings: int
    """Readings fused (0 for messages that carry no measurement)."""
    sources: list[str]
    families: list[str]
    notices: list[_HumeNotice]
    warnings: list[str]
    state: _EmotionalState | None
    """The context's fused state afterwards (None while it has never had a reading)."""

class _Reading(TypedDict, total=False):
    """One item of `observe_batch` (context, source and scores are required)."""

    context: str
    source: str
    scores: _Scores
    confidence: float
    timestamp: datetime | None
    semantics: _Semantics | None

def user_context(user: str, context: str) -> str:
    """The id of `user`'s own emotion context `context` ("@5:alice/s1"): what a memory's
    session feeds under `emotion.per_user_sessions` (and in `memorable serve`)."""

def verify(path: str | PathLike[str], *, key: str | None = None) -> dict[str, Any]:
    """Check a backup file, a store directory or a PostgreSQL store given by its URL
    (`VerifyReport`: kind, ok, problems, warnings, counts).
    An encrypted one needs its key (`key`, else $MEMORABLE_KEY): StorageError WRONG_KEY otherwise."""

def restore(
    backup: str | PathLike[str], new_dir: str | PathLike[str], *, key: str | None = None
) -> dict[str, Any]:
    """Restore a backup into a new directory, or into an empty PostgreSQL database given as a
    `postgres://` URL (`RestoreReport`); CORRUPT or DESTINATION_EXISTS write nothing.
    The backup of an encrypted store needs its key (`key`, else $MEMORABLE_KEY) and stays encrypted."""

def rekey(path: str | PathLike[str], old_key: str, new_key: str) -> None:
    """Give the encrypted store in `path` (open nowhere) a new key; WRONG_KEY when `old_key`
    does not open it, LOCKED while it is open. Crash-safe: one of the two keys always opens it."""

def models_list(*, model_dir: str | PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every installed model version: role, name, version, model_id, source, files, installed_at,
    verification, state ("active", "previous", "candidate" or "failed"), failure."""

def models_update(
    name: str | None = None,
    *,
    source: str | PathLike[str] | None = None,
    model_dir: str | PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Install, verify and activate the newest version of `name` (or of every installed model with
    one) from the shipped manifest and `source`; returns the versions activated (empty: up to date).
    A version failing verification raises ModelError MODEL_VERIFICATION_FAILED; the active stays."""

def models_rollback(name: str, *, model_dir: str | PathLike[str] | None = None) -> dict[str, Any]:
    """Make the previous version of `name` active again (ModelError NO_PREVIOUS_VERSION when none)."""

def models_gc(*, model_dir: str | PathLike[str] | None = None, limit_mb: int | None = None) -> dict[str, Any]:
    """Remove versions nothing needs (never active, previous or in use by an open store): removed,
    in_use, partial, freed_bytes, cache_bytes, over_limit."""

class _Classified(TypedDict):
    """One text's emotion reading (`Memorable.classify`)."""

    text: str
    scores: dict[str, float]
    """Probability of every label (the 28 GoEmotions labels for the shipped classifier)."""
    labels: list[str]
    """Labels at or above their thresholds, most probable first."""

__all__ = [
    "Memorable",
    "Memory",
    "MemoryVersion",
    "Recalled",
    "ScoreBreakdown",
    "ERROR_CODES",
    "__version__",
    "models_gc",
    "models_list",
    "models_rollback",
    "models_update",
    "rekey",
    "restore",
    "user_context",
    "verify",
]

__version__: str

ERROR_CODES: list[tuple[int, str, str, str]]
"""Every stable error code: (number, name, family, exception class name), from the core's table."""


class _Generation(TypedDict):
    text: str
    tokens: list[int]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]
    model: str

class _ConsolidatedMemory(TypedDict):
    id: int
    kind: str
    session: str | None
    text: str
    derived_from: list[int]
    path: Literal["generator", "extractive"]

class _ConsolidationReport(TypedDict):
    job: int
    user: str
    path: Literal["generator", "extractive"]
    model: str | None
    sessions: int
    source_memories: int
    summaries: list[_ConsolidatedMemory]
    facts: list[_ConsolidatedMemory]
    warnings: list[str]
    cancelled: bool
    duration_ms: float

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
    @property
    def emotion(self) -> _EmotionSnapshot | None:
        """The emotional snapshot stored with the memory, if any."""
    @property
    def derived_from(self) -> list[int]:
        """Ids of the memories this one was derived from (a consolidation's summary or fact)."""
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
    @property
    def context(self) -> float: ...
    @property
    def recency(self) -> float: ...
    @property
    def importance(self) -> float: ...
    @property
    def arousal(self) -> float: ...
    @property
    def access(self) -> float: ...
    @property
    def mood(self) -> float: ...
    @property
    def who(self) -> float: ...
    @property
    def date(self) -> float: ...
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
        derived_from: Sequence[int] = (),
        client_key: str | None = None,
    ) -> int: ...
    def remember_batch(self, memories: Iterable[Mapping[str, Any]]) -> list[int]:
        """Each dict has "text", "user" and any keyword argument of `remember`."""
    def recall(
        self,
        query: str,
        *,
        user: str,
        limit: int = 10,
        offset: int = 0,
        session: str | None = None,
        speaker: str | None = None,
        tags: Sequence[str] = (),
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        mode: _RecallMode = "hybrid",
        window: TimeWindow | None = None,
        at: datetime | None = None,
        fusion: _Fusion = "zscore",
        weights: RankWeights | None = None,
        mood: Mood | None = None,
        current_mood: bool = False,
        track_access: bool = True,
    ) -> list[Recalled]:
        """`mode`: "hybrid" (semantic + keyword, fused), "semantic" or "keyword" only."""
    def recent(
        self,
        user: str,
        window: TimeWindow | None = None,
        *,
        limit: int = 10,
        offset: int = 0,
        session: str | None = None,
        speaker: str | None = None,
        tags: Sequence[str] = (),
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        at: datetime | None = None,
    ) -> list[Memory]: ...
    def context_frame(self, user: str, window: TimeWindow | None = None) -> ContextFrame: ...
    def users(self, *, prefix: str | None = None) -> list[_UserMemories]:
        """Every user holding memories (ids starting with `prefix`, if given), by id, with
        how many memories each holds."""
    def derived(self, id: int) -> list[Memory]:
        """The memories derived from memory `id` (consolidation's summaries and facts), by id.
        NotFoundError for an unknown id."""
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
        reembed, classifier (available, loaded, model_id, reason, shared_pass), models (role, name, version
        of each model version in use, from the model registry)."""
    def selection_report(self) -> dict[str, Any]:
        """How the embedding model was chosen (the core `SelectionReport`): role, requested,
        chosen, model_id, device, fallback, fallback_reason, limits, environment, model_dir,
        decisions ({model, outcome, reason}), notes, load_ms, warm_up_ms."""
    def generate(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, str]] | None = None,
        raw: bool = False,
        system: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = (),
        json: bool = False,
        answer_prefix: str | None = None,
        on_text: Callable[[str], bool | None] | None = None,
    ) -> _Generation:
        """Generate text with the store's generator (loaded on first use; never on the write
        path). A chat (`prompt` as the user's message, or `messages` of {"role", "content"})
        or, with `raw=True`, a plain completion; temperature 0 is greedy, `seed` makes
        sampling repeatable; `json=True` asks for JSON and checks it (one retry, then
        InvalidOutput, a ModelError); `answer_prefix` is text the answer begins with (the local
        model continues it, servers ignore it). `on_text(piece)` gets the text as it is generated;
        returning False stops. Without a generator: ModelError NO_GENERATOR."""
    def generator_report(self) -> dict[str, Any]:
        """How the generator was chosen: requested, chosen, model_id, decisions, ..."""
    def reload_models(self) -> None:
        """Take the model registry's active versions (after an update, activate or rollback) without
        closing the handle; models given to the constructor stay."""
    def consolidate(
        self,
        user: str,
        *,
        session: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        on_progress: Callable[[dict[str, Any]], bool | None] | None = None,
    ) -> _ConsolidationReport:
        """Turn a user's turns into one "summary" memory per session and "fact" memories,
        each with `derived_from` its sources, with the generator or extractively (the report's
        `path` says which). `on_progress` gets {job, sessions_done, sessions_total, summaries,
        facts} after each session; returning False cancels."""
    def consolidate_in_background(
        self,
        user: str,
        *,
        session: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Start a consolidation on a background thread; returns its job id."""
    def job(self, id: int) -> dict[str, Any]:
        """A job: id, kind, state, user, params, progress, result, error, log, created_at,
        updated_at. NotFoundError for an unknown id."""
    def jobs(self) -> list[dict[str, Any]]:
        """The newest jobs."""
    def cancel_job(self, id: int) -> dict[str, Any]:
        """Ask a running job to stop (what it wrote stays); returns the job."""
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
    def observe(
        self,
        context: str,
        source: str,
        scores: _Scores,
        *,
        confidence: float = 1.0,
        timestamp: datetime | None = None,
        semantics: _Semantics | None = None,
    ) -> _EmotionalState:
        """Fold one reading into `context` (created on its first reading); returns its fused
        state right after. `source`: "text", "voice", "face", "evi" or "custom:<name>"."""
    def observe_batch(self, readings: Iterable[_Reading]) -> int:
        """Fold many readings in one transaction (all or nothing); returns how many."""
    def ingest_hume(self, context: str, message: str | Mapping[str, Any]) -> _HumeIngestReport:
        """Parse one Hume message (v1 realtime or upload, legacy stream, EVI chat; JSON text or
        a dict) and fuse its readings into `context`. Bad JSON raises InvalidInputError and
        changes nothing."""
    def ingest_hume_lines(self, context: str, jsonl: str) -> _HumeIngestReport:
        """A recorded session (JSON Lines: one Hume message a line, blank lines skipped) fused into
        `context` in one transaction; a bad line raises InvalidInputError naming its line number,
        and nothing is fused."""
    def emotional_state(self, context: str, *, at: datetime | None = None) -> _EmotionalState: ...
    def emotional_history(
        self,
        context: str,
        *,
        limit: int = 100,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[_EmotionalState]:
        """Past fused states, oldest first (the newest `limit` in [since, until))."""
    def emotion_timeline_svg(
        self,
        context: str,
        options: _TimelineOptions | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        expressions: Sequence[str] | None = None,
        top: int | None = None,
        width: int | None = None,
        height: int | None = None,
        theme: Literal["light", "dark"] | None = None,
        title: str | None = None,
    ) -> str:
        """The context's history drawn as a standalone SVG (its text): the `top` expressions
        (default 5) by peak, or `expressions`, over time in catalog colours, the source of each
        reading, valence and arousal, dates in UTC, a legend; 960 x 540 and light by default.
        Options as keywords or as one dict with the same keys (keywords win). Same data, same
        bytes. NotFoundError for a context without readings; InvalidInputError for bad
        options."""
    def contexts(self) -> list[_ContextInfo]: ...
    def close_context(self, context: str) -> None: ...
    @staticmethod
    def emotion_catalog() -> list[_Expression]:
        """The 62 expressions: id, name, color, valence, arousal, vocabularies, aliases."""
    def classify(
        self, texts: Sequence[str], *, classifier: str | None = None, user: str | None = None
    ) -> list[_Classified]:
        """Emotion readings of `texts` from the engine's emotion classifier (the shipped
        GoEmotions classifier when the store embeds with MiniLM), or from `classifier` (one of
        the store's classifiers, its deployed version; `user` decides labels with that user's
        calibrated thresholds). Raises ModelError CLASSIFIER_UNAVAILABLE (35) saying why when
        there is none; `stats()["classifier"]` tells ahead of time."""
    def create_classifier(
        self, name: str, labels: Sequence[str], mapping: Mapping[str, str] | None = None
    ) -> _ClassifierInfo:
        """Create a classifier with its label set (`mapping`: label → catalog expression)."""
    def classifier(self, name: str) -> _ClassifierInfo: ...
    def classifiers(self) -> list[_ClassifierInfo]:
        """Every classifier, goemotions first."""
    def add_example(
        self, classifier: str, text: str, labels: Sequence[str], *, source: str = "api", user: str | None = None
    ) -> _ExampleImport:
        """Add one labelled example to an existing classifier (the application's, or `user`'s)."""
    def add_examples(
        self,
        classifier: str,
        examples: Sequence[Mapping[str, Any]],
        *,
        source: str = "api",
        user: str | None = None,
    ) -> _ExampleImport:
        """Add `[{"text", "labels"}]`, all or nothing; creates the classifier when missing."""
    def import_examples(self, classifier: str, path: str | PathLike[str]) -> _ExampleImport:
        """Import a JSON Lines or TSV file, all or nothing (errors name the line)."""
    def export_examples(self, classifier: str, path: str | PathLike[str]) -> int:
        """Write the examples as JSON Lines into the new file `path`; returns how many."""
    def examples(self, classifier: str, *, user: str | None = None) -> list[_Example]: ...
    def example_stats(self, classifier: str) -> _ExampleStats: ...
    def correct(self, memory_id: int, labels: Sequence[str], classifier: str) -> _Example:
        """Record the memory owner's correction; enough of them earn the owner a calibration."""
    def train(self, classifier: str, **options: Any) -> int:
        """Queue a training job (options: _TrainOptions keys); returns its id."""
    def train_and_wait(
        self,
        classifier: str,
        *,
        on_progress: Callable[[dict[str, Any]], bool | None] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Train here and wait; returns the job (result: version, deployed, decision, new,
        current, examples, steps, seconds). Returning False from on_progress cancels."""
    def run_job(
        self, id: int, *, on_progress: Callable[[dict[str, Any]], bool | None] | None = None
    ) -> dict[str, Any]:
        """Run a queued, paused or interrupted training job here until it ends."""
    def pause_job(self, id: int) -> dict[str, Any]: ...
    def resume_job(self, id: int) -> dict[str, Any]: ...
    def deploy_classifier(self, classifier: str, version: str | None = None) -> dict[str, Any]:
        """Deploy a version (default: the newest candidate) through the model registry."""
    def rollback_classifier(self, classifier: str) -> dict[str, Any]: ...
    def calibrate(self, classifier: str, user: str) -> dict[str, Any] | None:
        """Tune the user's thresholds on their corrections now (None: too few)."""
    def checkpoint(self) -> None: ...
    def metrics(self) -> dict[str, Any]:
        """Counters, latency quantiles (ms), gauges and the store's backend and sync figures
        (`MetricsSnapshot`; `store`: backend, sync_polls, sync_changes, sync_errors, reconnects,
        sync_lag_seconds)."""
    def metrics_prometheus(self) -> str:
        """The metrics in the Prometheus text format."""
    def health(self) -> dict[str, Any]:
        """`HealthReport`: status ("ok" | "degraded" | "failing"), checks, checked_at."""
    def on_alert(self, callback: Callable[[dict[str, Any]], object]) -> int:
        """Call `callback(event)` for every alert that fires or resolves; returns an id."""
    def remove_alert_callback(self, id: int) -> bool: ...
    def evaluate_alerts(self) -> list[dict[str, Any]]:
        """Evaluate the rules now; returns (and delivers) what fired or resolved."""
    def active_alerts(self) -> list[dict[str, Any]]: ...
    def alert_rules(self) -> list[dict[str, Any]]:
        """The alert rules in force (name, metric, above / below, for_ms)."""
    def set_alert_rules(self, rules: list[dict[str, Any]]) -> None:
        """Replace the alert rules without reopening (INVALID_CONFIG changes nothing)."""
    def backup(self, path: str | PathLike[str]) -> dict[str, Any]:
        """Online backup into the new file `path` (`BackupReport`); of a PostgreSQL store too
        (one consistent snapshot, the same file format)."""
    def restore_user(self, user: str, at: datetime) -> dict[str, Any]:
        """Bring `user`'s memories back to instant `at` (`RestoreUserReport`)."""
    def export_user(self, user: str, path: str | PathLike[str], *, vectors: bool = False) -> int:
        """Write `user`'s memories as JSON Lines into the new file `path`."""
    def import_jsonl(self, path: str | PathLike[str], *, batch: int = 1000) -> dict[str, Any]:
        """Import JSON Lines of memories (`ImportReport`)."""
    def close(self) -> None: ...
    def __enter__(self) -> Memorable: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool: ...
