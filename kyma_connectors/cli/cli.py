"""Command line of ``connectorctl``: argument parsing, the backfill report, exit codes.

Exit codes: 0 done (or nothing to do), 1 some redeliveries were refused, 2 bad usage or unreadable stack/API.
Output names hooks, GUIDs and events -- never tokens or secrets.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TextIO

from kyma_connectors.cli.errors import ConnectorctlError
from kyma_connectors.cli.stack import Registration, export_stack, load_export, registrations
from kyma_connectors.hooks import backfill
from kyma_connectors.hooks.errors import WebhookError
from kyma_connectors.hooks.github import GitHubHooks

DURATION: Final[re.Pattern[str]] = re.compile(r"^(\d+)([smhd])$")
UNITS: Final[dict[str, str]] = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``90m``, ``2h``, ``3d`` (ago) or an ISO 8601 timestamp (``2026-11-27T22:00:00Z``)."""
    now = now or datetime.now(UTC)
    found = DURATION.match(text.strip())
    if found:
        return now - timedelta(**{UNITS[found.group(2)]: int(found.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConnectorctlError(f"--since {text!r}: give a duration like 2h / 90m / 3d or an ISO timestamp") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kyma_connectors.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fill = commands.add_parser("backfill", help="redeliver webhook deliveries that failed since a time")
    fill.add_argument("--stack", required=True, help="Pulumi stack name (e.g. dev)")
    fill.add_argument("--connector", required=True, help="connector name as in the stack config")
    fill.add_argument("--since", required=True, help="2h, 90m, 3d or an ISO timestamp")
    fill.add_argument("--apply", action="store_true", help="redeliver (default: dry run, only show what would be)")
    fill.add_argument("--target", help="only this webhook target (owner/repo or org:NAME)")
    fill.add_argument("--cwd", type=Path, default=Path.cwd(), help="Pulumi project directory (default: here)")
    fill.add_argument("--state", type=Path, help="read this `pulumi stack export --show-secrets` file instead")
    fill.add_argument("--pulumi", help="Pulumi CLI to run (default: $PULUMI or pulumi)")
    return parser


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    try:
        since = parse_since(args.since)
        if since < datetime.now(UTC) - backfill.RETENTION:
            print(
                f"note: GitHub keeps deliveries for {backfill.RETENTION.days} days; older ones cannot be redelivered",
                file=out,
            )
        if args.state:
            document = load_export(args.state.read_text(encoding="utf-8"), source=str(args.state))
        else:
            document = export_stack(args.stack, cwd=args.cwd, pulumi=args.pulumi)
        hooks = [r for r in registrations(document, args.connector) if not args.target or r.spec.target == args.target]
        if not hooks:
            raise ConnectorctlError(f"connector {args.connector!r} has no webhook for target {args.target!r}")
        return max(run_one(hook, since, apply=args.apply, out=out) for hook in hooks)
    except (ConnectorctlError, WebhookError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run_one(hook: Registration, since: datetime, *, apply: bool, out: TextIO) -> int:
    """Plan (and with ``apply`` run) the backfill of one webhook; print what happens."""
    label = f"{hook.name} ({hook.spec.solution} {hook.spec.target or 'brand'}, hook {hook.hook_id})"
    if hook.spec.solution != "github":
        print(f"{label}: skipped -- {hook.spec.solution} keeps no delivery log to redeliver from", file=out)
        return 0
    client = GitHubHooks.for_spec(hook.spec)
    todo = backfill.plan(client, hook.hook_id, since)
    print(
        f"{label}: {todo.scanned} deliveries since {since:%Y-%m-%dT%H:%M:%SZ}, {len(todo.missed)} never delivered, "
        f"{todo.recovered} recovered on a later attempt",
        file=out,
    )
    for missed in todo.missed:
        event = f"{missed.event}.{missed.action}" if missed.action else missed.event
        print(f"  {missed.delivered_at}  {missed.guid}  {event:<28} HTTP {missed.status_code}", file=out)
    if not apply:
        if todo.missed:
            print(f"  dry run: would redeliver {len(todo.missed)}; add --apply to do it", file=out)
        return 0
    outcome = backfill.apply(client, todo)
    print(f"  redelivered {len(outcome.redelivered)}, refused {len(outcome.failed)}", file=out)
    for missed, reason in outcome.failed:
        print(f"  refused {missed.guid}: {reason}", file=out)
    return 1 if outcome.failed else 0
