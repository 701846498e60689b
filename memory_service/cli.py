"""``memory-service``: serve the API, verify and export the audit trail, administer."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from memory_service.admin_cli import add_admin_parser, base_url


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - keep `--help` instant

    from memory_service.settings import Settings  # noqa: PLC0415

    settings = Settings()
    uvicorn.run(
        "memory_service.app:create_app_from_env",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        # Access logs carry query strings (scopes, subjects): ours are structured and scrubbed.
        access_log=False,
        server_header=False,
        # Named, not "auto": a broken install fails here instead of serving slower.
        loop="uvloop",
        http="httptools",
    )
    return 0


def _worker(_args: argparse.Namespace) -> int:
    """The scheduler alone, for scaled-out deployments (API replicas set
    MEMORY_SCHEDULER_ENABLED=false). Stops on SIGTERM or SIGINT."""
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from memory_service.app import build_runtime, configure_logging  # noqa: PLC0415
    from memory_service.settings import Settings  # noqa: PLC0415

    settings = Settings(scheduler_enabled=True)
    configure_logging(settings.log_level)
    if not (settings.database_url or "").startswith(("postgresql", "postgres")):
        # The embedded default keeps its vector store in-process: only the server may open it.
        sys.stderr.write(
            "worker needs the scale-out stores: set MEMORY_DATABASE_URL=postgresql://...\n"
        )
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runtime = build_runtime(settings)
    sys.stderr.write(f"worker started: {', '.join(runtime.scheduler.jobs)}\n")
    sys.stderr.flush()
    try:
        stop.wait()
    finally:
        runtime.close()
    return 0


def _audit_verify(_args: argparse.Namespace) -> int:
    """Straight from the control store (not through the server), with the audit key."""
    from memory_service.app import build_control_store  # noqa: PLC0415
    from memory_service.settings import Settings  # noqa: PLC0415

    control = build_control_store(Settings())
    try:
        result = control.audit_trail().verify()
    finally:
        control.close()
    report = {"ok": result.ok, "events": result.events, "first_bad_seq": result.first_bad_seq}
    print(json.dumps(report))  # noqa: T201 - the command's output
    return 0 if result.ok else 1


def _audit_export(args: argparse.Namespace) -> int:
    from memory_service.app import build_control_store  # noqa: PLC0415
    from memory_service.settings import Settings  # noqa: PLC0415

    control = build_control_store(Settings())
    try:
        for event in control.audit_trail().events(args.after_seq):
            sys.stdout.write(json.dumps(event.to_json(), separators=(",", ":")) + "\n")
    except BrokenPipeError:
        # `... | head` closed the pipe: not an error. Point stdout at /dev/null so that the
        # interpreter's final flush does not raise again (as the Python docs advise).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        control.close()
    return 0


def _mcp_stdio(args: argparse.Namespace) -> int:
    """MCP over stdin/stdout for desktop agents; every tool call goes to the running server."""
    from pathlib import Path  # noqa: PLC0415

    from memory_service.mcp.remote import serve_stdio  # noqa: PLC0415

    key = os.environ.get("MEMORY_API_KEY", "").strip()
    if not key and args.key_file:
        key = Path(args.key_file).read_text().strip()
    if not key:
        # Never take the key as an argument: argv is visible to every user in `ps`.
        sys.stderr.write("no key: set MEMORY_API_KEY or pass --key-file\n")
        return 2
    # stdout carries the protocol: nothing else may print there.
    serve_stdio(base_url(args), key, scope=args.scope, read_only=args.read_only)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API (settings from MEMORY_* env)")
    serve.add_argument("--host", default=None, help="overrides MEMORY_HOST")
    serve.add_argument("--port", type=int, default=None, help="overrides MEMORY_PORT")
    serve.set_defaults(func=_serve)

    worker = commands.add_parser(
        "worker", help="run the scheduled jobs only (scale-out: PostgreSQL + Qdrant server)"
    )
    worker.set_defaults(func=_worker)

    audit = commands.add_parser("audit", help="the audit trail, read from the control store")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="recompute the hash chain; exit 1 and name the first bad seq if broken"
    )
    verify.set_defaults(func=_audit_verify)
    export = audit_commands.add_parser("export", help="every event as JSON lines on stdout")
    export.add_argument("--after-seq", type=int, default=0, help="only events after this seq")
    export.set_defaults(func=_audit_export)

    mcp = commands.add_parser(
        "mcp", help="MCP memory tools over stdio (for desktop agents), backed by a running server"
    )
    mcp.add_argument("--url", help="the server (default MEMORY_URL or MEMORY_HOST:MEMORY_PORT)")
    mcp.add_argument("--key-file", help="file holding the agent's key (default MEMORY_API_KEY)")
    mcp.add_argument("--scope", help="scope for store_memory calls that name none")
    mcp.add_argument("--read-only", action="store_true", help="offer no writing tools")
    mcp.set_defaults(func=_mcp_stdio)

    add_admin_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
