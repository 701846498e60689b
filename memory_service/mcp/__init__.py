"""Memory tools for MCP clients (Model Context Protocol), over streamable HTTP or stdio.

:mod:`.tools` defines the tools once, against a :class:`~.tools.MemoryTools` backend. The
HTTP endpoint (``/mcp``) backs them with the in-process services and the caller's key; the
stdio server (``memory-service mcp``, for desktop agents) backs them with the typed client
against a running service, so scoping, classification and audit are always the server's.
"""
