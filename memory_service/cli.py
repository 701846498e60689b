"""``memory-service``: serve the API (more admin commands arrive with their issues)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


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
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API (settings from MEMORY_* env)")
    serve.add_argument("--host", default=None, help="overrides MEMORY_HOST")
    serve.add_argument("--port", type=int, default=None, help="overrides MEMORY_PORT")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
