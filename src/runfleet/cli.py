"""``runfleet run | status | report | cancel | clusters | preflight``.

Exit codes: 0 all runs done, 1 some runs failed or were skipped, 2 bad input (one line on
stderr naming the file and field, no traceback, nothing written to the store), 3 no cluster
could be obtained or preflight failed (one line naming the profile and cause, or a table saying
which check failed on which worker), 4 infrastructure lost mid-study (resumable; :mod:`runfleet.errors`). Kind slurm-array: 3 also
when ``sbatch`` is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys

from .cliargs import Parser as _Parser
from .cliargs import add_cluster_argument, add_storage_option_argument, cli_main, cluster_from, storage_options_from
from .errors import InfrastructureLost, InputError


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runfleet", description="Run fleets of chained runs and simulations on Dask.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a study (YAML) to the end; resumes from the store")
    r.add_argument("study", help="study YAML file")
    r.add_argument("--store", help="store URL or directory (overrides the study's 'store:')")
    add_storage_option_argument(r)
    add_cluster_argument(r)
    r.add_argument("--workers", type=int, help="worker processes for the local cluster (default: one per core)")
    r.add_argument("--dry-run", action="store_true", help="print what would run and why; run nothing")
    r.add_argument("--max-in-flight", type=int, help="tasks in the scheduler at once")
    r.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto")
    r.add_argument("--no-preflight", action="store_true",
                   help="skip the check of imports, store and env on the workers before the first run")
    r.add_argument("--detach", action="store_true",
                   help="kind slurm-array: submit the arrays, print the job ids and exit 0; the jobs finish the study")

    s = sub.add_parser("status", help="counts and table of a study's runs; exit 1 if any failed or was skipped")
    s.add_argument("study_url", help="<store>/<study name>")
    add_storage_option_argument(s)
    s.add_argument("--json", action="store_true", help="print a JSON list for scripts")
    s.add_argument("--status", dest="only", metavar="STATUS[,STATUS]",
                   help="only runs with these statuses: done, failed, skipped, pending (comma-separated)")
    s.add_argument("--limit", type=int, metavar="N",
                   help="rows to print (default 50 in the table, all with --json; 0: all)")

    rep = sub.add_parser("report", help="write a self-contained HTML report (timeline, durations, failures, plots)")
    rep.add_argument("study_url", help="<store>/<study name>")
    rep.add_argument("--out", help="HTML file to write (default: <study name>-report.html)")
    add_storage_option_argument(rep)

    c = sub.add_parser("cancel", help="cancel the SLURM array jobs of a study (kind slurm-array)")
    c.add_argument("study_url", help="<store>/<study name>")
    add_storage_option_argument(c)

    from .cli_clusters import add_subcommands

    add_subcommands(sub)  # clusters, preflight
    return p


def cmd_run(args) -> int:
    from .engine import plan_study, run_study
    from .progress import Progress
    from .studyfile import load_study

    study = load_study(args.study)
    options = storage_options_from(args)
    cluster = cluster_from(args)
    _warn_walltime(cluster, study)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers: expected a positive number, got {args.workers}")
    if args.max_in_flight is not None and args.max_in_flight < 1:
        raise InputError(f"--max-in-flight: expected a positive number of tasks, got {args.max_in_flight}")
    arrays = cluster if getattr(cluster, "kind", None) == "slurm-array" else None
    if args.detach and arrays is None:
        raise InputError("--detach: needs --cluster NAME with a profile of kind slurm-array")
    if args.dry_run:
        rows = plan_study(study, store=args.store, storage_options=options)
        width = max(len(r["name"]) for r in rows)
        n_run = sum(r["action"] == "run" for r in rows)
        for r in rows:
            print(f"{r['action']:<5} {r['name']:<{width}}  {r['reason']}")
        n_skip = sum(r["action"] == "skip" for r in rows)
        print(f"{n_run} of {len(rows)} runs would run; {len(rows) - n_run - n_skip} are done"
              + (f"; {n_skip} declared skipped" if n_skip else ""))
        if arrays is not None:
            from .arrays import describe_waves

            print("\n".join(describe_waves(study, arrays, store=args.store, storage_options=options)))
        return 0
    if arrays is not None:
        from .arrays import cli_run

        return cli_run(study, arrays, store=args.store, storage_options=options, detach=args.detach,
                       progress_mode=args.progress)
    progress = Progress(study.name, mode=args.progress)
    try:
        summary = run_study(study, cluster=cluster, store=args.store, storage_options=options,
                            workers=args.workers, progress=progress, max_in_flight=args.max_in_flight,
                            keep_outcomes=True, preflight=not args.no_preflight)
    except InfrastructureLost as e:
        raise type(e)(f"{e}; resume with: {resume_command(args)}") from None
    c = summary.counts
    print(f"study {study.name}: {c['done']} done ({c.get('resumed', 0)} already in the store), "
          f"{c['failed']} failed, {c['skipped']} skipped -> {summary.study_url}")
    failed = [o for o in summary.outcomes.values() if o.status == "failed"]
    for o in failed[:10]:
        print(f"  failed: {o.name}: {o.error_class}: {(o.error or '').splitlines()[0] if o.error else ''}")
    if len(failed) > 10:
        print(f"  ... and {len(failed) - 10} more; see: runfleet status {summary.study_url}")
    return summary.exit_code


#: --storage-option keys whose values are credentials: elided from the resume command
_SECRET_KEY = re.compile(r"(key|secret|token|password|passwd|credential|sas|signature)", re.I)


def resume_command(args) -> str:
    """The command line that resumes this invocation (``runfleet run study.yaml ...`` as typed),
    with the values of credential storage options (``key=``, ``secret=``, ``token=``, ...) shown
    as ``***``: credentials never appear in messages."""
    argv = [str(a) for a in (getattr(args, "argv", None) or sys.argv[1:])]
    out = []
    for i, a in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev == "--storage-option" or a.startswith("--storage-option="):
            head, sep, value = a.partition("=") if prev == "--storage-option" else ("", "", a)
            if a.startswith("--storage-option="):
                flag, _, rest = a.partition("=")
                k, sep2, v = rest.partition("=")
                a = f"{flag}={k}={'***' if sep2 and _SECRET_KEY.search(k) else v}" if sep2 else a
            elif sep and _SECRET_KEY.search(head):
                a = f"{head}=***"
        out.append(a)
    return shlex.join(["runfleet", *out])


def _warn_walltime(cluster, study) -> None:
    """Warn when a batch profile's walltime is shorter than the study's longest run timeout."""
    from .config import walltime_warning

    timeouts = [getattr(r, "timeout_s", None) for r in getattr(study, "runs", {}).values()]
    timeouts.append(getattr(getattr(study, "policy", None), "timeout_s", None))
    longest = max((t for t in timeouts if t), default=None)
    msg = walltime_warning(cluster, longest)
    if msg:
        print(f"runfleet: warning: {msg}", file=sys.stderr)


def cmd_cancel(args) -> int:
    from .arrays import cancel_study
    sub, ids = cancel_study(args.study_url, storage_options_from(args))
    print(f"cancelled submission {sub}: {len(ids)} SLURM job(s) {' '.join(ids)}")
    return 0


def cmd_status(args) -> int:
    from .status import DEFAULT_LIMIT, STATES, format_status, select_rows, status_exit_code, study_status

    only = [x.strip() for x in args.only.split(",") if x.strip()] if args.only else None
    bad = [x for x in only or () if x not in STATES]
    if bad or (only is not None and not only):
        raise InputError(f"--status: expected one or more of {', '.join(STATES)}, got {args.only!r}")
    if args.limit is not None and args.limit < 0:
        raise InputError(f"--limit: expected a non-negative number of rows, got {args.limit}")
    rows = study_status(args.study_url, storage_options_from(args))
    if args.json:
        print(json.dumps(select_rows(rows, only, args.limit)[0], indent=1))
        return status_exit_code(rows)
    print(format_status(args.study_url, rows, only, DEFAULT_LIMIT if args.limit is None else args.limit))
    from .arrays import batch_line  # the batch system's view when the study runs as job arrays

    line = batch_line(args.study_url, storage_options_from(args))
    if line:
        print(line)
    return status_exit_code(rows)


def cmd_report(args) -> int:
    from .report import write_report

    name = args.study_url.rstrip("/").rsplit("/", 1)[-1]
    out = write_report(args.study_url, args.out or f"{name}-report.html", storage_options_from(args))
    print(out)
    return 0


COMMANDS = {"run": cmd_run, "status": cmd_status, "report": cmd_report, "cancel": cmd_cancel}


def main(argv: list[str] | None = None) -> int:
    if os.getcwd() not in sys.path:  # `fn: examples.hello:prep` imports from where the user is
        sys.path.insert(0, os.getcwd())

    def run() -> int:
        args = build_parser().parse_args(argv)
        args.argv = list(argv) if argv is not None else sys.argv[1:]
        handler = COMMANDS.get(args.command) or args.func
        return int(handler(args) or 0)

    return cli_main("runfleet", run)


if __name__ == "__main__":
    sys.exit(main())
