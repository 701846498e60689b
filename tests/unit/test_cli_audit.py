"""`memory-service audit verify|export` read the control store directly, with the audit key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update

from memory_service.app import build_control_store
from memory_service.cli import main
from memory_service.domain.audit import AuditEntry
from memory_service.settings import Settings
from memory_service.storage.sql.schema import audit_events


def test_verify_and_export_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEMORY_DATA_DIR", str(tmp_path / "data"))
    control = build_control_store(Settings())
    for n in range(4):
        control.record_audit([AuditEntry(action="memory.get", actor=f"agent-{n}", scope="acme")])
    capsys.readouterr()

    assert main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "events": 4, "first_bad_seq": None}

    assert main(["audit", "export", "--after-seq", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["seq"] for e in lines] == [2, 3, 4]
    assert lines[0]["actor"] == "agent-1"

    with control.engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.seq == 2).values(action="x"))
    control.close()
    assert main(["audit", "verify"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_seq"] == 2
