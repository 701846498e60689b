"""A typed Python client for this service's HTTP API, sync and async.

```python
from memory_service.client import MemoryClient

with MemoryClient("http://127.0.0.1:8080", api_key="msk_...") as memory:
    result = memory.remember("Ada prefers tea", scope="acme/support", tags=["prefs"])
    hits = memory.search("what does Ada drink?", limit=5)
```

It depends only on httpx and msgspec and imports nothing else of the service, so it can be
vendored or split into its own distribution.
"""

from memory_service.client import errors, models
from memory_service.client.aio import AsyncMemoryClient
from memory_service.client.calls import memory_body
from memory_service.client.sync import MemoryClient

__all__ = ["AsyncMemoryClient", "MemoryClient", "errors", "memory_body", "models"]
