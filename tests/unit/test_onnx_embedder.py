"""The ONNX embedders: same vectors as sentence-transformers (float), close enough (int8) to rank
the recall set as well, and a cache that is built once, atomically, and rebuilt when stale."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory_service.embedding import onnx_export
from memory_service.embedding.onnx_runtime import (
    OnnxRuntimeEmbedder,
    mean_pool_normalise,
    packaged_model_dir,
)
from memory_service.embedding.sentence_transformer import SentenceTransformerEmbedder
from memory_service.solo import running_solo

pytestmark = pytest.mark.slow

RECALL_SET = Path(__file__).parent.parent / "data" / "recall_set.json"
TEXTS = [
    "The user prefers Jira over Linear for sprint planning.",
    "x",
    "",
    "   leading and trailing spaces   ",
    "Ünïcödé, emoji 🙂 and 日本語 in one memory",
    "word " * 400,  # past max_seq_length (256 tokens): truncated the same way
    "Meeting on Tuesday: agreed to finish the release notes before the offsite.",
    "what does the CFO prefer for quarterly reporting",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real export (torch) and quantization for the module: the first-start path."""
    directory = tmp_path_factory.mktemp("models")
    onnx_export.ensure_onnx_models(packaged_model_dir(), directory)
    return directory


@pytest.fixture(scope="module")
def float_embedder(cache_dir: Path) -> OnnxRuntimeEmbedder:
    return OnnxRuntimeEmbedder(cache_dir, quantized=False)


@pytest.fixture(scope="module")
def int8_embedder(cache_dir: Path) -> OnnxRuntimeEmbedder:
    return OnnxRuntimeEmbedder(cache_dir, quantized=True)


@pytest.fixture(scope="module")
def torch_vectors() -> Any:
    embedder = SentenceTransformerEmbedder(threads=1)
    return np.asarray(embedder.embed(_corpus_texts()))


def _corpus_texts() -> list[str]:
    data = json.loads(RECALL_SET.read_text())
    return [
        *TEXTS,
        *(i["memory"] for i in data["items"]),
        *(i["query"] for i in data["items"]),
        *data["distractors"],
    ]


def _cosines(a: Any, b: Any) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_float_onnx_gives_the_sentence_transformers_vectors(
    float_embedder: OnnxRuntimeEmbedder, torch_vectors: Any
) -> None:
    # One call over texts of very different lengths: padded batches, truncation, empty text.
    vectors = np.asarray(float_embedder.embed(_corpus_texts()))
    assert vectors.shape == torch_vectors.shape
    assert _cosines(vectors, torch_vectors).min() > 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_text_gets_the_same_vector_alone_or_in_a_padded_batch(
    int8_embedder: OnnxRuntimeEmbedder,
) -> None:
    batch = int8_embedder.embed(TEXTS)
    for text, vector in zip(TEXTS, batch, strict=True):
        alone = int8_embedder.embed([text])[0]
        assert _cosines([alone], [vector])[0] > 0.9999, text


@pytest.mark.parametrize("quantized", [True, False])
def test_a_solo_call_uses_the_wide_session_for_the_same_vectors(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, *, quantized: bool
) -> None:
    embedder = OnnxRuntimeEmbedder(cache_dir, quantized=quantized, threads=1, solo_threads=2)
    narrow = embedder.embed(TEXTS)
    ran: list[str] = []
    for name in ("_session", "_solo_session"):
        session = getattr(embedder, name)
        monkeypatch.setattr(session, "run", _recording(session.run, ran, name))
    with running_solo():
        wide = embedder.embed(TEXTS)
    assert set(ran) == {"_solo_session"}
    assert _cosines(wide, narrow).min() > 0.9999
    ran.clear()
    embedder.embed(TEXTS[:1])  # outside: the one-thread session again
    assert ran == ["_session"]


def test_no_wide_session_unless_solo_threads_exceed_threads(cache_dir: Path) -> None:
    embedder = OnnxRuntimeEmbedder(cache_dir, quantized=True, threads=2, solo_threads=2)
    assert embedder._solo_session is None
    with running_solo():
        assert len(embedder.embed(["still one session"])[0]) == embedder.dimension


def _recording(run: Any, ran: list[str], name: str) -> Any:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        ran.append(name)
        return run(*args, **kwargs)

    return recorded


def test_int8_stays_close_to_the_float_model(
    int8_embedder: OnnxRuntimeEmbedder, torch_vectors: Any
) -> None:
    cosines = _cosines(int8_embedder.embed(_corpus_texts()), torch_vectors)
    # The bar is DESIGN.md's promise, not one CPU's figure: int8 results differ with the
    # CPU's integer kernels (a min of 0.9895 on one machine of this kind, 0.974 on another).
    # A real regression is far below it: per-tensor weights or padded batches gave 0.87.
    assert cosines.min() >= 0.96
    assert cosines.mean() >= 0.98


def test_the_int8_graph_runs_fused_attention_in_every_layer(
    int8_embedder: OnnxRuntimeEmbedder,
) -> None:
    """The speed of the default backend rests on the optimizer's fusions; a transformers
    upgrade that changes the attention graph would silently undo them."""
    import onnx  # noqa: PLC0415

    config = json.loads((packaged_model_dir() / "config.json").read_text())
    ops = [node.op_type for node in onnx.load(str(int8_embedder.model_path)).graph.node]
    assert ops.count("QAttention") == config["num_hidden_layers"]
    assert ops.count("QEmbedLayerNormalization") == 1
    assert ops.count("SkipLayerNormalization") == 2 * config["num_hidden_layers"]
    assert "Softmax" not in ops  # no attention left unfused


def _recall_at(memories: Any, queries: Any, k: int) -> float:
    """Share of queries whose own memory (same row) is among the k nearest of all memories."""
    top = np.argsort(-(np.asarray(queries) @ np.asarray(memories).T), axis=1)[:, :k]
    return float(np.mean([i in top[i] for i in range(len(queries))]))


@pytest.mark.parametrize("k", [1, 3])
def test_int8_ranks_the_recall_set_as_well_as_torch(
    int8_embedder: OnnxRuntimeEmbedder, torch_vectors: Any, k: int
) -> None:
    data = json.loads(RECALL_SET.read_text())
    items, distractors = data["items"], data["distractors"]
    n = len(items)
    start = len(TEXTS)  # torch_vectors holds TEXTS, memories, queries, distractors in order
    torch_memories = np.vstack([torch_vectors[start : start + n], torch_vectors[start + 2 * n :]])
    torch_queries = torch_vectors[start + n : start + 2 * n]
    int8_memories = int8_embedder.embed([i["memory"] for i in items] + distractors)
    int8_queries = int8_embedder.embed([i["query"] for i in items])
    torch_rate = _recall_at(torch_memories, torch_queries, k)
    int8_rate = _recall_at(int8_memories, int8_queries, k)
    # One query of the set may rank differently: int8 kernels differ between CPUs of one kind.
    slack = 1 / n
    assert int8_rate >= torch_rate - slack, (
        f"recall@{k}: int8 {int8_rate:.3f}, torch {torch_rate:.3f}"
    )


def test_mean_pooling_ignores_padding_and_normalises() -> None:
    hidden = np.array(
        [[[1.0, 0.0], [3.0, 4.0], [1000.0, -1000.0]], [[0.0, 2.0], [7.0, 7.0], [7.0, 7.0]]],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=np.int64)
    pooled = mean_pool_normalise(hidden, mask)
    np.testing.assert_allclose(pooled[0], np.array([2.0, 2.0]) / np.sqrt(8.0), rtol=1e-6)
    np.testing.assert_allclose(pooled[1], [0.0, 1.0], rtol=1e-6)


# -- the cache ----------------------------------------------------------------------------


def _fake_model_dir(root: Path, weights: bytes = b"weights") -> Path:
    model = root / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "model.safetensors").write_bytes(weights)
    (model / "config.json").write_text("{}")
    return model


def _fake_build_steps(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    def export(_model: Path, destination: Path) -> None:
        calls.append("export")
        destination.write_bytes(b"float")

    def quantize(_model: Path, _source: Path, destination: Path) -> None:
        calls.append("quantize")
        destination.write_bytes(b"int8")

    monkeypatch.setattr(onnx_export, "_export", export)
    monkeypatch.setattr(onnx_export, "_quantize", quantize)


def test_the_key_changes_with_the_weights_and_the_library_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fake_model_dir(tmp_path)
    key = onnx_export.cache_key(model)
    assert onnx_export.cache_key(model) == key
    (model / "model.safetensors").write_bytes(b"other weights")
    changed_weights = onnx_export.cache_key(model)
    assert changed_weights != key
    monkeypatch.setattr(onnx_export, "_version", lambda name: f"{name}-99")
    assert onnx_export.cache_key(model) != changed_weights


def test_a_cached_entry_is_reused_and_a_stale_one_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    _fake_build_steps(monkeypatch, calls)
    model, cache = _fake_model_dir(tmp_path), tmp_path / "cache"
    first = onnx_export.ensure_onnx_models(model, cache)
    assert calls == ["export", "quantize"]
    assert first.int8_model.read_bytes() == b"int8"
    assert onnx_export.ensure_onnx_models(model, cache) == first
    assert calls == ["export", "quantize"]  # nothing rebuilt
    (model / "model.safetensors").write_bytes(b"new weights")
    second = onnx_export.ensure_onnx_models(model, cache)
    assert second != first
    assert calls == ["export", "quantize"] * 2
    assert [p.name for p in cache.iterdir()] == [second.directory.name]  # old entry removed


def test_a_failed_build_leaves_nothing_a_reader_would_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_quantize(_model: Path, _source: Path, _destination: Path) -> None:
        raise RuntimeError("quantizer crashed")

    _fake_build_steps(monkeypatch, [])
    monkeypatch.setattr(onnx_export, "_quantize", broken_quantize)
    model, cache = _fake_model_dir(tmp_path), tmp_path / "cache"
    with pytest.raises(RuntimeError, match="quantizer crashed"):
        onnx_export.ensure_onnx_models(model, cache)
    assert list(cache.iterdir()) == []
    assert onnx_export.cached_files(cache, onnx_export.cache_key(model)) is None


def test_losing_a_build_race_uses_the_winners_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, cache = _fake_model_dir(tmp_path), tmp_path / "cache"
    key = onnx_export.cache_key(model)
    winner = cache / f"all-minilm-l6-v2-{key[:32]}"

    def export_while_another_finishes(_model: Path, destination: Path) -> None:
        destination.write_bytes(b"ours")
        winner.mkdir(parents=True)
        (winner / onnx_export.FLOAT_FILE).write_bytes(b"theirs")
        (winner / onnx_export.INT8_FILE).write_bytes(b"theirs")
        (winner / onnx_export.MANIFEST_FILE).write_text("{}")

    _fake_build_steps(monkeypatch, [])
    monkeypatch.setattr(onnx_export, "_export", export_while_another_finishes)
    files = onnx_export.ensure_onnx_models(model, cache)
    assert files.float_model.read_bytes() == b"theirs"
    assert [p.name for p in cache.iterdir()] == [winner.name]  # our temporary build is gone


def test_a_damaged_cached_model_is_rebuilt(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = onnx_export.cached_files(cache_dir, onnx_export.cache_key(packaged_model_dir()))
    assert good is not None
    cache = tmp_path / "cache"
    copied = cache / good.directory.name
    shutil.copytree(good.directory, copied)
    (copied / onnx_export.INT8_FILE).write_bytes(b"truncated")
    rebuilt: list[str] = []

    def build_by_copying(_model: Path, cache_dir: Path, key: str) -> onnx_export.OnnxModelFiles:
        rebuilt.append(key)  # the real build is covered above; a copy keeps this test fast
        shutil.copytree(good.directory, copied)
        return onnx_export.OnnxModelFiles(copied)

    monkeypatch.setattr(onnx_export, "build", build_by_copying)
    embedder = OnnxRuntimeEmbedder(cache, quantized=True)
    assert len(rebuilt) == 1
    assert len(embedder.embed(["still works"])[0]) == embedder.dimension
