from __future__ import annotations

import os

# Tests must prove the service works with no network: the model loads from its package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
