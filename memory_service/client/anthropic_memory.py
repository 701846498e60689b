"""Claude's memory tool (``memory_20250818``) on this service: files become scoped memories.

```python
from anthropic import Anthropic
from memory_service.client import MemoryClient
from memory_service.client.anthropic_memory import ScopedMemoryTool

memory = MemoryClient("http://127.0.0.1:8080", api_key="msk_...")
tool = ScopedMemoryTool(memory, scope="acme/assistant")
Anthropic().beta.messages.run_tools(model=..., messages=..., tools=[tool]).until_done()
```

Each file under ``/memories`` is one memory in ``scope``, tagged :data:`TAG`, its path in
``metadata["memory_path"]``. Every write goes through the service, so it is classified like
any other: a file holding a credential is held for review (Claude is told nothing was saved)
and personal data may come back as placeholders. Reads see only what the key may read.
Directories are implied by paths, as in object stores. Needs the ``anthropic`` package.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from anthropic.lib.tools import BetaAbstractMemoryTool, BetaFunctionToolResultType, ToolError
from anthropic.types.beta import (
    BetaMemoryTool20250818Command,
    BetaMemoryTool20250818CreateCommand,
    BetaMemoryTool20250818DeleteCommand,
    BetaMemoryTool20250818InsertCommand,
    BetaMemoryTool20250818RenameCommand,
    BetaMemoryTool20250818StrReplaceCommand,
    BetaMemoryTool20250818ViewCommand,
)

from memory_service.client import MemoryClient, errors
from memory_service.client import models as m
from memory_service.client.calls import MemoryFields

ROOT = "/memories"
TAG = "memory-tool"
PATH_KEY = "memory_path"
_WIDTH = 6


def _clean(path: str) -> str:
    """``path`` normalised; refuses anything outside ``/memories`` (``..`` included)."""
    if not path.startswith(ROOT):
        raise ToolError(f"Path must start with {ROOT}, got: {path}")
    normal = posixpath.normpath(path)
    if normal != ROOT and not normal.startswith(ROOT + "/"):
        raise ToolError(f"Path {path} would escape {ROOT} directory")
    return normal


def _numbered(lines: list[str], first: int) -> str:
    return "\n".join(f"{str(first + i).rjust(_WIDTH)}\t{line}" for i, line in enumerate(lines))


def _size(text: str) -> str:
    size = len(text.encode())
    return f"{size / 1024:.1f}K" if size >= 1024 else f"{size}B"  # noqa: PLR2004 - bytes in a K


class ScopedMemoryTool(BetaAbstractMemoryTool):
    """The Anthropic SDK's memory tool, stored as memories in one scope of this service."""

    def __init__(self, client: MemoryClient, scope: str, *, subject: str | None = None) -> None:
        super().__init__()
        self._client = client
        self._scope = scope
        self._subject = subject

    def execute(self, command: BetaMemoryTool20250818Command) -> BetaFunctionToolResultType:
        """The SDK's dispatch, with the service's refusals told to Claude as tool errors."""
        try:
            return super().execute(command)
        except errors.ApiError as exc:
            raise ToolError(str(exc)) from None

    # -- the files ----------------------------------------------------------------------------

    def _files(self) -> Iterator[m.Memory]:
        for memory in self._client.iter_memories(scope=self._scope, tag=TAG, limit=500):
            if isinstance(memory.metadata.get(PATH_KEY), str):
                yield memory

    def _file(self, path: str) -> m.Memory | None:
        return next((f for f in self._files() if f.metadata[PATH_KEY] == path), None)

    def _existing(self, path: str) -> m.Memory:
        found = self._file(path)
        if found is None:
            raise ToolError(f"The path {path} does not exist. Please provide a valid path.")
        return found

    def _under(self, directory: str) -> list[m.Memory]:
        prefix = directory.rstrip("/") + "/"
        return [f for f in self._files() if str(f.metadata[PATH_KEY]).startswith(prefix)]

    def _write(self, path: str, text: str, current: m.Memory | None) -> str:
        """Store ``text`` at ``path``; what the classifiers did, in words Claude can act on."""
        if not text:
            raise ToolError("Empty files are not stored; write some content.")
        try:
            if current is None:
                fields: MemoryFields = {"tags": [TAG], "metadata": {PATH_KEY: path}}
                if self._subject:
                    fields["subject"] = self._subject
                result = self._client.remember(text, self._scope, **fields)
            else:
                result = self._client.update(current.id, content=text, if_match=current.version)
        except errors.RejectedByPolicy:
            raise ToolError(
                f"Not saved: this memory's policy refuses the content of {path}."
            ) from None
        except errors.PreconditionFailed:
            raise ToolError(f"{path} changed meanwhile; view it again, then retry.") from None
        if isinstance(result, m.Quarantined):
            kinds = sorted({f.type for f in result.findings})
            raise ToolError(
                f"Not saved: the content of {path} holds sensitive data ({', '.join(kinds)}) and "
                "was held for human review. Rewrite it without credentials or secrets."
            )
        changed = [f.type for f in result.memory.classification.findings]
        if changed:
            return f" Sensitive data was replaced by placeholders: {', '.join(changed)}."
        return ""

    # -- the commands -------------------------------------------------------------------------

    def view(self, command: BetaMemoryTool20250818ViewCommand) -> str:
        path = _clean(command.path)
        found = self._file(path)
        if found is None:
            files = self._under(path)
            if not files and path != ROOT:
                raise ToolError(
                    f"The path {command.path} does not exist. Please provide a valid path."
                )
            listing = [f"{_size(f.content)}\t{f.metadata[PATH_KEY]}" for f in files]
            header = f"Here're the files and directories in {path}, excluding hidden items:"
            return "\n".join(
                [header, f"-\t{path}", *sorted(listing, key=lambda s: s.split("\t")[1])]
            )
        lines = found.content.split("\n")
        first = 1
        if command.view_range and len(command.view_range) == 2:  # noqa: PLR2004 - [start, end]
            start = max(1, command.view_range[0]) - 1
            end = len(lines) if command.view_range[1] == -1 else command.view_range[1]
            lines, first = lines[start:end], start + 1
        return f"Here's the content of {path} with line numbers:\n" + _numbered(lines, first)

    def create(self, command: BetaMemoryTool20250818CreateCommand) -> str:
        path = _clean(command.path)
        if path == ROOT:
            raise ToolError(f"{ROOT} is a directory")
        if self._file(path) is not None:
            raise ToolError(f"File {command.path} already exists")
        note = self._write(path, command.file_text, None)
        return f"File created successfully at: {path}.{note}"

    def str_replace(self, command: BetaMemoryTool20250818StrReplaceCommand) -> str:
        path = _clean(command.path)
        current = self._existing(path)
        count = current.content.count(command.old_str)
        if count != 1:
            problem = "did not appear verbatim" if count == 0 else f"appears {count} times"
            raise ToolError(f"No replacement was performed: old_str {problem} in {path}.")
        text = current.content.replace(command.old_str, command.new_str)
        note = self._write(path, text, current)
        return f"The memory file has been edited.{note}"

    def insert(self, command: BetaMemoryTool20250818InsertCommand) -> str:
        path = _clean(command.path)
        current = self._existing(path)
        lines = current.content.split("\n")
        if not 0 <= command.insert_line <= len(lines):
            raise ToolError(
                f"Invalid `insert_line` parameter: {command.insert_line}. "
                f"It should be within the range [0, {len(lines)}]."
            )
        lines.insert(command.insert_line, command.insert_text.rstrip("\n"))
        note = self._write(path, "\n".join(lines), current)
        return f"The file {path} has been edited.{note}"

    def delete(self, command: BetaMemoryTool20250818DeleteCommand) -> str:
        path = _clean(command.path)
        if path == ROOT:
            raise ToolError(f"Cannot delete the {ROOT} directory itself")
        found = self._file(path)
        targets = [found] if found is not None else self._under(path)
        if not targets:
            raise ToolError(f"The path {command.path} does not exist")
        for memory in targets:
            self._client.delete(memory.id)
        return f"Successfully deleted {path}"

    def rename(self, command: BetaMemoryTool20250818RenameCommand) -> str:
        old, new = _clean(command.old_path), _clean(command.new_path)
        if ROOT in {old, new}:
            raise ToolError(f"Cannot rename the {ROOT} directory itself")
        if self._file(new) is not None or self._under(new):
            raise ToolError(f"The destination {new} already exists")
        found = self._file(old)
        moves = (
            [(found, new)]
            if found is not None
            else [(f, new + str(f.metadata[PATH_KEY])[len(old) :]) for f in self._under(old)]
        )
        if not moves:
            raise ToolError(f"The path {command.old_path} does not exist")
        for memory, target in moves:
            metadata = {**memory.metadata, PATH_KEY: target}
            self._client.update(memory.id, metadata=metadata, if_match=memory.version)
        return f"Successfully renamed {old} to {new}"

    def clear_all_memory(self) -> str:
        for memory in list(self._files()):
            self._client.delete(memory.id)
        return "All memory cleared"
