"""What ``hopgraph models`` shows: the packaged readers, whether they are installed, and their checksum state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import ChecksumMismatchError, ConfigError
from core.settings import Settings
from inference.readers import READERS, assembled_path, find_reader, installed, part_file, verified, verify_file
from inference.registry import model_cache, sha256_file


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """One reader as ``models list`` prints it."""

    name: str
    aliases: tuple[str, ...]
    description: str
    state: str  # ready (verified file) | installed (packages there, not yet assembled) | not installed | custom
    size_mb: float
    sha256: str
    in_use: bool
    path: str | None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of ``models list --json``."""
        return {"name": self.name, "aliases": list(self.aliases), "description": self.description,
                "state": self.state, "size_mb": round(self.size_mb, 1), "sha256": self.sha256,
                "in_use": self.in_use, "path": self.path}


def _in_use(settings: Settings) -> str | None:
    """The packaged reader's name the settings select, or None when they name a file."""
    if settings.llm_model_path is not None:
        return None
    reader = find_reader(settings.llm_model)
    return reader.name if reader else None


def reader_statuses(settings: Settings) -> list[ReaderStatus]:
    """Every packaged reader, and the custom GGUF when the settings name one."""
    cache = model_cache(settings)
    using = _in_use(settings)
    out: list[ReaderStatus] = []
    for reader in READERS:
        path = assembled_path(reader, cache)
        one_file = len(reader.parts) == 1
        state = ("not installed" if not installed(reader)
                 else "ready" if one_file or verified(reader, path) else "installed")
        out.append(ReaderStatus(reader.name, reader.aliases, reader.description, state, reader.size / 2**20,
                                reader.sha256, reader.name == using, str(path) if path.is_file() else None))
    if using is None:
        custom = Path(str(settings.llm_model_path or settings.llm_model)).expanduser()
        size = custom.stat().st_size / 2**20 if custom.is_file() else 0.0
        out.append(ReaderStatus(custom.name, (), "a GGUF named by path", "custom" if custom.is_file() else "missing",
                                size, settings.llm_sha256 or "(not pinned)", True, str(custom)))
    return out


def pending_assembly(settings: Settings) -> Path | None:
    """Where the reader the settings select is about to be assembled (its first use), None when it is ready or
    needs no assembly: a caller can say that the first answer will take a while."""
    name = _in_use(settings)
    reader = find_reader(name) if name else None
    if reader is None or len(reader.parts) == 1 or not installed(reader):
        return None
    path = assembled_path(reader, model_cache(settings))
    return None if verified(reader, path) else path


def verify_readers(settings: Settings) -> list[tuple[str, bool, str]]:
    """(reader, ok, detail) for every installed reader: each part and the assembled file, re-hashed in full;
    and the custom GGUF against ``llm_sha256`` when one is pinned."""
    cache = model_cache(settings)
    results: list[tuple[str, bool, str]] = []
    for reader in READERS:
        if not installed(reader):
            results.append((reader.name, True, "not installed (nothing to check)"))
            continue
        try:
            for part in reader.parts:
                actual = sha256_file(part_file(reader, part))
                if actual != part.sha256:
                    raise ChecksumMismatchError(f"package {part.distribution}: sha256 {actual}, expected {part.sha256}")
            path = assembled_path(reader, cache)
            if path.is_file():
                verify_file(reader, path)
                detail = f"{len(reader.parts)} part(s) and {path} match sha256 {reader.sha256[:12]}"
            else:
                detail = f"{len(reader.parts)} part(s) match; not assembled yet (done at first use)"
            results.append((reader.name, True, detail))
        except (ChecksumMismatchError, ConfigError) as exc:
            results.append((reader.name, False, str(exc)))
    if _in_use(settings) is None and settings.llm_sha256:
        custom = Path(str(settings.llm_model_path or settings.llm_model)).expanduser()
        actual = sha256_file(custom) if custom.is_file() else "missing"
        results.append((custom.name, actual == settings.llm_sha256.lower(), f"sha256 {actual}"))
    return results
