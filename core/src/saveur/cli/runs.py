"""``saveur runs list|show``: tables for people, ``--json`` for scripts."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``runs`` command group."""
    runs = sub.add_parser("runs", help="list and inspect tracked runs")
    rsub = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND")
    runs.set_defaults(handler=lambda args: runs.print_help() or 2)

    ls = rsub.add_parser("list", help="list runs, newest first")
    ls.add_argument("--filter", default=None, help="MLflow filter, e.g. \"metrics.acc > 0.9\"")
    ls.add_argument("--max-results", type=int, default=100)
    ls.add_argument("--deleted", action="store_true", help="list deleted runs instead")
    add_common(ls)
    ls.set_defaults(handler=_list)

    show = rsub.add_parser("show", help="a run's params, metrics, tags and artifacts")
    show.add_argument("run_id", metavar="RUN_ID")
    add_common(show)
    show.set_defaults(handler=_show)


def add_common(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``--store`` for every store command."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--store", default=None, metavar="URI",
                        help="store URI (default: $SAVEUR_STORE_URI or ./saveur-store)")


def use_store(args: argparse.Namespace) -> None:
    """Apply ``--store`` if given."""
    if args.store:
        from saveur.store import set_store_uri

        set_store_uri(args.store)


def format_time(ms: int | None) -> str:
    """Milliseconds since the epoch as local ``YYYY-MM-DD HH:MM:SS`` ('' for None)."""
    if ms is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as an aligned text table with a header."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _list(args: argparse.Namespace) -> int:
    from saveur.store import search_runs

    use_store(args)
    runs = search_runs(args.filter, max_results=args.max_results,
                       run_view_type="deleted" if args.deleted else "active")
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2))
        return 0
    print_table([{"run_id": r.info.run_id, "name": r.info.run_name, "status": r.info.status,
                  "start": format_time(r.info.start_time)} for r in runs],
                ["run_id", "name", "status", "start"])
    return 0


def _show(args: argparse.Namespace) -> int:
    from saveur.store import get_run, list_artifacts

    use_store(args)
    run = get_run(args.run_id)
    artifacts = [f.path + ("/" if f.is_dir else "") for f in list_artifacts(args.run_id)]
    if args.json:
        print(json.dumps({**run.to_dict(), "artifacts": artifacts}, indent=2))
        return 0
    info = run.info
    print(f"run {info.run_id}  {info.run_name}")
    print(f"  status:    {info.status} ({info.lifecycle_stage})")
    print(f"  started:   {format_time(info.start_time)}")
    print(f"  ended:     {format_time(info.end_time)}")
    if info.parent_run_id:
        print(f"  parent:    {info.parent_run_id}")
    print(f"  artifacts: {info.artifact_uri}")
    for title, values in (("params", run.data.params), ("metrics", run.data.metrics),
                          ("tags", run.data.tags)):
        if values:
            print(f"{title}:")
            for key in sorted(values):
                print(f"  {key} = {values[key]}")
    if artifacts:
        print("artifacts:")
        for path in artifacts:
            print(f"  {path}")
    return 0
