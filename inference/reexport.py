"""A second embedding model made offline from one on disk: the same model re-exported.

Its weights are rounded through float16 and written again, so it is a different file (another
checksum, another vector space) that embeds almost as the original does. Migration drills and
``bench/migrate.py`` use it where no second sentence-transformers model is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.errors import ModelError
from inference.registry import weights_file


def reexport(model_dir: Path, target: Path) -> Path:
    """Copy the sentence-transformers model at ``model_dir`` to ``target`` with float16-rounded weights (kept as
    float32). Returns ``target``; an existing complete copy is reused.

    Raises:
        ModelError: the model has no safetensors weights, or they cannot be written.
    """
    weights = weights_file(model_dir)
    if weights.name != "model.safetensors":
        raise ModelError(f"{model_dir}: re-exporting needs model.safetensors")
    if (target / "model.safetensors").is_file():
        return target
    from safetensors.torch import load_file, save_file

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(model_dir, partial, ignore=shutil.ignore_patterns("model.safetensors", "onnx", "*.onnx"))
        tensors = {k: v.half().float().contiguous() for k, v in load_file(str(weights)).items()}
        save_file(tensors, str(partial / "model.safetensors"), metadata={"format": "pt"})
        partial.rename(target)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(f"cannot re-export {model_dir} to {target}: {exc}") from exc
    return target
