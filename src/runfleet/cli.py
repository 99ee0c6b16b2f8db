"""``runfleet run | status | report | clusters | preflight``.

Exit codes: 0 all runs done, 1 some runs failed or were skipped, 2 bad input (one line on
stderr naming the file and field, no traceback, nothing written to the store), 3 preflight
failed on the workers (a table says which check on which worker).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import InputError, PreflightFailed


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: exit 2 with one line, like ours
        self.print_usage(sys.stderr)
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runfleet", description="Run fleets of chained runs and simulations on Dask.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a study (YAML) to the end; resumes from the store")
    r.add_argument("study", help="study YAML file")
    r.add_argument("--store", help="store URL or directory (overrides the study's 'store:')")
    r.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                   help="fsspec storage option (repeatable; dotted keys nest: client_kwargs.endpoint_url=...)")
    r.add_argument("--cluster", help="cluster profile name (default: embedded local cluster)")
    r.add_argument("--workers", type=int, help="worker processes for the local cluster (default: one per core)")
    r.add_argument("--dry-run", action="store_true", help="print what would run and why; run nothing")
    r.add_argument("--max-in-flight", type=int, help="tasks in the scheduler at once")
    r.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto")
    r.add_argument("--no-preflight", action="store_true",
                   help="skip the check of imports, store and env on the workers before the first run")

    s = sub.add_parser("status", help="table of a study's runs: done / failed / skipped / pending")
    s.add_argument("study_url", help="<store>/<study name>")
    s.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--json", action="store_true", help="print a JSON list for scripts")

    rep = sub.add_parser("report", help="write a self-contained HTML report (timeline, durations, failures, plots)")
    rep.add_argument("study_url", help="<store>/<study name>")
    rep.add_argument("--out", help="HTML file to write (default: <study name>-report.html)")
    rep.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE")

    from .cli_clusters import add_subcommands

    add_subcommands(sub)  # clusters, preflight
    return p


def cmd_run(args) -> int:
    from .engine import plan_study, run_study
    from .progress import Progress
    from .store import parse_storage_options
    from .studyfile import load_study

    study = load_study(args.study)
    options = parse_storage_options(args.storage_option)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers: expected a positive number, got {args.workers}")
    if args.dry_run:
        rows = plan_study(study, store=args.store, storage_options=options)
        width = max(len(r["name"]) for r in rows)
        n_run = sum(r["action"] == "run" for r in rows)
        for r in rows:
            print(f"{r['action']:<5} {r['name']:<{width}}  {r['reason']}")
        print(f"{n_run} of {len(rows)} runs would run; {len(rows) - n_run} are done")
        return 0
    progress = Progress(study.name, mode=args.progress)
    summary = run_study(study, cluster=args.cluster, store=args.store, storage_options=options,
                        workers=args.workers, progress=progress, max_in_flight=args.max_in_flight,
                        keep_outcomes=True, preflight=not args.no_preflight)
    c = summary.counts
    print(f"study {study.name}: {c['done']} done ({c.get('resumed', 0)} already in the store), "
          f"{c['failed']} failed, {c['skipped']} skipped -> {summary.study_url}")
    failed = [o for o in summary.outcomes.values() if o.status == "failed"]
    for o in failed[:10]:
        print(f"  failed: {o.name}: {o.error_class}: {(o.error or '').splitlines()[0] if o.error else ''}")
    if len(failed) > 10:
        print(f"  ... and {len(failed) - 10} more; see: runfleet status {summary.study_url}")
    return summary.exit_code


def cmd_status(args) -> int:
    from .store import parse_storage_options

    from .status import study_status

    rows = study_status(args.study_url, parse_storage_options(args.storage_option))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max([len(r["name"]) for r in rows] + [4])
    print(f"{'run':<{width}}  {'status':<8} {'attempts':>8} {'duration_s':>10}  error / reason")
    for r in rows:
        dur = "" if r["duration_s"] is None else f"{r['duration_s']:.3f}"
        why = r.get("error_class") or r.get("reason") or ""
        if r.get("error"):
            why = f"{why}: {r['error'].splitlines()[0][:80]}"
        print(f"{r['name']:<{width}}  {r['status']:<8} {r['attempts']:>8} {dur:>10}  {why}")
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0


def cmd_report(args) -> int:
    from .report import write_report
    from .store import parse_storage_options

    name = args.study_url.rstrip("/").rsplit("/", 1)[-1]
    out = write_report(args.study_url, args.out or f"{name}-report.html", parse_storage_options(args.storage_option))
    print(out)
    return 0


COMMANDS = {"run": cmd_run, "status": cmd_status, "report": cmd_report}


def main(argv: list[str] | None = None) -> int:
    if os.getcwd() not in sys.path:  # `fn: examples.hello:prep` imports from where the user is
        sys.path.insert(0, os.getcwd())
    try:
        args = build_parser().parse_args(argv)
        handler = COMMANDS.get(args.command) or args.func
        return int(handler(args) or 0)
    except InputError as e:
        print(f"runfleet: error: {e}", file=sys.stderr)
        return 2
    except PreflightFailed as e:
        print(f"runfleet: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("runfleet: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
