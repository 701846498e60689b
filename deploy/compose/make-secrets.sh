#!/bin/sh
# Creates ./secrets/ with fresh random keys for compose.yaml; refuses to overwrite existing ones
# (a new audit key breaks the chain's verification, a new encryption key strands the
# quarantine, a new pseudonym key changes every pseudonym). Back these files up apart from the
# database backups: see deploy/README.md.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
if [ -n "$(ls -A secrets)" ]; then
    echo "secrets/ is not empty: not overwriting existing keys" >&2
    exit 1
fi
python3 - <<'PY'
import base64
import secrets
from pathlib import Path


def key(kid: str) -> str:
    """kid:base64url(32 random bytes), the format memory_service.crypto.parse_keyring reads."""
    return f"{kid}:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


out = Path("secrets")
password = secrets.token_urlsafe(32)
values = {
    "postgres_password": password,
    "MEMORY_DATABASE_URL": f"postgresql://memory:{password}@postgres:5432/memory",
    "MEMORY_QDRANT_API_KEY": secrets.token_urlsafe(32),
    # msk_<16 hex lookup>_<secret>, the shape KeyService.import_key accepts.
    "MEMORY_BOOTSTRAP_ADMIN_KEY": f"msk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}",
    "MEMORY_ENCRYPTION_KEY": key("k1"),
    "MEMORY_PSEUDONYM_KEY": key("k1"),
    "MEMORY_AUDIT_KEY": key("k1"),
}
for name, value in values.items():
    (out / name).write_text(value)
PY
# Compose bind-mounts each file as it is, and the containers run as uid 10001 (postgres and
# qdrant as their own users): the files must be readable to them; secrets/ itself stays 0700,
# so no other user on this host can reach them.
chmod 0644 secrets/*
echo "wrote $(ls secrets | wc -l) secrets to $(pwd)/secrets (admin key: secrets/MEMORY_BOOTSTRAP_ADMIN_KEY)"
