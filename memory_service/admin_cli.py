"""``memory-service admin``: the on-call admin's commands, over the running server's API.

Going through the HTTP API (rather than opening the stores) means the same permissions, the
same audit trail and the same code path as any other client, and it works against the embedded
default and a scaled-out cluster alike.

Exit codes: 0 done, 1 the server refused or failed (its problem is printed), 2 bad usage,
3 the server could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3
_TIMEOUT_SECONDS = 120


class ApiError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}")
        self.status = status
        self.problem = problem


class Unreachable(Exception):
    pass


class AdminClient:
    def __init__(self, base_url: str, key: str) -> None:
        self._base = base_url.rstrip("/")
        self._key = key

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = self._base + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) only, checked in base_url
        request.add_header("Authorization", f"Bearer {self._key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                problem = json.loads(raw) if raw else {}
            except ValueError:
                problem = {"title": exc.reason}
            raise ApiError(exc.code, problem) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(str(getattr(exc, "reason", exc))) from None


def base_url(args: argparse.Namespace) -> str:
    url = args.url or os.environ.get("MEMORY_URL")
    if not url:
        host = os.environ.get("MEMORY_HOST", "127.0.0.1")
        url = f"http://{host}:{os.environ.get('MEMORY_PORT', '8080')}"
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise SystemExit("--url must be http(s)://host:port")
    return url


def _key(args: argparse.Namespace) -> str:
    if key := os.environ.get("MEMORY_ADMIN_KEY"):
        return key
    path = (
        Path(args.key_file)
        if args.key_file
        else (Path(os.environ.get("MEMORY_DATA_DIR", "./data")) / "admin.key")
    )
    try:
        return path.read_text().strip()
    except OSError:
        raise SystemExit(
            f"no key: set MEMORY_ADMIN_KEY or pass --key-file ({path} unreadable)"
        ) from None


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _findings(item: dict[str, Any]) -> str:
    return ",".join(sorted({f"{f['kind']}:{f['type']}" for f in item["findings"]})) or "-"


# -- commands -------------------------------------------------------------------------------


def _quarantine_list(client: AdminClient, args: argparse.Namespace) -> int:
    _, page = client.call(
        "GET",
        "/v1/quarantine",
        query={"scope": args.scope, "status": args.status, "limit": args.limit},
    )
    rows = page["items"]
    if args.json:
        _print(page)
        return EXIT_OK
    if not rows:
        sys.stdout.write("no items\n")
        return EXIT_OK
    sys.stdout.write(
        f"{'ID':36}  {'STATUS':8}  {'CREATED':20}  {'BY':16}  {'SCOPE':24}  FINDINGS\n"
    )
    for item in rows:
        sys.stdout.write(
            f"{item['id']:36}  {item['status']:8}  {item['created_at'][:19]:20}  "
            f"{item['created_by'][:16]:16}  {item['scope'][:24]:24}  {_findings(item)}\n"
        )
    if page.get("next_cursor"):
        sys.stdout.write("(more: raise --limit)\n")
    return EXIT_OK


def _quarantine_show(client: AdminClient, args: argparse.Namespace) -> int:
    _print(client.call("GET", f"/v1/quarantine/{args.id}")[1])
    return EXIT_OK


def _quarantine_reveal(client: AdminClient, args: argparse.Namespace) -> int:
    _, body = client.call("POST", f"/v1/quarantine/{args.id}/reveal", {"reason": args.reason})
    sys.stdout.write(body["content"] + "\n")
    return EXIT_OK


def _quarantine_release(client: AdminClient, args: argparse.Namespace) -> int:
    status, body = client.call(
        "POST", f"/v1/quarantine/{args.id}/release", {"mode": args.mode, "reason": args.reason}
    )
    if status == 202:  # noqa: PLR2004 - accepted, waiting for the second reviewer
        sys.stdout.write(
            f"approved ({body['approvals']} of 2): a second reviewer must release it\n"
        )
        return EXIT_OK
    sys.stdout.write(f"released as memory {body['memory']['id']} ({args.mode})\n")
    return EXIT_OK


def _quarantine_reject(client: AdminClient, args: argparse.Namespace) -> int:
    client.call("POST", f"/v1/quarantine/{args.id}/reject", {"reason": args.reason})
    sys.stdout.write(f"rejected {args.id}; its sealed content is destroyed\n")
    return EXIT_OK


def _purge(client: AdminClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"dry_run": args.dry_run}
    for name in ("scope", "subject", "created_before"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.tag:
        body["tags_any"] = args.tag
    _, result = client.call("POST", "/v1/purge", body)
    verb = "would purge" if args.dry_run else "purged"
    counts = result["counts"]
    sys.stdout.write(
        f"{verb}: {counts['memories']} memories ({counts['versions']} versions), "
        f"{counts['quarantine']} quarantine items; receipt {result['receipt_id']}\n"
    )
    return EXIT_OK


def _erase(client: AdminClient, args: argparse.Namespace) -> int:
    if not args.yes:
        sys.stderr.write("erasure cannot be undone; add --yes to proceed\n")
        return 2
    subject = urllib.parse.quote(args.subject, safe="")
    _, result = client.call("DELETE", f"/v1/subjects/{subject}")
    counts = result["purged"]
    sys.stdout.write(
        f"erased: {counts['memories']} memories ({counts['versions']} versions), "
        f"{counts['quarantine']} quarantine items; receipt {result['receipt_id']}\n"
    )
    return EXIT_OK


def _receipt(client: AdminClient, args: argparse.Namespace) -> int:
    _print(client.call("GET", f"/v1/receipts/{args.id}")[1])
    return EXIT_OK


def add_admin_parser(commands: Any) -> None:
    admin = commands.add_parser("admin", help="quarantine review, purge and erasure (via the API)")
    admin.add_argument("--url", help="the server (default MEMORY_URL or MEMORY_HOST:MEMORY_PORT)")
    admin.add_argument(
        "--key-file", help="admin key file (default MEMORY_ADMIN_KEY or <data dir>/admin.key)"
    )
    sub = admin.add_subparsers(dest="admin_command", required=True)

    quarantine = sub.add_parser("quarantine", help="review held writes")
    q = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = q.add_parser("list", help="held writes, findings masked")
    listing.add_argument("--scope")
    listing.add_argument("--status", choices=["pending", "released", "rejected"], default="pending")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="print the raw page")
    listing.set_defaults(run=_quarantine_list)
    show = q.add_parser("show", help="one item, findings masked")
    show.add_argument("id")
    show.set_defaults(run=_quarantine_show)
    reveal = q.add_parser("reveal", help="the raw text (needs quarantine:reveal; audited)")
    reveal.add_argument("id")
    reveal.add_argument("--reason", required=True)
    reveal.set_defaults(run=_quarantine_reveal)
    release = q.add_parser("release", help="store it as a memory")
    release.add_argument("id")
    release.add_argument("--mode", choices=["redacted", "as_is"], required=True)
    release.add_argument("--reason", required=True)
    release.set_defaults(run=_quarantine_release)
    reject = q.add_parser("reject", help="refuse it and destroy its sealed text")
    reject.add_argument("id")
    reject.add_argument("--reason", required=True)
    reject.set_defaults(run=_quarantine_reject)

    purge = sub.add_parser("purge", help="hard-delete by selector")
    purge.add_argument("--scope")
    purge.add_argument("--subject")
    purge.add_argument("--tag", action="append", help="repeat for several (any matches)")
    purge.add_argument("--created-before", dest="created_before", help="RFC 3339 time")
    purge.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    purge.set_defaults(run=_purge)

    erase = sub.add_parser("erase", help="erase every trace of a data subject")
    erase.add_argument("subject")
    erase.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    erase.set_defaults(run=_erase)

    receipt = sub.add_parser("receipt", help="a purge or erasure receipt")
    receipt.add_argument("id")
    receipt.set_defaults(run=_receipt)

    admin.set_defaults(func=run_admin)


def run_admin(args: argparse.Namespace) -> int:
    client = AdminClient(base_url(args), _key(args))
    try:
        code: int = args.run(client, args)
    except ApiError as exc:
        title = exc.problem.get("title", "error")
        detail = exc.problem.get("detail", "")
        sys.stderr.write(f"error {exc.status}: {title}{': ' + detail if detail else ''}\n")
        return EXIT_REFUSED
    except Unreachable as exc:
        sys.stderr.write(f"cannot reach the server: {exc}\n")
        return EXIT_UNREACHABLE
    return code
