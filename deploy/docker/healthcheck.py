"""Container HEALTHCHECK: the API answers /healthz on its own port (the slim image has no curl)."""
# ruff: noqa: INP001 - a script copied into the image, not part of a package

import os
import sys
import urllib.request
from http import HTTPStatus

port = os.environ.get("MEMORY_PORT", "8080")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
        sys.exit(0 if response.status == HTTPStatus.OK else 1)
except OSError:
    sys.exit(1)
