"""Typed settings, built once at start-up and passed down.

Sources, lowest to highest precedence: defaults, a TOML file (``--config`` or
``HOPGRAPH_CONFIG``), environment variables ``HOPGRAPH_*``, explicit overrides
(CLI flags). Nothing here runs at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError


def _text_list(value: object) -> object:
    """A setting given as one string, comma-separated or a JSON list, as a list (anything else unchanged)."""
    if isinstance(value, str):
        text = value.strip()
        return json.loads(text) if text.startswith("[") else [item for item in text.split(",") if item.strip()]
    return value


def _default_threads() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Every tunable of hopgraph. Environment variables are ``HOPGRAPH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="HOPGRAPH_", extra="forbid", frozen=True)

    # storage
    data_dir: Path = Field(Path("hopgraph-data"), description="Directory of the embedded store.")
    graph_store: Literal["embedded", "neo4j"] = "embedded"
    vector_store: Literal["embedded", "weaviate"] = "embedded"
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    neo4j_label_prefix: str = Field(
        "", pattern=r"^([A-Za-z][A-Za-z0-9_]*)?$",
        description="Put before hopgraph's Neo4j labels, relationship types and schema names, so that several "
        "stores share one database (the API sets one per collection).",
    )
    weaviate_host: str = "127.0.0.1"
    weaviate_http_port: int = 8080
    weaviate_grpc_port: int = 50051
    weaviate_api_key: str = ""
    weaviate_secure: bool = False
    weaviate_nodes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="The nodes of a Weaviate cluster as host:http_port:grpc_port, comma-"
        "separated or a JSON list: hopgraph uses one and moves to the next one that answers when it dies. Empty: "
        "the one server of weaviate_host, weaviate_http_port, weaviate_grpc_port."
    )
    weaviate_replication_factor: int = Field(
        1, ge=1, description="Copies of each object the collections hopgraph creates keep (one per node; set when a "
        "collection is created). 3 on a 3-node cluster survives the loss of one node with QUORUM reads and writes; a "
        "node that was down catches up in the background (Weaviate's async replication, on for factors above 1)."
    )
    weaviate_read_consistency: Literal["ONE", "QUORUM", "ALL"] = Field(
        "QUORUM", description="Replicas that must answer a read (ONE, QUORUM: a majority, ALL)."
    )
    weaviate_write_consistency: Literal["ONE", "QUORUM", "ALL"] = Field(
        "QUORUM", description="Replicas that must acknowledge a write before it counts as done."
    )
    weaviate_collection_prefix: str = Field(
        "Hopgraph", pattern=r"^[A-Z][A-Za-z0-9]*$", description="Weaviate collections are PREFIX+Chunk, PREFIX+Entity."
    )
    server_db_url: str = Field(
        "", description="The server's own state (API keys, jobs, audit log, model registry, usage, review queue) "
        "in PostgreSQL (postgresql://user:password@host:port/db), shared by API replicas on several hosts; empty: "
        "the SQLite file DATA_DIR/server.db of one host."
    )
    store_timeout_s: float = Field(30.0, gt=0, description="Connect/query timeout of the Neo4j and Weaviate clients.")
    store_repair_after_s: float = Field(
        3600.0, gt=0, description="A pending write of another, possibly live, host is repaired after this long."
    )

    # ingestion
    ontology_path: Path | None = Field(None, description="YAML ontology; default: the shipped one.")
    max_file_bytes: int = Field(50 * 1024 * 1024, gt=0)
    chunk_size: int = Field(200, gt=20, description="Target chunk length in words.")
    chunk_overlap: int = Field(30, ge=0, description="Words shared by consecutive chunks.")
    json_text_field: str = "text"
    json_title_field: str = "title"
    json_id_field: str = "id"
    write_batch_documents: int = Field(64, gt=0, description="Documents committed per transaction.")
    ingest_batch_chunks: int = Field(
        256, gt=0, description="Chunks per slice of ingest work: no spaCy or embedding call is larger, and a "
        "larger document is processed over several slices (written once, whole).")
    review_below: float = Field(
        0.6, ge=0, le=1, description="Relations extraction stores with a confidence under this are proposed to "
        "curators for review (with those the ontology rejects); 0 proposes only rejected ones.")

    # models
    spacy_model: str = Field("en_core_web_sm", description="spaCy package name or path.")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="'all-MiniLM-L6-v2' (the packaged default) or a sentence-transformers path.",
    )
    embedding_backend: Literal["onnx-int8", "torch"] = Field(
        "onnx-int8", description="onnx-int8: ONNX Runtime with int8 feed-forward layers (exported once); torch: plain."
    )
    model_cache_dir: Path | None = Field(None, description="Where derived model files go; default DATA_DIR/models.")
    embedding_batch_size: int = Field(
        1, gt=0, description="Texts per model call. 1 (the default, as fast on CPU) makes each vector independent of"
        " the texts embedded with it: int8 quantisation scales per call, so with larger batches a document's"
        " vectors depend on its neighbours in the batch, which breaks the access-control guarantee that a hidden"
        " document changes no visible score."
    )
    embedding_max_seq_length: int = Field(256, gt=8)
    llm_model: str = Field(
        "default",
        description="The reader: a packaged one by name or alias ('default' = qwen2.5-coder-1.5b, 'fast' = "
        "smollm2-135m; see 'hopgraph models list') or a GGUF path.",
    )
    llm_model_path: Path | None = Field(None, description="A GGUF file; wins over llm_model when set.")
    llm_sha256: str | None = Field(None, description="Expected SHA-256 of the GGUF, verified at load.")
    llm_context: int = Field(4096, gt=256)
    llm_temperature: float = Field(0.0, ge=0.0)
    llm_max_tokens: int = Field(128, gt=0)
    llm_backend: Literal["local", "openai"] = Field(
        "local", description="'local': the reader runs in this process (llama.cpp); 'openai': on the OpenAI-"
        "compatible servers of llm_endpoints (llama.cpp's server, vLLM, Ollama...), spread over the healthy ones."
    )
    llm_endpoints: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Base URLs of the OpenAI-compatible reader servers, up to their /v1 "
        "(e.g. http://10.0.0.5:8081/v1), comma-separated or a JSON list; for llm_backend = openai."
    )
    llm_endpoint_model: str = Field(
        "", description="The model name sent to the reader servers ('' : the first one a server lists)."
    )
    llm_endpoint_timeout_s: float = Field(
        30.0, gt=0, description="Seconds to wait for a reader server's first token and between tokens."
    )
    llm_endpoint_cooldown_s: float = Field(
        20.0, ge=0, description="Seconds a reader server that failed is left out before it is tried again."
    )
    threads: int = Field(default_factory=_default_threads, gt=0)

    # retrieval
    top_k: int = Field(5, gt=0)
    retrieval_mode: Literal["dense", "keyword", "graph", "hybrid"] = "hybrid"
    question_ner: Literal["capitalised", "spacy"] = Field(
        "capitalised", description="How question phrases are found for fuzzy/vector linking (n-grams always run)."
    )

    # HTTP API (hopgraph serve)
    api_auth: bool = Field(True, description="Require an API key; False makes every caller an admin (local use).")
    api_query_threads: int = Field(4, gt=0, description="Worker threads for retrieval, extractive answers, reads.")
    api_generate_threads: int = Field(1, gt=0, description="Concurrent LLM generations (the LLM is shared).")
    api_rate_per_s: float = Field(50.0, ge=0, description="Requests per second per API key (token bucket); 0: off.")
    api_rate_burst: int = Field(100, gt=0, description="Token-bucket size: requests a key may make at once.")
    api_max_request_bytes: int = Field(200 * 1024 * 1024, gt=0, description="Largest request body accepted.")
    api_ingest_worker: Literal["process", "thread"] = Field(
        "process", description="Where ingest jobs run: a separate, lower-priority process, or a thread (tests)."
    )
    api_ingest_nice: int = Field(
        5, ge=0, le=19,
        description="Niceness of the ingest worker (process mode): higher favours queries, lower favours ingest.",
    )
    api_job_lease_s: float = Field(
        30.0, gt=0, description="With a shared server database (server_db_url): a replica's claim on a job lasts "
        "this long unless renewed; another replica takes over a job whose holder died after this long."
    )
    api_shutdown_grace_s: float = Field(
        10.0, ge=0, description="At shutdown a running ingest job may finish for this long, then it is interrupted."
    )
    backup_key_file: Path | None = Field(
        None, description="A file holding an HMAC key: backups are signed with it and restore refuses a backup that "
        "is not signed with it.",
    )
    backup_dir: Path | None = Field(None, description="Where the HTTP API writes backups; default DATA_DIR/backups.")
    api_preload_models: bool = Field(True, description="Load the embedder and LLM at start-up (readyz waits).")

    # service-level objectives (hopgraph serve: /metrics exposes their error-budget burn rates)
    slo_retrieve_latency_s: float = Field(
        0.25, gt=0, description="Latency objective of a retrieve request (seconds)."
    )
    slo_retrieve_objective: float = Field(
        0.99, gt=0, lt=1, description="Share of retrieve requests that must finish within slo_retrieve_latency_s."
    )
    slo_availability_objective: float = Field(
        0.999, gt=0, lt=1, description="Share of requests that must not fail with a 5xx status."
    )

    @field_validator("llm_endpoints", mode="before")
    @classmethod
    def _endpoint_list(cls, value: object) -> object:
        """A comma-separated string (or a JSON list in one) as a list; trailing slashes dropped."""
        value = _text_list(value)
        if isinstance(value, list):
            return [str(u).strip().rstrip("/") for u in value]
        return value

    @field_validator("weaviate_nodes", mode="before")
    @classmethod
    def _node_list(cls, value: object) -> object:
        """A comma-separated string (or a JSON list in one) of host:http_port:grpc_port as a list."""
        value = _text_list(value)
        if isinstance(value, list):
            nodes = [str(n).strip() for n in value]
            bad = [n for n in nodes if not re.fullmatch(r"[^\s:]+:\d{1,5}:\d{1,5}", n)]
            if bad:
                raise ValueError(f"Weaviate nodes must be host:http_port:grpc_port, not {', '.join(bad)}")
            return nodes
        return value

    @property
    def db_path(self) -> Path:
        """The SQLite file of the embedded store."""
        return self.data_dir / "hopgraph.db"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from file, environment and overrides.

    Args:
        config_file: a TOML file; when None, ``HOPGRAPH_CONFIG`` names one if set.
        **overrides: values that win over every other source (None values are ignored).

    Returns:
        The validated settings.

    Raises:
        ConfigError: the file is unreadable or a value is invalid.
    """
    path = config_file or (Path(os.environ["HOPGRAPH_CONFIG"]) if os.environ.get("HOPGRAPH_CONFIG") else None)
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
        file_values = file_values.get("hopgraph", file_values)
    explicit = {k: v for k, v in overrides.items() if v is not None}
    try:
        env_only = Settings()
        merged = {**file_values}
        # Environment beats the file: keep only env-set fields from env_only.
        for name in env_only.model_fields_set:
            merged[name] = getattr(env_only, name)
        merged.update(explicit)
        settings = Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
    if settings.chunk_overlap >= settings.chunk_size:
        raise ConfigError("chunk_overlap must be smaller than chunk_size")
    return settings
