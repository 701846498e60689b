"""Claude's memory tool (the ``anthropic`` SDK's abstract class) on a started server: the
commands Claude sends become scoped, classified memories, driven through the SDK's own
``call()`` dispatch exactly as its tool runner would."""

from __future__ import annotations

import pytest
from anthropic.lib.tools import ToolError

from memory_service.client import MemoryClient
from memory_service.client.anthropic_memory import PATH_KEY, TAG, ScopedMemoryTool
from tests.e2e.conftest import RW, Server, create_key

pytestmark = pytest.mark.e2e

AWS = "AKIA" + "ZX3Q7PLM2RT4VB6N"  # split: not a secret in our repo
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYZQ3WXK9PLM"


def test_memory_files_become_scoped_memories(module_server: Server) -> None:
    key = create_key(module_server, "claude-agent", ("acme/claude/**", RW))
    with MemoryClient(module_server.base_url, key) as client:
        tool = ScopedMemoryTool(client, scope="acme/claude")
        assert tool.to_dict() == {"type": "memory_20250818", "name": "memory"}

        created = tool.call(
            {
                "command": "create",
                "path": "/memories/project/notes.md",
                "file_text": "# Notes\nThe release is on Friday\n",
            }
        )
        assert created == "File created successfully at: /memories/project/notes.md."
        viewed = tool.call({"command": "view", "path": "/memories/project/notes.md"})
        assert "     2\tThe release is on Friday" in str(viewed)

        tool.call(
            {
                "command": "str_replace",
                "path": "/memories/project/notes.md",
                "old_str": "Friday",
                "new_str": "Monday",
            }
        )
        tool.call(
            {
                "command": "insert",
                "path": "/memories/project/notes.md",
                "insert_line": 1,
                "insert_text": "Owner: the platform team",
            }
        )
        ranged = tool.call(
            {"command": "view", "path": "/memories/project/notes.md", "view_range": [2, 3]}
        )
        assert "     2\tOwner: the platform team\n     3\tThe release is on Monday" in str(ranged)

        tool.call(
            {
                "command": "rename",
                "old_path": "/memories/project",
                "new_path": "/memories/archive",
            }
        )
        listing = str(tool.call({"command": "view", "path": "/memories"}))
        assert "/memories/archive/notes.md" in listing
        assert "/memories/project/notes.md" not in listing

        # The file is a real memory: searchable, versioned, in the key's scope.
        [memory] = list(client.iter_memories(scope="acme/claude", tag=TAG))
        assert memory.metadata[PATH_KEY] == "/memories/archive/notes.md"
        assert memory.version == 4
        assert client.search("when is the release", limit=1)[0].memory.id == memory.id

        tool.call({"command": "delete", "path": "/memories/archive"})
        assert list(client.iter_memories(scope="acme/claude", tag=TAG)) == []


def test_secrets_are_held_and_paths_cannot_escape(module_server: Server) -> None:
    key = create_key(module_server, "claude-careful", ("acme/careful/**", RW))
    with MemoryClient(module_server.base_url, key) as client:
        tool = ScopedMemoryTool(client, scope="acme/careful")
        with pytest.raises(ToolError, match="held for human review"):
            tool.call(
                {
                    "command": "create",
                    "path": "/memories/creds.md",
                    "file_text": f"aws {AWS} {AWS_SECRET}",
                }
            )
        assert list(client.iter_memories(scope="acme/careful")) == []

        note = tool.call(
            {
                "command": "create",
                "path": "/memories/contacts.md",
                "file_text": "Escalations go to Maria Gonzalez, +1 415 555 0134",
            }
        )
        assert "replaced by placeholders" in str(note)
        content = str(tool.call({"command": "view", "path": "/memories/contacts.md"}))
        assert "555 0134" not in content

        for bad in ("/etc/passwd", "/memories/../etc/passwd", "/memoriesx/a"):
            with pytest.raises(ToolError):
                tool.call({"command": "create", "path": bad, "file_text": "x"})
        with pytest.raises(ToolError, match="already exists"):
            tool.call({"command": "create", "path": "/memories/contacts.md", "file_text": "again"})
        with pytest.raises(ToolError, match="does not exist"):
            tool.call({"command": "view", "path": "/memories/nothing.md"})


def test_another_scope_sees_none_of_the_files(module_server: Server) -> None:
    writer = create_key(module_server, "claude-a", ("acme/a/**", RW))
    reader = create_key(module_server, "claude-b", ("acme/b/**", RW))
    with (
        MemoryClient(module_server.base_url, writer) as a,
        MemoryClient(module_server.base_url, reader) as b,
    ):
        ScopedMemoryTool(a, scope="acme/a").call(
            {"command": "create", "path": "/memories/plan.md", "file_text": "Ship the beta"}
        )
        # Pointed at the other scope, the second key is refused: grants decide, not the tool.
        stranger = ScopedMemoryTool(b, scope="acme/a")
        for path in ("/memories", "/memories/plan.md"):
            with pytest.raises(ToolError, match="403 Forbidden"):
                stranger.call({"command": "view", "path": path})
        own = ScopedMemoryTool(b, scope="acme/b")
        assert "plan.md" not in str(own.call({"command": "view", "path": "/memories"}))
