"""First start without a preset admin key: one is generated, shown once, kept in admin.key."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerFactory

pytestmark = pytest.mark.e2e

KEY_PATTERN = re.compile(r"msk_[0-9a-f]{16}_[A-Za-z0-9]+")


def test_first_start_generates_admin_key(tmp_path: Path, servers: ServerFactory) -> None:
    data_dir = tmp_path / "data"
    first = servers.start(data_dir, name="first", admin_key=None)
    printed = KEY_PATTERN.findall(first.stderr())
    assert len(printed) == 1, f"expected the key printed once on stderr:\n{first.logs()}"
    key = printed[0]
    assert key not in first.stdout_path.read_text(errors="replace")

    key_file = data_dir / "admin.key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o077 == 0, "the data dir is open to others"

    with first.client(key) as admin, first.client(None) as anonymous:
        keys = admin.get("/v1/keys")
        assert keys.status_code == 200, keys.text
        assert [k["name"] for k in keys.json()["items"]] == ["bootstrap-admin"]
        assert key not in keys.text
        assert key.split("_")[2] not in keys.text
        assert anonymous.get("/v1/keys").status_code == 401
    first.stop()

    # A second start, even with a preset key now, issues nothing new and keeps the old key.
    preset = "msk_2222222222222222_latepresetsecretvalue000000000"
    second = servers.start(data_dir, name="second", admin_key=preset)
    assert KEY_PATTERN.findall(second.stderr()) == [], second.logs()
    assert "Bootstrap admin key" not in second.stderr()
    assert key_file.read_text().strip() == key
    with second.client(key) as admin, second.client(preset) as late:
        assert admin.get("/v1/keys").status_code == 200
        assert [k["name"] for k in admin.get("/v1/keys").json()["items"]] == ["bootstrap-admin"]
        # The bootstrap variable only seeds an empty store: setting it later grants nothing.
        assert late.get("/v1/keys").status_code == 401
