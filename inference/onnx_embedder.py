"""A faster CPU backend for sentence-transformers models: ONNX Runtime, int8 feed-forward layers.

At first use the model is exported to ONNX (``torch.onnx``) and its feed-forward
MatMuls are dynamically quantised to int8 per channel; attention stays in float.
The result is cached under ``cache_dir`` keyed by the model's weights, so the
export happens once per model. On all-MiniLM-L6-v2 this keeps dense retrieval
quality (MuSiQue Recall@5 within a point of the plain model) at about twice
the speed; ``bench/ingest.py`` measures it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import ModelError
from inference.identity import EmbedderIdentity
from inference.registry import sha256_file, weights_file

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _check_mean_pooling(model_dir: Path) -> None:
    pooling = model_dir / "1_Pooling" / "config.json"
    if pooling.is_file():
        cfg = json.loads(pooling.read_text())
        if not cfg.get("pooling_mode_mean_tokens", False):
            raise ModelError(f"{model_dir}: the onnx backend supports mean pooling only; use embedding_backend=torch")


def export_quantized(model_dir: Path, target: Path) -> None:
    """Export ``model_dir`` to ONNX and quantise its feed-forward layers into ``target``.

    Raises:
        ModelError: export or quantisation failed.
    """
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    root = logging.getLogger()
    previous_level = root.level
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        sample = tokenizer(["hopgraph"], return_tensors="pt")
        names = [name for name in _INPUTS if name in sample]

        class _Encoder(torch.nn.Module):
            """Positional inputs -> last hidden state, whatever the model's forward signature."""

            def __init__(self) -> None:
                super().__init__()
                self.inner = model

            def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
                hidden: torch.Tensor = self.inner(**dict(zip(names, tensors, strict=True)),
                                                  use_cache=False).last_hidden_state
                return hidden

        wrapped = _Encoder().eval()
        args = tuple(sample[name] for name in names)
        axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp, warnings.catch_warnings():
            # the exporter's tracer warnings and ORT's pre-processing hint say nothing actionable here
            warnings.simplefilter("ignore")
            root.setLevel(logging.ERROR)
            plain = Path(tmp) / "model.onnx"
            with torch.no_grad():
                torch.onnx.export(
                    wrapped, args, str(plain), input_names=names, output_names=["last_hidden_state"],
                    dynamic_axes=axes, opset_version=17, dynamo=False,
                )
            graph = onnx.load(str(plain))
            matmuls = [n.name for n in graph.graph.node if n.op_type == "MatMul"]
            keep_float = [n for n in matmuls if "attention" in n or not ("intermediate" in n or "output" in n)]
            quantised = Path(tmp) / "model_int8.onnx"
            quantize_dynamic(str(plain), str(quantised), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=keep_float)
            os.replace(quantised, target)  # atomic: a crash never leaves half a model behind
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot export {model_dir} to ONNX: {exc}") from exc
    finally:
        root.setLevel(previous_level)


class OnnxEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings from an int8 ONNX export."""

    def __init__(self, model_dir: Path, cache_dir: Path, *, batch_size: int, max_seq_length: int, threads: int,
                 name: str = "") -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        _check_mean_pooling(model_dir)
        weights_sha = sha256_file(weights_file(model_dir))
        digest = weights_sha[:16]
        path = cache_dir / f"{model_dir.name}-{digest}" / "model_ffn_int8.onnx"
        if not path.is_file():
            export_quantized(model_dir, path)
        try:
            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            options.inter_op_num_threads = 1
            # no busy-waiting: the NLP worker process needs the other core
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load ONNX embedder {path}: {exc}") from exc
        self._tokenizer.enable_truncation(max_seq_length)
        self._tokenizer.enable_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self.identity = EmbedderIdentity(name or model_dir.name, weights_sha, self.dimension)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised; batches sorted by length."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        with self._lock:
            for i in range(0, len(texts), self._batch_size):
                idx = order[i : i + self._batch_size]
                encoded = self._tokenizer.encode_batch([texts[j] for j in idx])
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
                pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
                out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
